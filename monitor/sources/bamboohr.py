"""BambooHR careers sites: {company}.bamboohr.com/careers.

Two JSON endpoints: ``/careers/list`` (every open job: ``jobOpeningName``,
``departmentLabel``, ``employmentStatusLabel``, ``location {city, state}``,
``isRemote``, ``locationType`` "0" on-site / "1" remote / "2" hybrid) for a board,
and ``/careers/{id}/detail`` (the same under ``result.jobOpening``, with the
``description`` HTML and, where the employer fills it, ``compensation`` text) for
one job. A board's list carries no description, so a board watch also reads each
member's detail (``thin_list``).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from monitor.model import Posting, RemoteKind
from monitor.sources.base import FetchedPage
from monitor.sources.common import (
    AtsSource,
    boolean,
    build_posting,
    html_of,
    parse_date,
    text,
    web_url,
)

_LOCATION_TYPES = {"0": RemoteKind.ONSITE, "1": RemoteKind.REMOTE, "2": RemoteKind.HYBRID}


class BambooHRSource(AtsSource):
    """BambooHR careers site (every open job, or one of them)."""

    thin_list: ClassVar[bool] = True
    kind: ClassVar[str] = "bamboohr"
    title: ClassVar[str] = "BambooHR careers API (board or single job)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "{company}.bamboohr.com/careers",
        "{company}.bamboohr.com/careers/list",
        "{company}.bamboohr.com/careers/{id}",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(r"^https?://(?P<board>[\w-]+)\.bamboohr\.com/(?:careers|jobs)/(?P<job>\d+)"),
        re.compile(
            r"^https?://(?P<board>[\w-]+)\.bamboohr\.com/?(?:careers(?:/list)?|jobs)?/?(?:[?#].*)?$"
        ),
    )

    def fetch_url(self, url: str) -> str:
        located = self._located(url)
        base = f"https://{located.board}.bamboohr.com/careers"
        return f"{base}/{located.job}/detail" if located.job else f"{base}/list"

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        data = self.json(page)
        located = self._located(url)
        result = data.get("result") if isinstance(data, dict) else None
        if located.job is not None:
            opening = result.get("jobOpening") if isinstance(result, dict) else None
            job = opening if isinstance(opening, dict) else {}
            return self.only([_posting({**job, "id": located.job}, located.board)], url)
        jobs = result if isinstance(result, list) else []
        return [_posting(job, located.board) for job in jobs if isinstance(job, dict)]


def _place(location: Any) -> str:
    if not isinstance(location, dict):
        return text(location)
    parts = [text(location.get(k)) for k in ("city", "state", "addressCountry", "country")]
    return ", ".join(p for p in parts if p)


def _remote(job: dict[str, Any]) -> RemoteKind:
    kind = _LOCATION_TYPES.get(text(job.get("locationType")), RemoteKind.UNKNOWN)
    if kind is RemoteKind.UNKNOWN and boolean(job.get("isRemote")):
        return RemoteKind.REMOTE
    return kind


def _posting(job: dict[str, Any], board: str) -> Posting:
    job_id = text(job.get("id"))
    place = _place(job.get("atsLocation")) or _place(job.get("location"))
    compensation = text(job.get("compensation"))
    return build_posting(
        kind=BambooHRSource.kind,
        source_id=f"{board}:{job_id}",
        url=web_url(job.get("jobOpeningShareUrl"))
        or f"https://{board}.bamboohr.com/careers/{job_id}",
        title=text(job.get("jobOpeningName")),
        department=text(job.get("departmentLabel")),
        locations=[place] if place else [],
        description_html=[
            html_of(job.get("description")),
            f"<p>Compensation: {compensation}</p>" if compensation else "",
        ],
        remote_hint=_remote(job),
        remote_field="locationType field",
        employment_type=text(job.get("employmentStatusLabel")) or None,
        posted_at=parse_date(job.get("datePosted")),
    )
