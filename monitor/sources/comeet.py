"""Comeet: the careers API 2.0 (www.comeet.co/careers-api/2.0/company/{uid}/positions).

The API wants the company's uid ("F6.003") and its public careers token. With
``details=true`` the board's list carries every position in full: ``name``,
``department``, ``employment_type``, ``workplace_type`` ("On-site", "Hybrid",
"Remote"), ``location`` (city, state, country and ``is_remote``), ``time_updated``, the
hosted page's URL, and the advert as ``details[]`` sections (``{name, value, order}``:
"Description", "Responsibilities", "Requirements", ...). So a board watch reads no
member on its own. One position open in two places is two positions
("18.767" and "18.767-9B.20A"), each with its own uid.

Comeet has no pay field: pay is read from the advert's text only. The
``company_referrals_reward`` ("10,000 ILS") is what an employee gets for a referral,
never the position's pay, and is not read.

URLs: the API's own (``…/positions[/{position uid}]?token=…``, as the API's
``position_url`` gives them) are read directly. A hosted careers page
(www.comeet.com/jobs/{company}/{uid}[/{title}/{position uid}]) does not carry the
token in its URL: a check first reads the page, takes the token from its
``COMPANY_DATA`` settings, then asks the API.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from monitor.errors import ParseError
from monitor.model import Posting, RemoteKind
from monitor.sources.base import FetchedPage, FetchRequest
from monitor.sources.common import (
    AtsSource,
    build_posting,
    html_of,
    parse_date,
    remote_from_word,
    text,
    web_url,
)

_API = "https://www.comeet.co/careers-api/2.0/company"
_API_PATH = r"^https?://(?:www\.)?comeet\.co/careers-api/2\.0/company/(?P<board>[\w.]+)/positions"
_HOSTED = r"^https?://(?:www\.)?comeet\.com?/jobs/(?P<slug>[\w-]+)/(?P<board>[\w.]+)"
# COMPANY_DATA = {"company_uid": "F6.003", "token": "6F32…", ...} in the hosted page.
_COMPANY_DATA = re.compile(r"COMPANY_DATA\s*=\s*\{")
_TOKEN = re.compile(r"""["']?\btoken["']?\s*:\s*["'](\w+)["']""")
_SETTINGS_SPAN = 4000


class ComeetSource(AtsSource):
    """Comeet careers API (a company's positions, or one position)."""

    kind: ClassVar[str] = "comeet"
    title: ClassVar[str] = "Comeet careers API 2.0 (board or single position)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "www.comeet.co/careers-api/2.0/company/{uid}/positions?token={token}",
        "www.comeet.co/careers-api/2.0/company/{uid}/positions/{position uid}?token={token}",
        "www.comeet.com/jobs/{company}/{uid} (the token is read from the page)",
        "www.comeet.com/jobs/{company}/{uid}/{title}/{position uid}",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(_API_PATH + r"/(?P<job>[\w.-]+)/?\?"),
        re.compile(_API_PATH + r"/?\?"),
        re.compile(_HOSTED + r"/[^/?#]+/(?P<job>[\w.-]+)/?(?:[?#].*)?$"),
        re.compile(_HOSTED + r"/?(?:[?#].*)?$"),
    )

    def fetch_url(self, url: str) -> str:
        token = _token(url)
        if token is None:
            return _hosted_board(url)  # the page that names the token
        return _api_url(self._located(url).board, self._located(url).job, token)

    def first_request(self, url: str) -> FetchRequest:
        if _token(url) is None:
            # The page names the token; it is read in full every time (never a 304
            # that would hide the positions).
            return FetchRequest(
                url=_hosted_board(url), context={"settings": True}, conditional=False
            )
        return FetchRequest(url=self.fetch_url(url))

    def next_request(
        self, url: str, request: FetchRequest, page: FetchedPage
    ) -> FetchRequest | None:
        if not request.context.get("settings"):
            return None
        token = company_token(page.text())
        if token is None:
            raise ParseError(
                "not a Comeet careers page: no COMPANY_DATA token to ask the careers API with",
                url=page.url,
            )
        located = self._located(url)
        return FetchRequest(url=_api_url(located.board, located.job, token))

    def merge(self, url: str, pages: Sequence[FetchedPage]) -> FetchedPage:
        return pages[-1]  # the hosted page was read for its token only

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        data = self.json(page)
        located = self._located(url)
        if located.job is None and not isinstance(data, list):
            # An error answered with HTTP 200 ({"error": "invalid token", "status": 403})
            # is no board of one nameless position.
            raise ParseError("not a Comeet positions list (expected a JSON list)", url=page.url)
        items = data if isinstance(data, list) else [data]
        postings = [
            _posting(item, located.board, url)
            for item in items
            if isinstance(item, dict) and text(item.get("uid"))
        ]
        return self.only(postings, url)


def company_token(html: str) -> str | None:
    """The careers API token in a hosted Comeet page's ``COMPANY_DATA``, or None. The
    object is a script's literal (keys quoted or not, nested objects): the token is
    looked for in the text after it starts, not parsed as JSON."""
    found = _COMPANY_DATA.search(html)
    if found is None:
        return None
    token = _TOKEN.search(html, found.end(), found.end() + _SETTINGS_SPAN)
    return token[1] if token else None


def _token(url: str) -> str | None:
    values = parse_qs(urlsplit(url.strip()).query).get("token") or []
    return values[0] if values and values[0].isalnum() else None


def _hosted_board(url: str) -> str:
    found = re.match(_HOSTED, url.strip())
    if found is None:
        raise ParseError("a Comeet API URL needs its token= (or give the careers page)", url=url)
    return f"https://www.comeet.com/jobs/{found['slug']}/{found['board']}"


def _api_url(board: str, job: str | None, token: str) -> str:
    position = f"/{job}" if job else ""
    return f"{_API}/{board}/positions{position}?token={token}&details=true"


def _own_url(url: str, board: str, uid: str) -> str:
    """A position's URL where its JSON gives no http(s) one: its API URL (with the
    watched URL's token) or its place on the hosted page the watch names."""
    token = _token(url)
    if token is not None:
        return f"{_API}/{board}/positions/{uid}?token={token}"
    return f"{_hosted_board(url)}/position/{uid}"


def _posting(item: dict[str, Any], board: str, watched: str) -> Posting:
    uid = text(item.get("uid"))
    location = item.get("location") if isinstance(item.get("location"), dict) else {}
    assert isinstance(location, dict)
    details = _details(item.get("details"))
    return build_posting(
        kind=ComeetSource.kind,
        source_id=f"{board}:{uid}",
        url=web_url(item.get("url_comeet_hosted_page"))
        or web_url(item.get("url_active_page"))
        or _own_url(watched, board, uid),
        title=text(item.get("name")),
        company=text(item.get("company_name")),
        department=text(item.get("department")),
        locations=[_place(location)],
        description_html=[f"<h3>{html.escape(name)}</h3>{value}" for name, value in details],
        requirements_html=next(
            (
                value
                for name, value in details
                if name.lower() in ("requirements", "qualifications")
            ),
            "",
        ),
        remote_hint=_workplace(item, location),
        remote_field="workplace_type field",
        employment_type=text(item.get("employment_type")) or None,
        posted_at=parse_date(item.get("time_updated")),
    )


def _details(value: Any) -> list[tuple[str, str]]:
    """The advert's sections in their order, empty ones left out."""
    sections = [d for d in value or [] if isinstance(d, dict) and html_of(d.get("value")).strip()]
    sections.sort(key=_order)
    return [(text(d.get("name")), html_of(d.get("value"))) for d in sections]


def _order(section: dict[str, Any]) -> int:
    order = section.get("order")
    return order if isinstance(order, int) else 0


def _workplace(item: dict[str, Any], location: dict[str, Any]) -> RemoteKind:
    """``workplace_type``; without it, ``location.is_remote`` true says remote (false
    alone says nothing: it is false on hybrid positions too)."""
    kind = remote_from_word(item.get("workplace_type"))
    if kind is RemoteKind.UNKNOWN and location.get("is_remote") is True:
        return RemoteKind.REMOTE
    return kind


def _place(location: dict[str, Any]) -> str:
    parts = [text(location.get(key)) for key in ("city", "state", "country")]
    return ", ".join(p for p in parts if p) or text(location.get("name"))
