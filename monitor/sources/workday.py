"""Workday career sites: {tenant}.wd{N}.myworkdayjobs.com/[{lang}/]{site}[/job/...]
(and wd{N}.myworkdaysite.com/[{lang}/]recruiting/{tenant}/{site}[/job/...]).

Read through the site's own JSON API (cxs):
- a board: ``POST /wday/cxs/{tenant}/{site}/jobs`` with ``{"limit": 20, "offset": …}``,
  a page at a time (Workday gives the ``total`` on the first page only); each item has
  ``title``, ``externalPath``, ``locationsText`` ("2 Locations" when there are
  several), ``bulletFields`` (the requisition id) and on some tenants ``remoteType``;
- one job: ``GET /wday/cxs/{tenant}/{site}/job/{path}``: ``jobPostingInfo`` with the
  ``jobDescription`` HTML (pay and requirements are read from it), ``location`` and
  ``additionalLocations``, ``remoteType``, ``timeType``, ``startDate``, and
  ``hiringOrganization.name``.
A posting's id is the requisition part of its path (after the last "_"), the same in
a board's list and on its own page. "Posted N Days Ago" is never read: it changes
every day and says nothing about the posting.

Sites on a company's own domain (careers.example.com/[{lang}/]{site}[/job/...]) serve
the same pages and the same API; their URL does not name the tenant, so a check first
reads the page, takes ``tenant`` and ``siteId`` from its ``window.workday`` settings,
then asks the API on that domain. Nothing in such a URL says Workday: the page does
(``claims``), so ``test-source`` and the dashboard's preview identify it by fetching it
once, and ``watch add --source workday`` or ``source = "workday"`` name it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from monitor.errors import ParseError
from monitor.model import Posting, RemoteKind
from monitor.sources.base import FetchedPage, FetchRequest
from monitor.sources.common import AtsSource, Located, build_posting, html_of, parse_date, text
from monitor.urls import is_web_url

PAGE_SIZE = 20  # the most the cxs API gives per request
_LANG = r"(?:[a-z]{2}-[A-Z]{2}/)?"
# {tenant}.wd5.myworkdayjobs.com/{site} and wd5.myworkdaysite.com/recruiting/{tenant}/{site}
_SITES = (
    r"^https?://(?P<tenant>[\w-]+)\.(?P<pod>wd\d+)\.(?P<domain>myworkdayjobs)\.com/"
    + _LANG
    + r"(?P<site>[\w-]+)",
    r"^https?://(?P<pod>wd\d+)\.(?P<domain>myworkdaysite)\.com/"
    + _LANG
    + r"recruiting/(?P<tenant>[\w-]+)/(?P<site>[\w-]+)",
)
_TAILS = (r"/job/(?P<path>[^?#]+?)/?(?:[?#].*)?$", r"/?(?:[?#].*)?$")
_PATTERNS = tuple(re.compile(site + tail) for site in _SITES for tail in _TAILS)
# A site on the company's own domain: the same paths on another host.
_FRONTED = tuple(
    re.compile(r"^(?P<scheme>https?)://(?P<host>[^/?#@\s]+)/" + _LANG + r"(?P<site>[\w-]+)" + tail)
    for tail in _TAILS
)
# The settings object every Workday career page carries: window.workday = {tenant:
# "acme", siteId: "External", ...} (keys quoted or not).
_SETTINGS = re.compile(r"window\.workday\s*=")
_SETTINGS_SPAN = 6000


def _setting(name: str) -> re.Pattern[str]:
    return re.compile(r"""["']?\b""" + name + r"""["']?\s*:\s*["']([\w.-]+)["']""")


_TENANT, _SITE_ID = _setting("tenant"), _setting("siteId")
_REMOTE_TYPES = {
    "remote": RemoteKind.REMOTE,
    "fully remote": RemoteKind.REMOTE,
    "hybrid": RemoteKind.HYBRID,
    "flex": RemoteKind.HYBRID,
    "flexible": RemoteKind.HYBRID,
    "onsite": RemoteKind.ONSITE,
    "on-site": RemoteKind.ONSITE,
    "on site": RemoteKind.ONSITE,
}
_SEVERAL_PLACES = re.compile(r"^\d+ Locations?$", re.IGNORECASE)
_DOTTED_PLACE = re.compile(r"^([A-Z]{2,3})\.([A-Z]{2})\.([\w -]+)$")


@dataclass(frozen=True, slots=True)
class _Site:
    tenant: str
    """Empty for a site on the company's domain until its page is read."""
    pod: str
    site: str
    path: str | None
    domain: str = "myworkdayjobs"
    host: str = ""
    """The company's own host, for a fronted site."""
    scheme: str = "https"

    @property
    def fronted(self) -> bool:
        return self.domain == "fronted"

    @property
    def origin(self) -> str:
        if self.fronted:
            return f"{self.scheme}://{self.host}"
        if self.domain == "myworkdaysite":
            return f"https://{self.pod}.myworkdaysite.com"
        return f"https://{self.tenant}.{self.pod}.myworkdayjobs.com"

    @property
    def public(self) -> str:
        """Where the site's pages are: postings' links start here."""
        if self.domain == "myworkdaysite":
            return f"{self.origin}/recruiting/{self.tenant}/{self.site}"
        return f"{self.origin}/{self.site}"

    def api(self, context: Mapping[str, Any] | None = None) -> str:
        """The cxs API root; a fronted site's tenant and site id come from its page."""
        context = context or {}
        tenant = context.get("tenant") or self.tenant
        site = context.get("site") or self.site
        return f"{self.origin}/wday/cxs/{tenant}/{site}"

    @property
    def board(self) -> str:
        return f"{self.host}/{self.site}" if self.fronted else f"{self.tenant}/{self.site}"


def _site(url: str, *, fronted: bool = False) -> _Site | None:
    for pattern in _PATTERNS:
        match = pattern.match(url.strip())
        if match:
            found = match.groupdict()
            return _Site(
                found["tenant"], found["pod"], found["site"], found.get("path"), found["domain"]
            )
    for pattern in _FRONTED if fronted else ():
        match = pattern.match(url.strip())
        if match:
            found = match.groupdict()
            return _Site(
                "",
                "",
                found["site"],
                found.get("path"),
                "fronted",
                host=found["host"].lower(),
                scheme=found["scheme"],
            )
    return None


def settings(html: str) -> tuple[str, str] | None:
    """(tenant, siteId) from a Workday career page's ``window.workday`` settings, or
    None when the page has none (it is not a Workday site)."""
    found = _SETTINGS.search(html)
    if found is None:
        return None
    block = html[found.end() : found.end() + _SETTINGS_SPAN]
    tenant, site = _TENANT.search(block), _SITE_ID.search(block)
    if tenant is None or site is None:
        return None
    return tenant[1], site[1]


def requisition(path: str) -> str:
    """'/job/USA-VA-Reston/Sr-Engineer_JR-0105486' -> 'JR-0105486'."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return last.rsplit("_", 1)[-1] if "_" in last else last


class WorkdaySource(AtsSource):
    """Workday career site (every job, a page at a time, or one job)."""

    thin_list: ClassVar[bool] = True
    kind: ClassVar[str] = "workday"
    title: ClassVar[str] = "Workday career site API (board, paged, or single job)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "{tenant}.wd{N}.myworkdayjobs.com/{site}",
        "{tenant}.wd{N}.myworkdayjobs.com/{lang}/{site}",
        "{tenant}.wd{N}.myworkdayjobs.com/[{lang}/]{site}/job/{location}/{title}_{requisition}",
        "wd{N}.myworkdaysite.com/[{lang}/]recruiting/{tenant}/{site}[/job/...]",
        "{company domain}/[{lang}/]{site}[/job/...] (source = workday; its page names the tenant)",
    )

    def locate(self, url: str) -> Located | None:
        """A URL on Workday's own hosts (what detection goes by)."""
        return _location(_site(url))

    def _located(self, url: str) -> Located:
        # Once a watch is known to be Workday, its URL may be on the company's domain.
        found = _location(_site(url, fronted=True))
        if found is None:
            raise ParseError(f"not a {self.kind} URL", url=url)
        return found

    def _where(self, url: str) -> _Site:
        found = _site(url, fronted=True)
        if found is None:
            raise ParseError(f"not a {self.kind} URL", url=url)
        return found

    def claims(self, url: str, page: FetchedPage) -> bool:
        """Whether a page no URL shape named is a Workday site on the company's domain:
        its settings name the site its URL does."""
        site = _site(url, fronted=True)
        found = settings(page.text()) if page.content_type.startswith("text/html") else None
        return site is not None and found is not None and found[1].lower() == site.site.lower()

    def fetch_url(self, url: str) -> str:
        site = self._where(url)
        if site.fronted:
            return url.strip()
        return f"{site.api()}/job/{site.path}" if site.path else f"{site.api()}/jobs"

    def first_request(self, url: str) -> FetchRequest:
        site = self._where(url)
        if site.fronted:
            # The page names the tenant; it changes little while its jobs do, so it is
            # read in full every time (never a 304 that would hide the board).
            return FetchRequest(url=url.strip(), context={"settings": True}, conditional=False)
        return _first_api_request(site, {})

    def next_request(
        self, url: str, request: FetchRequest, page: FetchedPage
    ) -> FetchRequest | None:
        if request.context.get("settings"):
            found = settings(page.text())
            if found is None:
                raise ParseError(
                    "not a Workday career site: the page has no window.workday settings "
                    "naming its tenant and site",
                    url=page.url,
                )
            return _first_api_request(self._where(url), {"tenant": found[0], "site": found[1]})
        if request.method != "POST":
            return None
        data = self.json(page)
        listed = data.get("jobPostings") if isinstance(data, dict) else None
        if not isinstance(listed, list) or not listed:
            return None
        total = request.context.get("total")
        if total is None:
            total = data.get("total") if isinstance(data.get("total"), int) else 0
        offset = int(request.context.get("offset", 0)) + len(listed)
        if offset >= total:
            return None
        return _page_request(self._where(url), offset=offset, total=total, found=request.context)

    def merge(self, url: str, pages: Sequence[FetchedPage]) -> FetchedPage:
        if self._where(url).fronted and len(pages) > 1:
            pages = pages[1:]  # the settings page: read for the tenant, not a posting
        if len(pages) == 1:
            return pages[0]
        listed: list[Any] = []
        for page in pages:
            data = self.json(page)
            items = data.get("jobPostings") if isinstance(data, dict) else None
            listed.extend(items if isinstance(items, list) else [])
        first = self.json(pages[0])
        total = first.get("total") if isinstance(first, dict) else len(listed)
        body = json.dumps({"total": total, "jobPostings": listed}).encode()
        return FetchedPage(url=pages[0].url, status=200, content_type="application/json", body=body)

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        site = self._where(url)
        data = self.json(page)
        if not isinstance(data, dict):
            raise ParseError("not a Workday answer (expected a JSON object)", url=page.url)
        if site.path:
            info = data.get("jobPostingInfo")
            if not isinstance(info, dict):
                raise ParseError("no jobPostingInfo in the Workday answer", url=page.url)
            return self.only([_job(info, data.get("hiringOrganization"), site)], url)
        listed = data.get("jobPostings")
        items = listed if isinstance(listed, list) else []
        return [
            _listed(item, site)
            for item in items
            if isinstance(item, dict) and item.get("externalPath")
        ]


def _location(site: _Site | None) -> Located | None:
    if site is None:
        return None
    job = requisition(site.path) if site.path else None
    return Located(board=site.board, job=job, host=site.host or site.pod)


def _first_api_request(site: _Site, found: Mapping[str, Any]) -> FetchRequest:
    if site.path:
        return FetchRequest(url=f"{site.api(found)}/job/{site.path}", context=found)
    return _page_request(site, offset=0, total=None, found=found)


def _page_request(
    site: _Site, *, offset: int, total: int | None, found: Mapping[str, Any]
) -> FetchRequest:
    named = {key: found[key] for key in ("tenant", "site") if found.get(key)}
    return FetchRequest(
        url=f"{site.api(named)}/jobs",
        method="POST",
        json={"appliedFacets": {}, "limit": PAGE_SIZE, "offset": offset, "searchText": ""},
        context={"offset": offset, **({"total": total} if total is not None else {}), **named},
    )


def remote_kind(value: Any) -> RemoteKind:
    return _REMOTE_TYPES.get(text(value).strip().lower(), RemoteKind.UNKNOWN)


def _places(*values: Any) -> list[str]:
    names: list[str] = []
    for value in values:
        for name in value if isinstance(value, list) else [value]:
            place = text(name)
            if place and not _SEVERAL_PLACES.match(place):
                dotted = _DOTTED_PLACE.match(place)  # "USA.VA.Reston"
                names.append(", ".join(dotted.groups()) if dotted else place)
    return names


def _listed(item: dict[str, Any], site: _Site) -> Posting:
    path = text(item.get("externalPath"))
    return build_posting(
        kind=WorkdaySource.kind,
        source_id=f"{site.board}:{requisition(path)}",
        url=f"{site.public}{path}",
        title=text(item.get("title")),
        locations=_places(item.get("locationsText")),
        remote_hint=remote_kind(item.get("remoteType")),
        remote_field="remoteType field",
    )


def _public_url(external: str, site: _Site) -> str:
    """The job's ``externalUrl``: an http(s) URL, or a path on the board's site; else
    (``javascript:...``, say) the job's URL on the board's site."""
    if is_web_url(external):
        return external
    path = external if external.startswith("/") else f"/job/{site.path}"
    return f"{site.public}{path}"


def _job(info: dict[str, Any], organization: Any, site: _Site) -> Posting:
    external = text(info.get("externalUrl"))
    posting_id = text(info.get("jobPostingId")) or site.path or ""
    company = text(organization.get("name")) if isinstance(organization, dict) else ""
    return build_posting(
        kind=WorkdaySource.kind,
        source_id=f"{site.board}:{requisition(posting_id)}",
        url=_public_url(external, site),
        title=text(info.get("title")),
        company=company,
        locations=_places(info.get("location"), info.get("additionalLocations")),
        description_html=html_of(info.get("jobDescription")),
        remote_hint=remote_kind(info.get("remoteType")),
        remote_field="remoteType field",
        employment_type=text(info.get("timeType")) or None,
        posted_at=parse_date(info.get("startDate")),
    )
