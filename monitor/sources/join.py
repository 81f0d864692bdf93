"""JOIN (join.com): a company's board at join.com/companies/{company}, read through
JOIN's public API. No response of it is captured in our corpus: the shapes below are
those public client code reads (see the README's sources table).

- a board: the company page carries the numeric company id in its Next.js data
  (``__NEXT_DATA__`` ``props.pageProps.initialState.company {id, name, domain}``); then
  ``GET /api/public/companies/{id}/jobs?locale=en&page={n}&pageSize=5`` a page at a
  time (``{"items": [...], "pagination": {"pageCount", "rowCount"}}``; the API refuses
  pages of more than 5). Each item has ``id``, ``idParam`` ("{id}-{title slug}", its
  page's path), ``title``, ``workplaceType`` (ONSITE / HYBRID / REMOTE), ``city
  {cityName, countryName}``, ``employmentType {name}``, ``category {name}``,
  ``createdAt`` and, where the company states pay, ``salaryAmountFrom`` /
  ``salaryAmountTo`` (``{amount, currency}``, the amount in cents) with
  ``salaryFrequency`` (PER_YEAR, PER_MONTH, PER_HOUR, ...). The list has no
  description, so a board watch reads each member's job too (``thin_list``).
- one job: ``GET /api/public/jobs/{id}?locale=en``: the same fields and the advert in
  ``description`` (Markdown, or HTML; some jobs have ``intro``, ``tasks`` and
  ``requirements`` parts instead), and ``company {name, domain}``.
A job's id is its numeric ``id``, the same in the list, the job's own read and its URL.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

from monitor.errors import ParseError
from monitor.model import PayPeriod, Posting, Salary
from monitor.sources.base import FetchedPage, FetchRequest
from monitor.sources.common import (
    AtsSource,
    Located,
    build_posting,
    cents,
    html_of,
    parse_date,
    remote_from_word,
    text,
)

_SITE = "https://join.com"
JSON = "application/json"
PAGE_SIZE = 5  # the most the public jobs API answers per page
MAX_CLAIMS = 4096  # a widget token's claims: its settings and ids, under 1 KB
_COMPANY = r"^https?://(?:www\.)?join\.com/companies/(?P<board>[\w-]+)"
_WIDGET = re.compile(
    r"^https?://(?:www\.)?join\.com/api/widget/bundle/(?P<token>[\w-]+\.(?P<claims>[\w-]+)\.[\w-]+)"
)
# A job's page named in a widget's list: join.com/companies/{company}/{id}-{title}.
_JOB_PAGE = re.compile(r"\bjoin\.com/companies/(?P<board>[\w-]+)/(?P<param>(?P<job>\d+)[\w-]*)")
_NEXT_DATA = re.compile(r'<script[^>]*id="__NEXT_DATA__"[^>]*>(.*?)</script>', re.DOTALL)
_PERIODS = {"PER_HOUR": PayPeriod.HOUR, "PER_DAY": PayPeriod.DAY, "PER_WEEK": PayPeriod.WEEK,
            "PER_MONTH": PayPeriod.MONTH, "PER_YEAR": PayPeriod.YEAR}  # fmt: skip


class JoinSource(AtsSource):
    """JOIN company board (every job, a page at a time, or one job)."""

    thin_list: ClassVar[bool] = True
    kind: ClassVar[str] = "join"
    title: ClassVar[str] = "JOIN public jobs API (board, paged, or single job)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "join.com/companies/{company}",
        "join.com/companies/{company}/{id}-{title}",
        "join.com/api/widget/bundle/{token} (a JOIN widget on the company's site)",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(_COMPANY + r"/(?P<job>\d+)(?:-[^/?#]*)?/?(?:[?#].*)?$"),
        re.compile(_COMPANY + r"/?(?:[?#].*)?$"),
    )

    def locate(self, url: str) -> Located | None:
        widget = _WIDGET.match(url.strip())
        if widget is None:
            return super().locate(url)
        company = widget_company(widget["claims"])
        return Located(board=company, host="widget") if company else None

    def fetch_url(self, url: str) -> str:
        located = self._located(url)
        if located.job:
            return f"{_SITE}/api/public/jobs/{located.job}?locale=en"
        if located.host == "widget":
            return _widget_page(url, 1).url
        return f"{_SITE}/companies/{located.board}"  # the page naming the company's id

    def first_request(self, url: str) -> FetchRequest:
        if self._located(url).job:
            return FetchRequest(url=self.fetch_url(url))
        if self._located(url).host == "widget":
            return _widget_page(url, 1)
        # The company page changes little while its jobs do: read in full every time
        # (never a 304 that would hide the board).
        return FetchRequest(url=self.fetch_url(url), context={"company": True}, conditional=False)

    def next_request(
        self, url: str, request: FetchRequest, page: FetchedPage
    ) -> FetchRequest | None:
        if request.context.get("company"):
            company = company_of(page.text(), self._located(url).board)
            if company is None:
                raise ParseError(
                    "not a JOIN company page: no company id in its __NEXT_DATA__", url=page.url
                )
            return _jobs_page(company, 1)
        number = request.context.get("page")
        if not isinstance(number, int):
            return None
        data = self.json(page)
        pagination = data.get("pagination") if isinstance(data, dict) else None
        count = pagination.get("pageCount") if isinstance(pagination, dict) else None
        listed = _widget_listed(data) if request.context.get("widget") else _listed(data, "items")
        if not isinstance(count, int) or number >= count or not listed:
            return None
        if request.context.get("widget"):
            return _widget_page(url, number + 1)
        return _jobs_page(request.context["company_data"], number + 1)

    def merge(self, url: str, pages: Sequence[FetchedPage]) -> FetchedPage:
        if self._located(url).job:
            return pages[-1]
        if self._located(url).host == "widget":
            jobs = [job for page in pages for job in _widget_listed(self.json(page))]
            body = json.dumps({"jobs": jobs}).encode()
            return FetchedPage(url=pages[0].url, status=200, content_type=JSON, body=body)
        company = company_of(pages[0].text(), self._located(url).board) or {}
        items = [item for page in pages[1:] for item in _listed(self.json(page), "items")]
        body = json.dumps({"company": company, "items": items}).encode()
        return FetchedPage(url=pages[-1].url, status=200, content_type=JSON, body=body)

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        data = self.json(page)
        if not isinstance(data, dict):
            raise ParseError("not a JOIN answer (expected a JSON object)", url=page.url)
        board = self._located(url).board
        if "jobs" in data:  # a widget's list: each job names its company page
            widget = data.get("jobs")
            jobs = (
                [_widget_job(i) for i in widget if isinstance(i, dict)]
                if isinstance(widget, list)
                else []
            )
            return [posting for posting in jobs if posting is not None]
        if "items" not in data:  # one job's read
            return self.only([_posting(data, board, data.get("company"), url)], url)
        items = data.get("items")
        listed = items if isinstance(items, list) else []
        return [
            _posting(item, board, data.get("company"))
            for item in listed
            if isinstance(item, dict) and item.get("id") is not None
        ]


def company_of(page: str, board: str) -> dict[str, Any] | None:
    """The company (``id``, ``name``, ``domain``) a JOIN company page's Next.js data
    names, or None. A page whose company is another one (JOIN shows a placeholder
    company for an unknown name) is None too."""
    found = _NEXT_DATA.search(page)
    if found is None:
        return None
    try:
        data = json.loads(found[1])
    except ValueError:
        return None
    props = data.get("props") if isinstance(data, dict) else None
    state = ((props or {}).get("pageProps") or {}).get("initialState") or {}
    company = state.get("company") if isinstance(state, dict) else None
    if not isinstance(company, dict) or not _numeric_id(company.get("id")):
        return None
    domain = text(company.get("domain"))
    if domain and domain.lower() != board.lower():
        return None
    return {"id": company["id"], "name": text(company.get("name")), "domain": domain or board}


def _numeric_id(value: Any) -> bool:
    """A company id as JOIN gives it: digits (it goes into the jobs API's path)."""
    if isinstance(value, bool):
        return False
    return (isinstance(value, int) and value >= 0) or (
        isinstance(value, str) and value.isascii() and value.isdigit()
    )


def widget_company(claims: str) -> str | None:
    """The ``companyPublicId`` in a JOIN widget token's claims (its middle part,
    base64url JSON; the token is public, in the company's page), or None.

    The token comes from any page a user points discovery at: a long one, or claims
    that are not a JSON object, are no JOIN token (JSON nested past the interpreter's
    recursion limit raises RecursionError; real claims nest their settings a few
    levels, so the company id is looked for only at the top)."""
    if len(claims) > MAX_CLAIMS:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        return None
    company = data.get("companyPublicId") if isinstance(data, dict) else None
    return company if isinstance(company, str) and company.isalnum() else None


def _widget_page(url: str, number: int) -> FetchRequest:
    """A page of the widget's jobs, asked with the widget's token as the widget does."""
    found = _WIDGET.match(url.strip())
    assert found is not None
    return FetchRequest(
        url=f"{_SITE}/api/widget/jobs?page={number}",
        headers={"access-token": found["token"]},
        context={"page": number, "widget": True},
        conditional=False,
    )


def _listed(data: Any, key: str) -> list[Any]:
    found = data.get(key) if isinstance(data, dict) else None
    return found if isinstance(found, list) else []


def _widget_listed(data: Any) -> list[Any]:
    """A widget page's jobs: under ``jobs``, or ``items`` as the public API names them."""
    return _listed(data, "jobs") or _listed(data, "items")


def _widget_job(item: dict[str, Any]) -> Posting | None:
    """A widget's job: its ``url`` (join.com/companies/{company}/{id}-{title}) names
    its company and id, the same as a read of its own; none, no posting. The link is
    made anew from them (never a ``javascript:`` one the list might give)."""
    found = _JOB_PAGE.search(text(item.get("url")))
    if found is None:
        return None
    return build_posting(
        kind=JoinSource.kind,
        source_id=f"{found['board']}:{found['job']}",
        url=f"{_SITE}/companies/{found['board']}/{found['param']}",
        title=text(item.get("title")),
        department=_name(item.get("category")),
        locations=[_place(item.get("city")) or text(item.get("place"))],
        remote_hint=remote_from_word(item.get("workplaceType")),
        remote_field="workplaceType field",
        employment_type=_name(item.get("employmentType")) or None,
    )


def _jobs_page(company: dict[str, Any], number: int) -> FetchRequest:
    return FetchRequest(
        url=f"{_SITE}/api/public/companies/{company['id']}/jobs"
        f"?locale=en&page={number}&pageSize={PAGE_SIZE}",
        context={"page": number, "company_data": company},
        conditional=False,
    )


def _posting(item: dict[str, Any], board: str, company: Any, url: str = "") -> Posting:
    job_id = text(str(item.get("id") or ""))
    slug = text(item.get("idParam"))
    named = company if isinstance(company, dict) else {}
    return build_posting(
        kind=JoinSource.kind,
        source_id=f"{board}:{job_id}",
        url=f"{_SITE}/companies/{board}/{slug}" if slug else url.strip(),
        title=text(item.get("title")),
        company=text(named.get("name")),
        department=_name(item.get("category")),
        locations=[_place(item.get("city"))],
        description_html=_advert(item),
        requirements_html=description_html(item.get("requirements")),
        salaries=_pay(item),
        salary_field="salaryAmountFrom / salaryAmountTo / salaryFrequency",
        remote_hint=remote_from_word(item.get("workplaceType")),
        remote_field="workplaceType field",
        employment_type=_name(item.get("employmentType")) or None,
        posted_at=parse_date(item.get("createdAt")),
    )


def _advert(item: dict[str, Any]) -> str:
    """The job's ``description``; where a job has none, its ``intro``, ``tasks`` and
    ``requirements`` parts (JOIN's editor keeps them apart on some jobs)."""
    whole = description_html(item.get("description"))
    if whole.strip():
        return whole
    return "".join(description_html(item.get(part)) for part in ("intro", "tasks", "requirements"))


def _name(value: Any) -> str:
    return text(value.get("name")) if isinstance(value, dict) else text(value)


def _place(city: Any) -> str:
    if not isinstance(city, dict):
        return text(city)
    return ", ".join(p for p in (text(city.get("cityName")), text(city.get("countryName"))) if p)


def _pay(item: dict[str, Any]) -> list[Salary]:
    """``salaryAmountFrom`` / ``To`` in cents; no amount, no pay (``salaryFrequency``
    defaults to PER_YEAR on every job, so it alone says nothing)."""
    low, high = _cents(item.get("salaryAmountFrom")), _cents(item.get("salaryAmountTo"))
    if low is None and high is None:
        return []
    sides = [v for v in (item.get("salaryAmountFrom"), item.get("salaryAmountTo")) if v]
    currency = next((text(v.get("currency")) for v in sides if isinstance(v, dict)), "")
    period = _PERIODS.get(text(item.get("salaryFrequency")).upper())
    return [Salary(min=low, max=high, currency=currency.upper() or None, period=period)]


def _cents(value: Any) -> Decimal | None:
    return cents(value.get("amount")) if isinstance(value, dict) else None


_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s+(.*)$")
_EMPHASIS = re.compile(r"(\*\*|\*)(\S(?:.*?\S)?)\1")


def description_html(value: Any) -> str:
    """JOIN's advert as HTML: HTML as it comes, Markdown made HTML (headings,
    paragraphs, bullet and numbered lists; emphasis dropped)."""
    body = html_of(value)
    if not body.strip() or re.search(r"<(?:p|ul|li|div|br|h\d)\b", body, re.IGNORECASE):
        return body
    out: list[str] = []
    in_list = False
    for raw in body.splitlines():
        line = _EMPHASIS.sub(r"\2", raw.strip())
        bullet = _BULLET.match(line)
        if in_list and not bullet:
            out.append("</ul>")
            in_list = False
        if not line:
            continue
        if bullet:
            out.append(("" if in_list else "<ul>") + f"<li>{html.escape(bullet[1])}</li>")
            in_list = True
        elif heading := _HEADING.match(line):
            out.append(f"<h3>{html.escape(heading[1])}</h3>")
        else:
            out.append(f"<p>{html.escape(line)}</p>")
    return "".join(out) + ("</ul>" if in_list else "")
