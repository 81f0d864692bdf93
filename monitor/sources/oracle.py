"""Oracle Recruiting Cloud (Oracle Fusion HCM candidate experience):
{host}/hcmUI/CandidateExperience/{lang}/sites/{site}[/job/{id}].

Read through the site's own REST API (``/hcmRestApi/resources/latest``):
- a board: ``recruitingCEJobRequisitions`` with the finder ``findReqs;siteNumber=…,
  limit=…,offset=…``, a page at a time. Its one item carries ``TotalJobsCount``, the
  facets of the whole search and the page's ``requisitionList`` (``Id``, ``Title``,
  ``PrimaryLocation``, ``secondaryLocations``, ``PostedDate``, ``WorkplaceType``);
  no description, so a board watch also reads each member's details (``thin_list``).
  Where a requisition's own ``WorkplaceType`` is empty but the search's
  ``workplaceTypesFacet`` counts every requisition under one type, that type is each
  requisition's workplace;
- one job: ``recruitingCEJobRequisitionDetails`` with the finder ``ById;Id="…",
  siteNumber=…``: the description in ``ExternalDescriptionStr``,
  ``ExternalResponsibilitiesStr``, ``ExternalQualificationsStr`` and the employer's
  ``CorporateDescriptionStr`` / ``OrganizationDescriptionStr`` (where some employers
  state pay), ``WorkplaceType``, ``JobSchedule``, ``ExternalPostedStartDate``, and
  ``requisitionFlexFields`` (``{Prompt, Value}``): a prompt about pay ("Base
  Pay/Salary") gives the pay before any description text does.

The host is the tenant's (``{tenant}.fa.{region}.oraclecloud.com``) or the employer's
own: the ``/hcmUI/CandidateExperience/`` path is what names the system.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from monitor.errors import ParseError
from monitor.extract.salary import parse_salaries, period_from_magnitude
from monitor.model import Posting, RemoteKind, Salary
from monitor.sources.base import FetchedPage, FetchRequest
from monitor.sources.common import (
    AtsSource,
    Located,
    build_posting,
    html_of,
    more_pages,
    parse_date,
    remote_from_word,
    text,
)

PAGE_SIZE = 25  # what the candidate-experience site itself asks for per page
_API = "hcmRestApi/resources/latest"
_SITE = (
    r"^https?://(?P<host>[\w.-]+\.[a-z]{2,})(?::\d+)?/hcmUI/CandidateExperience/"
    r"(?P<lang>[\w-]+)/sites/(?P<site>[\w-]+)"
)
_PATTERNS = (
    re.compile(_SITE + r"/(?:job|requisitions/preview)/(?P<job>\d+)/?(?:[/?#].*)?$"),
    re.compile(_SITE + r"(?:/(?:requisitions|jobs))?/?(?:[?#].*)?$"),
)
_DESCRIPTION = (
    "ExternalDescriptionStr",
    "ExternalResponsibilitiesStr",
    "ExternalQualificationsStr",
    "CorporateDescriptionStr",
    "OrganizationDescriptionStr",
)
_PAY_PROMPT = re.compile(r"\b(?:pay|salary|salaries|compensation|wage|rate)\b", re.I)
# Prompts that name pay but not the job's own ("Employee Referral Pay", "Shift
# Differential Rate", "Sign-on Bonus Pay"): an amount there is no salary.
_NOT_PAY_PROMPT = re.compile(
    r"\b(?:referral|bonus|differential|incentive|sign[- ]?on|signing|allowance)", re.I
)


@dataclass(frozen=True, slots=True)
class _Site:
    host: str
    site: str
    lang: str
    job: str | None

    @property
    def board(self) -> str:
        return f"{self.host}/{self.site}"

    def api(self, resource: str, finder: str) -> str:
        return f"https://{self.host}/{_API}/{resource}?onlyData=true&{finder}"

    def job_url(self, job_id: str) -> str:
        return (
            f"https://{self.host}/hcmUI/CandidateExperience/{self.lang}/sites/{self.site}"
            f"/job/{job_id}"
        )


def _site(url: str) -> _Site | None:
    for pattern in _PATTERNS:
        match = pattern.match(url.strip())
        if match:
            found = match.groupdict()
            return _Site(found["host"].lower(), found["site"], found["lang"], found.get("job"))
    return None


def search_url(site: _Site, offset: int) -> str:
    finder = (
        f"findReqs;siteNumber={site.site},limit={PAGE_SIZE},offset={offset},"
        "sortBy=POSTING_DATES_DESC"
    )
    return site.api(
        "recruitingCEJobRequisitions", f"expand=requisitionList.secondaryLocations&finder={finder}"
    )


def details_url(site: _Site, job_id: str) -> str:
    # ById takes its id quoted (findReqs does not); the quotes are the finder's syntax.
    finder = f"ById;Id={quote(chr(34) + job_id + chr(34))},siteNumber={site.site}"
    return site.api("recruitingCEJobRequisitionDetails", f"expand=all&finder={finder}")


class OracleSource(AtsSource):
    """Oracle Recruiting Cloud candidate-experience site (every job, paged, or one job)."""

    thin_list: ClassVar[bool] = True
    kind: ClassVar[str] = "oracle"
    title: ClassVar[str] = "Oracle Recruiting Cloud candidate-experience API (board, paged, or job)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "{host}/hcmUI/CandidateExperience/{lang}/sites/{site}[/requisitions]",
        "{host}/hcmUI/CandidateExperience/{lang}/sites/{site}/job/{id}",
    )

    def locate(self, url: str) -> Located | None:
        site = _site(url)
        return None if site is None else Located(board=site.board, job=site.job, host=site.host)

    def _where(self, url: str) -> _Site:
        site = _site(url)
        if site is None:
            raise ParseError(f"not an {self.kind} URL", url=url)
        return site

    def fetch_url(self, url: str) -> str:
        site = self._where(url)
        return details_url(site, site.job) if site.job else search_url(site, 0)

    def first_request(self, url: str) -> FetchRequest:
        # A board's first page unchanged says nothing of its later pages: never a 304.
        board = self._where(url).job is None
        return FetchRequest(url=self.fetch_url(url), context={"offset": 0}, conditional=not board)

    def next_request(
        self, url: str, request: FetchRequest, page: FetchedPage
    ) -> FetchRequest | None:
        site = self._where(url)
        if site.job:
            return None
        search = _search(self.json(page), page.url)
        listed = search.get("requisitionList")
        if not isinstance(listed, list) or not listed:
            return None
        known = request.context.get("total")
        total = known if isinstance(known, int) else _count(search.get("TotalJobsCount"))
        offset = int(request.context.get("offset", 0)) + len(listed)
        if not more_pages(done=offset, total=total, listed=len(listed), page_size=PAGE_SIZE):
            return None
        return FetchRequest(
            url=search_url(site, offset), context={"offset": offset, "total": total}
        )

    def merge(self, url: str, pages: Sequence[FetchedPage]) -> FetchedPage:
        if len(pages) == 1:
            return pages[0]
        first = _search(self.json(pages[0]), pages[0].url)
        listed: list[Any] = []
        for page in pages:
            items = _search(self.json(page), page.url).get("requisitionList")
            listed.extend(items if isinstance(items, list) else [])
        body = json.dumps({"items": [{**first, "requisitionList": listed}]}).encode()
        return FetchedPage(url=pages[0].url, status=200, content_type="application/json", body=body)

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        site = self._where(url)
        data = self.json(page)
        if site.job:
            items = data.get("items") if isinstance(data, dict) else None
            found = [i for i in items or [] if isinstance(i, dict)]
            return self.only([_details(item, site) for item in found], url)
        search = _search(data, page.url)
        workplace = facet_workplace(search)
        listed = search.get("requisitionList")
        return [
            _listed(item, site, workplace)
            for item in (listed if isinstance(listed, list) else [])
            if isinstance(item, dict) and item.get("Id")
        ]


def _count(value: Any) -> int | None:
    """A total the API states (Oracle gives it on every page), None when absent."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _search(data: Any, url: str) -> dict[str, Any]:
    """The one search item of a ``recruitingCEJobRequisitions`` answer."""
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise ParseError("not an Oracle requisition search (no items)", url=url)
    return items[0]


def workplace_kind(item: Mapping[str, Any]) -> RemoteKind:
    """``WorkplaceType`` ("On-site", "Hybrid", "Remote") or its code (``ORA_ON_SITE``)."""
    kind = remote_from_word(item.get("WorkplaceType"))
    if kind is RemoteKind.UNKNOWN:
        code = text(item.get("WorkplaceTypeCode")).removeprefix("ORA_").replace("_", "-")
        kind = remote_from_word(code.lower())
    return kind


def facet_workplace(search: Mapping[str, Any]) -> RemoteKind:
    """The workplace every requisition of the search has: the ``workplaceTypesFacet``
    when one type counts them all (``TotalJobsCount``), else unknown."""
    facet = search.get("workplaceTypesFacet")
    total = search.get("TotalJobsCount")
    if not isinstance(facet, list) or len(facet) != 1 or not isinstance(facet[0], dict):
        return RemoteKind.UNKNOWN
    only = facet[0]
    if not isinstance(total, int) or total <= 0 or only.get("TotalCount") != total:
        return RemoteKind.UNKNOWN
    return workplace_kind({"WorkplaceType": only.get("Name"), "WorkplaceTypeCode": only.get("Id")})


def _places(item: Mapping[str, Any]) -> list[str]:
    places = [text(item.get("PrimaryLocation"))]
    for other in item.get("secondaryLocations") or []:
        if isinstance(other, dict):
            places.append(text(other.get("Name")) or text(other.get("LocationName")))
    return [p for p in places if p]


def _listed(item: dict[str, Any], site: _Site, workplace: RemoteKind) -> Posting:
    job_id = text(str(item.get("Id")))
    own = workplace_kind(item)
    return build_posting(
        kind=OracleSource.kind,
        source_id=f"{site.board}:{job_id}",
        url=site.job_url(job_id),
        title=text(item.get("Title")),
        department=text(item.get("JobFamily")),
        locations=_places(item),
        remote_hint=own if own is not RemoteKind.UNKNOWN else workplace,
        remote_field=(
            "WorkplaceType field" if own is not RemoteKind.UNKNOWN else "workplaceTypesFacet"
        ),
        posted_at=parse_date(item.get("PostedDate")),
    )


def flexfield_pay(item: Mapping[str, Any]) -> tuple[list[Salary], str]:
    """Pay from a requisition flexfield whose prompt is about pay ("Base Pay/Salary":
    "New York,NY $205,000.00-$300,000.00"); no period stated: by magnitude. The
    salaries and the field's prompt ("" when none states pay)."""
    for field in item.get("requisitionFlexFields") or []:
        if not isinstance(field, dict) or not _pay_prompt(text(field.get("Prompt"))):
            continue
        found = parse_salaries(text(field.get("Value")), is_pay=True)
        if found:
            return [_with_period(s) for s in found], text(field.get("Prompt"))
    return [], ""


def _pay_prompt(prompt: str) -> bool:
    return bool(_PAY_PROMPT.search(prompt)) and not _NOT_PAY_PROMPT.search(prompt)


def _with_period(salary: Salary) -> Salary:
    if salary.period is not None:
        return salary
    amount = salary.max or salary.min
    period = period_from_magnitude(amount) if amount is not None else None
    return Salary(min=salary.min, max=salary.max, currency=salary.currency, period=period)


def _details(item: dict[str, Any], site: _Site) -> Posting:
    job_id = text(str(item.get("Id")))
    pay, prompt = flexfield_pay(item)
    places = _places(item)
    return build_posting(
        kind=OracleSource.kind,
        source_id=f"{site.board}:{job_id}",
        url=site.job_url(job_id),
        title=text(item.get("Title")),
        company=text(item.get("LegalEmployer")),
        department=text(item.get("Category")) or text(item.get("JobFamily")),
        locations=places,
        description_html=[html_of(item.get(key)) for key in _DESCRIPTION],
        requirements_html=html_of(item.get("ExternalQualificationsStr")),
        salaries=pay,
        salary_field=f"requisitionFlexFields '{prompt}'",
        remote_hint=workplace_kind(item),
        remote_field="WorkplaceType field",
        employment_type=text(item.get("JobSchedule")) or None,
        posted_at=parse_date(item.get("ExternalPostedStartDate")),
    )
