"""Eightfold career sites (PCSX): {company}.eightfold.ai/careers[?domain=…] and
…/careers/job/{id} (or ``?pid={id}``); employers' own hosts (apply.careers.microsoft.com)
serve the same paths and API.

Read through the site's JSON API, whose answers come in a ``{status, error, data}``
envelope (a status other than 200 or an error message is a failed read):
- a board: ``GET /api/pcsx/search?domain=…&start=N``, ten positions a page whatever
  is asked, ``data.count`` the total; each position has ``id``, ``name``,
  ``locations``, ``department``, ``postedTs`` (epoch seconds) and
  ``workLocationOption`` but no description, so a board watch also reads each
  member's details (``thin_list``);
- one job: ``GET /api/pcsx/position_details?position_id=…&domain=…``: the same fields
  with the ``jobDescription`` HTML (pay and requirements are read from it) and the
  tenant's custom fields (``efcustomText…``). A custom field about the work site
  ("efcustomTextWorkSite": "0 days / week in-office – remote") is the employer's own,
  more specific statement and wins over ``workLocationOption``.
``positionExtraDetails`` (videos, perks, blog blurbs) is not the posting and is not read.

The ``domain`` query parameter of the watched URL (the employer's domain, as the site's
own links carry it) is passed on to the API; without one the site's default is used.
Hosts other than ``*.eightfold.ai`` say nothing of Eightfold in their URL: name the
source (``--source eightfold`` / ``source = "eightfold"``), or watch the API URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from monitor.errors import ParseError
from monitor.extract.remote_kind import kind_of_label
from monitor.model import Posting, RemoteKind
from monitor.sources.base import FetchedPage, FetchRequest
from monitor.sources.common import (
    AtsSource,
    Located,
    build_posting,
    epoch_date,
    html_of,
    more_pages,
    text,
)

PAGE_SIZE = 10  # the search answers ten positions a page whatever ``num`` says
_EIGHTFOLD_HOST = re.compile(r"^[\w-]+\.eightfold\.ai$")
_JOB_PATH = re.compile(r"^/careers/job/(\d+)/?$")
_BOARD_PATH = re.compile(r"^/(?:careers|jobs)?/?$")
_API_PATH = re.compile(r"^/api/pcsx/(search|position_details)/?$")
_WORK_SITE_FIELD = re.compile(r"work_?site|workplace|work_?location|remote", re.I)
_IN_OFFICE_DAYS = re.compile(r"\b(\d)\s*days?\s*/\s*week\s*in[- ]office", re.I)
_FROM_HOME_SHARE = re.compile(r"\bup to (\d{1,3})\s*% work from home", re.I)


@dataclass(frozen=True, slots=True)
class _Site:
    host: str
    domain: str
    job: str | None

    def api(self, endpoint: str, **params: str | int) -> str:
        query = {**params, **({"domain": self.domain} if self.domain else {})}
        return f"https://{self.host}/api/pcsx/{endpoint}?{urlencode(query)}"

    def job_url(self, job_id: str) -> str:
        tail = f"?{urlencode({'domain': self.domain})}" if self.domain else ""
        return f"https://{self.host}/careers/job/{job_id}{tail}"


def _site(url: str, *, any_host: bool) -> _Site | None:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return None
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    domain = query.get("domain", "")
    api = _API_PATH.match(parts.path)
    if not (any_host or _EIGHTFOLD_HOST.match(host) or api):
        return None
    if api and api[1] == "search":
        return _Site(host, domain, None)
    if api:  # position_details names its position, or is no URL of ours
        position = query.get("position_id", "")
        return _Site(host, domain, position) if position.isdigit() else None
    job_path = _JOB_PATH.match(parts.path)
    if job_path:
        return _Site(host, domain, job_path[1])
    if _BOARD_PATH.match(parts.path):
        pid = query.get("pid", "")
        return _Site(host, domain, pid if pid.isdigit() else None)
    return None


class EightfoldSource(AtsSource):
    """Eightfold career site (every position, paged, or one position)."""

    thin_list: ClassVar[bool] = True
    kind: ClassVar[str] = "eightfold"
    title: ClassVar[str] = "Eightfold career site API (board, paged, or position)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "{company}.eightfold.ai/careers[?domain={domain}]",
        "{company}.eightfold.ai/careers/job/{id} (or /careers?pid={id})",
        "{host}/api/pcsx/search?domain={domain} and {host}/api/pcsx/position_details?position_id={id}",
        "{company domain}/careers[/job/{id}] (source = eightfold)",
    )

    def locate(self, url: str) -> Located | None:
        """A URL on Eightfold's own hosts or its API paths (what detection goes by)."""
        return _location(_site(url, any_host=False))

    def _located(self, url: str) -> Located:
        # Once a watch is known to be Eightfold, its URL may be on the employer's host.
        found = _location(_site(url, any_host=True))
        if found is None:
            raise ParseError(f"not an {self.kind} URL", url=url)
        return found

    def _where(self, url: str) -> _Site:
        found = _site(url, any_host=True)
        if found is None:
            raise ParseError(f"not an {self.kind} URL", url=url)
        return found

    def fetch_url(self, url: str) -> str:
        site = self._where(url)
        if site.job:
            return site.api("position_details", position_id=site.job, hl="en")
        return site.api("search", query="", start=0, sort_by="timestamp")

    def first_request(self, url: str) -> FetchRequest:
        # A board's first page unchanged says nothing of its later pages: never a 304.
        board = self._where(url).job is None
        return FetchRequest(url=self.fetch_url(url), context={"start": 0}, conditional=not board)

    def next_request(
        self, url: str, request: FetchRequest, page: FetchedPage
    ) -> FetchRequest | None:
        site = self._where(url)
        if site.job:
            return None
        data = _data(self.json(page), page.url)
        positions = data.get("positions")
        if not isinstance(positions, list) or not positions:
            return None
        known = request.context.get("total")
        count = data.get("count")
        total = known if isinstance(known, int) else count if isinstance(count, int) else None
        start = int(request.context.get("start", 0)) + len(positions)
        if not more_pages(done=start, total=total, listed=len(positions), page_size=PAGE_SIZE):
            return None
        url_next = site.api("search", query="", start=start, sort_by="timestamp")
        return FetchRequest(url=url_next, context={"start": start, "total": total})

    def merge(self, url: str, pages: Sequence[FetchedPage]) -> FetchedPage:
        if len(pages) == 1:
            return pages[0]
        positions: list[Any] = []
        for page in pages:
            found = _data(self.json(page), page.url).get("positions")
            positions.extend(found if isinstance(found, list) else [])
        first = _data(self.json(pages[0]), pages[0].url)
        envelope = {"status": 200, "error": {}, "data": {**first, "positions": positions}}
        body = json.dumps(envelope).encode()
        return FetchedPage(url=pages[0].url, status=200, content_type="application/json", body=body)

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        site = self._where(url)
        data = _data(self.json(page), page.url)
        if site.job:
            return self.only([_position(data, site)], url)
        positions = data.get("positions")
        return [
            _position(item, site)
            for item in (positions if isinstance(positions, list) else [])
            if isinstance(item, dict) and item.get("id")
        ]


def _location(site: _Site | None) -> Located | None:
    if site is None:
        return None
    return Located(board=site.host, job=site.job, host=site.host)


def _data(envelope: Any, url: str) -> dict[str, Any]:
    """The ``data`` of a ``{status, error, data}`` answer; an error answer raises."""
    if not isinstance(envelope, dict):
        raise ParseError("not an Eightfold answer (expected a JSON object)", url=url)
    status = envelope.get("status")
    error = envelope.get("error")
    message = text(error.get("message")) if isinstance(error, dict) else text(error)
    data = envelope.get("data")
    if status not in (None, 200) or message:
        reason = message or f"status {status}"
        raise ParseError(f"Eightfold answered with an error: {reason}", url=url)
    if not isinstance(data, dict):
        raise ParseError("Eightfold answered without data", url=url)
    return data


def work_site_kind(position: dict[str, Any]) -> tuple[RemoteKind, str]:
    """The kind a custom work-site field states ("0 days / week in-office – remote",
    "3 days / week in-office", "Microsoft on-site only"), and the field's name."""
    for name, value in position.items():
        if not name.startswith("efcustom") or not _WORK_SITE_FIELD.search(name):
            continue
        for label in _labels(value):
            kind = _work_site(label)
            if kind is not RemoteKind.UNKNOWN:
                return kind, name
    return RemoteKind.UNKNOWN, ""


def _labels(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [text(v) for v in values if text(v)]


def _work_site(label: str) -> RemoteKind:
    days = _IN_OFFICE_DAYS.search(label)
    if days:  # "N days / week in-office": none is remote, five is on-site
        count = int(days[1])
        return (
            RemoteKind.REMOTE
            if count == 0
            else RemoteKind.ONSITE
            if count >= 5
            else RemoteKind.HYBRID
        )
    share = _FROM_HOME_SHARE.search(label)
    if share:  # "Up to 50% work from home": part of the week at home
        return RemoteKind.REMOTE if int(share[1]) >= 100 else RemoteKind.HYBRID
    return kind_of_label(label) or RemoteKind.UNKNOWN


def _posted(value: Any) -> date | None:
    """``postedTs``: epoch seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return epoch_date(value, tz=UTC)
    return None


def _position(item: dict[str, Any], site: _Site) -> Posting:
    job_id = text(str(item.get("id")))
    custom, field = work_site_kind(item)
    option = kind_of_label(text(item.get("workLocationOption"))) or RemoteKind.UNKNOWN
    locations = item.get("locations")
    return build_posting(
        kind=EightfoldSource.kind,
        source_id=f"{site.host}:{job_id}",
        url=site.job_url(job_id),
        title=text(item.get("name")),
        department=text(item.get("department")),
        locations=[text(p) for p in locations] if isinstance(locations, list) else [],
        description_html=html_of(item.get("jobDescription")),
        remote_hint=custom if custom is not RemoteKind.UNKNOWN else option,
        remote_field=field if custom is not RemoteKind.UNKNOWN else "workLocationOption field",
        employment_type=_employment(item),
        posted_at=_posted(item.get("postedTs")),
    )


def _employment(item: dict[str, Any]) -> str | None:
    for key in ("efcustomTextEmploymentType", "efcustomTextTimeType"):
        labels = _labels(item.get(key))
        if labels:
            return labels[0]
    return None
