"""ADP Workforce Now career centers: workforcenow.adp.com/mascsr/default/mdf/recruitment/
recruitment.html?cid={company}[&ccId=…][&jobId={id}], read through the career
center's public staffing API. No ADP response is captured in our corpus: the shapes
below are those public client code reads (see the README's sources table).

- a board: ``GET …/careercenter/public/events/staffing/v1/job-requisitions?cid=…&ccId=…
  &lang=en_US&$top=50&$skip={n}`` a page at a time (``{"jobRequisitions": [...],
  "meta": {"totalNumber": …}}``): each requisition's ``itemID``, ``requisitionTitle``,
  ``requisitionLocations`` (``nameCode.shortName``, or an ``address``), ``workLevelCode``
  ("Full Time"), ``postDate``. No description: a board watch reads each member's job
  too (``thin_list``).
- one job: ``GET …/job-requisitions/{itemID}?cid=…``: the same fields, the
  ``requisitionDescription`` HTML, ``companyName``, and the pay range
  ``payGradeRange {minimumRate, maximumRate: {amountValue, currencyCode}}``, shown only
  where ``compensationVisibleIndicator`` is not false; its period is the ``SalaryType``
  code field where there is one ("Hourly", "Salary"), else read from its size.
A job's id is its ``itemID``, the same in the list and in its own read; its URL is the
career center's page with ``jobId`` set to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from monitor.errors import ParseError
from monitor.extract.salary import period_from_magnitude, positive_decimal
from monitor.model import PayPeriod, Posting, Salary
from monitor.sources.base import FetchedPage, FetchRequest
from monitor.sources.common import (
    AtsSource,
    Located,
    build_posting,
    html_of,
    more_pages,
    parse_date,
    text,
)

_ORIGIN = "https://workforcenow.adp.com"
_PAGE = f"{_ORIGIN}/mascsr/default/mdf/recruitment/recruitment.html"
_API = f"{_ORIGIN}/mascsr/default/careercenter/public/events/staffing/v1/job-requisitions"
_HOST = re.compile(
    r"^https?://workforcenow\.adp\.com/mascsr/default/(?:mdf/recruitment/recruitment\.html"
    r"|careercenter/public/events/staffing/v1/job-requisitions(?:/(?P<item>[\w.-]+))?)[?]"
)
_CID = re.compile(r"^[0-9a-fA-F-]{8,}$")
DEFAULT_CAREER_CENTER = "19000101_000001"  # the external career center of every company
PAGE_SIZE = 50
_PERIODS = {"hourly": PayPeriod.HOUR, "hour": PayPeriod.HOUR, "daily": PayPeriod.DAY,
            "weekly": PayPeriod.WEEK, "monthly": PayPeriod.MONTH, "annual": PayPeriod.YEAR,
            "annually": PayPeriod.YEAR, "yearly": PayPeriod.YEAR, "salary": PayPeriod.YEAR,
            "salaried": PayPeriod.YEAR}  # fmt: skip


class AdpSource(AtsSource):
    """ADP Workforce Now career center (every job, a page at a time, or one job)."""

    thin_list: ClassVar[bool] = True
    kind: ClassVar[str] = "adp"
    title: ClassVar[str] = "ADP Workforce Now career center API (board, paged, or single job)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "workforcenow.adp.com/mascsr/default/mdf/recruitment/recruitment.html?cid={company}[&ccId=…]",
        "workforcenow.adp.com/…/recruitment.html?cid={company}&jobId={id}",
        "workforcenow.adp.com/mascsr/default/careercenter/public/events/staffing/v1/job-requisitions[/{id}]?cid={company}",
    )

    def locate(self, url: str) -> Located | None:
        found = _HOST.match(url.strip())
        if found is None:
            return None
        query = _query(url)
        cid = query.get("cid", "")
        if not _CID.match(cid):
            return None
        job = found["item"] or query.get("itemId") or query.get("jobId") or None
        return Located(board=cid, job=job, host=query.get("ccId") or DEFAULT_CAREER_CENTER)

    def fetch_url(self, url: str) -> str:
        located = self._located(url)
        if located.job:
            return f"{_API}/{located.job}?{_params(located)}"
        return _list_page(located, 0).url

    def first_request(self, url: str) -> FetchRequest:
        located = self._located(url)
        if located.job:
            return FetchRequest(url=self.fetch_url(url))
        return _list_page(located, 0)

    def next_request(
        self, url: str, request: FetchRequest, page: FetchedPage
    ) -> FetchRequest | None:
        skip = request.context.get("skip")
        if not isinstance(skip, int):
            return None
        data = self.json(page)
        listed = _listed(data)
        meta = data.get("meta") if isinstance(data, dict) else None
        total = meta.get("totalNumber") if isinstance(meta, dict) else None
        done = skip + len(listed)
        if not more_pages(done=done, total=total, listed=len(listed), page_size=PAGE_SIZE):
            return None
        return _list_page(self._located(url), done)

    def merge(self, url: str, pages: Sequence[FetchedPage]) -> FetchedPage:
        if len(pages) == 1:
            return pages[0]
        listed = [item for page in pages for item in _listed(self.json(page))]
        body = json.dumps({"jobRequisitions": listed}).encode()
        return FetchedPage(url=pages[0].url, status=200, content_type="application/json", body=body)

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        data = self.json(page)
        if not isinstance(data, dict):
            raise ParseError("not an ADP answer (expected a JSON object)", url=page.url)
        located = self._located(url)
        if "jobRequisitions" in data:
            return [
                _posting(item, located)
                for item in _listed(data)
                if isinstance(item, dict) and item.get("itemID")
            ]
        if not data.get("itemID") and located.job:
            data = {**data, "itemID": located.job}
        return self.only([_posting(data, located)], url)


def _query(url: str) -> dict[str, str]:
    # A careers page's link is often copied with its HTML entities ("&amp;ccId=").
    raw = urlsplit(url.strip().replace("&amp;", "&")).query
    return {key: values[0] for key, values in parse_qs(raw).items() if values}


def _params(located: Located, **more: str) -> str:
    query = {"cid": located.board, "ccId": located.host, "lang": "en_US", "locale": "en_US"}
    return urlencode({**query, **more}, safe="$")


def _list_page(located: Located, skip: int) -> FetchRequest:
    query = _params(located, **{"$top": str(PAGE_SIZE), "$skip": str(skip)})
    # Every page is read in full: an unchanged first page says nothing about the rest.
    return FetchRequest(url=f"{_API}?{query}", context={"skip": skip}, conditional=False)


def _listed(data: Any) -> list[Any]:
    found = data.get("jobRequisitions") if isinstance(data, dict) else None
    return found if isinstance(found, list) else []


def _posting(item: dict[str, Any], located: Located) -> Posting:
    item_id = text(str(item.get("itemID") or ""))
    level = item.get("workLevelCode")
    return build_posting(
        kind=AdpSource.kind,
        source_id=f"{located.board}:{item_id}",
        url=f"{_PAGE}?{urlencode({'cid': located.board, 'ccId': located.host, 'jobId': item_id, 'lang': 'en_US'})}",
        title=re.sub(r"\s*-\s*$", "", text(item.get("requisitionTitle"))),
        company=text(item.get("companyName")),
        locations=_places(item.get("requisitionLocations")),
        description_html=html_of(item.get("requisitionDescription")),
        salaries=_pay(item),
        salary_field="payGradeRange",
        employment_type=text(level.get("shortName")) if isinstance(level, dict) else None,
        posted_at=parse_date(item.get("postDate")),
    )


def _places(value: Any) -> list[str]:
    names: list[str] = []
    for location in value if isinstance(value, list) else []:
        if not isinstance(location, dict):
            continue
        named = location.get("nameCode") if isinstance(location.get("nameCode"), dict) else {}
        name = text((named or {}).get("shortName")) or _address(location.get("address"))
        if name and name not in names:
            names.append(name)
    return names


def _address(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    region = value.get("countrySubdivisionLevel1")
    parts = [
        text(value.get("cityName")),
        text(region.get("codeValue")) if isinstance(region, dict) else "",
        text(value.get("countryCode")),
    ]
    return ", ".join(p for p in parts if p)


def _pay(item: dict[str, Any]) -> list[Salary]:
    """``payGradeRange``, unless the company hides it (``compensationVisibleIndicator``
    false: the grade is the company's internal band, not stated pay)."""
    grade = item.get("payGradeRange")
    if item.get("compensationVisibleIndicator") is False or not isinstance(grade, dict):
        return []
    low_rate, high_rate = _rate(grade, "minimumRate"), _rate(grade, "maximumRate")
    low = positive_decimal(low_rate.get("amountValue"), normalized=True)
    high = positive_decimal(high_rate.get("amountValue"), normalized=True)
    amount = high or low
    if amount is None:
        return []
    currency = text(low_rate.get("currencyCode") or high_rate.get("currencyCode"))
    period = _salary_type(item) or period_from_magnitude(amount)
    return [Salary(min=low, max=high, currency=currency.upper() or None, period=period)]


def _rate(grade: dict[str, Any], key: str) -> dict[str, Any]:
    rate = grade.get(key)
    return rate if isinstance(rate, dict) else {}


def _salary_type(item: dict[str, Any]) -> PayPeriod | None:
    group = item.get("customFieldGroup")
    fields = group.get("codeFields") if isinstance(group, dict) else None
    for field in fields if isinstance(fields, list) else []:
        named = field.get("nameCode") if isinstance(field, dict) else None
        if isinstance(named, dict) and named.get("codeValue") == "SalaryType":
            word = text(field.get("shortName") or field.get("codeValue")).lower()
            return _PERIODS.get(word)
    return None
