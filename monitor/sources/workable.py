"""Workable: the public widget API, apply.workable.com/api/v1/widget/accounts/{slug}?details=true.

The widget lists every published job with its description HTML; a posting URL
fetches the account and keeps its job (by shortcode). ``telecommuting`` marks
remote jobs; Workable has no structured pay in this API.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from monitor.model import Posting, RemoteKind
from monitor.sources.base import FetchedPage
from monitor.sources.common import AtsSource, build_posting, parse_date, text, web_url


class WorkableSource(AtsSource):
    """Workable account (a board or one job)."""

    kind: ClassVar[str] = "workable"
    title: ClassVar[str] = "Workable widget API (board or single job)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "apply.workable.com/{account}",
        "apply.workable.com/{account}/j/{shortcode}",
        "{account}.workable.com",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(r"^https?://apply\.workable\.com/(?P<board>[\w-]+)/j/(?P<job>[0-9A-Za-z]+)"),
        re.compile(r"^https?://apply\.workable\.com/api/v1/widget/accounts/(?P<board>[\w-]+)"),
        re.compile(r"^https?://(?P<board>[\w-]+)\.workable\.com/j/(?P<job>[0-9A-Za-z]+)"),
        re.compile(r"^https?://apply\.workable\.com/(?!api/|j/)(?P<board>[\w-]+)/?(?:\?.*)?$"),
        re.compile(r"^https?://(?!apply\.|www\.)(?P<board>[\w-]+)\.workable\.com/?(?:\?.*)?$"),
    )

    def fetch_url(self, url: str) -> str:
        board = self._located(url).board
        return f"https://apply.workable.com/api/v1/widget/accounts/{board}?details=true"

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        data = self.json(page)
        board = self._located(url).board
        company = text(data.get("name")) if isinstance(data, dict) else ""
        jobs = data.get("jobs", []) if isinstance(data, dict) else []
        return self.only([_posting(j, board, company) for j in jobs if isinstance(j, dict)], url)


def _posting(job: dict[str, Any], board: str, company: str) -> Posting:
    return build_posting(
        kind=WorkableSource.kind,
        source_id=f"{board}:{job.get('shortcode')}",
        url=web_url(job.get("url"))
        or f"https://apply.workable.com/{board}/j/{job.get('shortcode')}",
        title=text(job.get("title")),
        company=company,
        department=text(job.get("department")),
        locations=_locations(job),
        description_html=job.get("description") or "",
        remote_hint=RemoteKind.REMOTE if job.get("telecommuting") is True else RemoteKind.UNKNOWN,
        remote_field="telecommuting field",
        employment_type=text(job.get("employment_type")) or None,
        posted_at=parse_date(job.get("published_on") or job.get("created_at")),
    )


def _locations(job: dict[str, Any]) -> list[str]:
    places = [p for p in job.get("locations") or [] if isinstance(p, dict) and not p.get("hidden")]
    if not places:
        places = [
            {"city": job.get("city"), "region": job.get("state"), "country": job.get("country")}
        ]
    names = [
        ", ".join(text(p.get(k)) for k in ("city", "region", "country") if text(p.get(k)))
        for p in places
    ]
    return [n for n in names if n]
