"""Lever postings API: api.lever.co/v0/postings/{site}?mode=json.

Structured: ``salaryRange {currency, interval, min, max}``, ``workplaceType``
(real data says ``onsite`` where the docs say ``on-site``: both are accepted),
``categories`` (location, allLocations, department, commitment), and titled
``lists[]`` whose titles say which are requirements.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from monitor.model import PayPeriod, Posting, Salary
from monitor.sources.base import FetchedPage
from monitor.sources.common import (
    AtsSource,
    build_posting,
    parse_date,
    remote_from_word,
    salary_object,
    text,
    web_url,
)

_INTERVALS = {
    "per-year-salary": PayPeriod.YEAR, "per-month-salary": PayPeriod.MONTH,
    "per-week-salary": PayPeriod.WEEK, "per-day-wage": PayPeriod.DAY,
    "per-hour-wage": PayPeriod.HOUR, "one-time": None,
}  # fmt: skip


class LeverSource(AtsSource):
    """Lever job site (a board or one posting)."""

    kind: ClassVar[str] = "lever"
    title: ClassVar[str] = "Lever postings API (board or single posting)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "jobs.lever.co/{site}",
        "jobs.lever.co/{site}/{posting id}",
        "jobs.eu.lever.co/{site}[/{posting id}]",
        "api.lever.co/v0/postings/{site}[/{posting id}]",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(
            r"^https?://jobs\.(?P<host>eu\.)?lever\.co/(?P<board>[\w.-]+)/(?P<job>[0-9a-f-]{36})"
        ),
        re.compile(
            r"^https?://api\.(?P<host>eu\.)?lever\.co/v0/postings/(?P<board>[\w.-]+)/(?P<job>[0-9a-f-]{36})"
        ),
        re.compile(
            r"^https?://api\.(?P<host>eu\.)?lever\.co/v0/postings/(?P<board>[\w.-]+)/?(?:\?.*)?$"
        ),
        re.compile(r"^https?://jobs\.(?P<host>eu\.)?lever\.co/(?P<board>[\w.-]+)/?(?:\?.*)?$"),
    )

    def fetch_url(self, url: str) -> str:
        located = self._located(url)
        base = f"https://api.{located.host}lever.co/v0/postings/{located.board}"
        return f"{base}/{located.job}?mode=json" if located.job else f"{base}?mode=json"

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        data = self.json(page)
        board = self._located(url).board
        items = data if isinstance(data, list) else [data]
        return self.only([_posting(item, board) for item in items if isinstance(item, dict)], url)


def _posting(item: dict[str, Any], board: str) -> Posting:
    categories = item.get("categories") if isinstance(item.get("categories"), dict) else {}
    assert isinstance(categories, dict)
    locations = categories.get("allLocations") or [categories.get("location")]
    lists = [entry for entry in item.get("lists") or [] if isinstance(entry, dict)]
    list_html = "".join(
        f"<h3>{text(entry.get('text'))}</h3><ul>{entry.get('content') or ''}</ul>"
        for entry in lists
    )
    return build_posting(
        kind=LeverSource.kind,
        source_id=f"{board}:{item.get('id')}",
        url=web_url(item.get("hostedUrl")) or f"https://jobs.lever.co/{board}/{item.get('id')}",
        title=text(item.get("text")),
        department=text(categories.get("department")),
        locations=[text(loc) for loc in locations if text(loc)],
        description_html=[
            item.get("description") or "",
            list_html,
            item.get("salaryDescription") or "",
            item.get("additional") or "",
        ],
        salaries=_salary_range(item.get("salaryRange")),
        remote_hint=remote_from_word(item.get("workplaceType")),
        remote_field="workplaceType field",
        employment_type=text(categories.get("commitment")) or None,
        posted_at=parse_date(item.get("createdAt")),
    )


def _salary_range(value: Any) -> list[Salary]:
    return salary_object(value, period_key="interval", periods=_INTERVALS)
