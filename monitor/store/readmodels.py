"""The read side's values: the queries the pages, the API, the feeds and the ``status``
and ``history`` commands ask with, and the frozen rows they get back (``views.py``
runs the queries)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from monitor.model import Posting
from monitor.records import DaemonRecord

T = TypeVar("T")
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "pay": ("salary",),
    "salary": ("salary",),
    "remote": ("remote",),
    "requirements": ("requirements.minimum", "requirements.preferred"),
    "status": ("status",),
    "title": ("title",),
    "company": ("company",),
    "locations": ("locations",),
    "employment_type": ("employment_type",),
    "monitor": ("monitor",),
}
"""What a person filters changes by, and the stored fields each one means."""

WatchSort = Literal[
    "id", "title", "company", "status", "last_change", "last_check", "next_check", "failures"
]


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchQuery:
    search: str = ""
    status: str = ""  # open, closed, failing, paused, unseen
    company: str = ""
    kind: str = ""  # a source kind
    tag: str = ""
    sort: WatchSort = "id"
    descending: bool = False
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchRow:
    """A watch with its posting (or board) as the watches table shows it."""

    watch_id: int
    posting_id: int
    url: str
    source_kind: str
    role: str
    title: str
    company: str
    status: str
    paused: bool
    interval_seconds: int
    cron: str | None
    last_changed_at: datetime | None
    last_checked_at: datetime | None
    last_outcome: str | None
    last_error: str | None
    next_check_at: datetime
    consecutive_failures: int
    members: int = 0
    """A board: the postings found on it so far, open or closed."""
    members_open: int = 0
    current: Posting | None = None
    member_reads: str = "full"
    """A board's members setting: "full" (their jobs read where the list is thin) or "list"."""
    channels: tuple[str, ...] = ()
    render: str = "plain"
    filters: dict[str, Any] | None = None
    """A board's filters as stored (title, exclude_title, department, location)."""
    tags: tuple[str, ...] = ()
    unseen: bool = False
    """Changed since its page was last viewed."""
    origin: str = "cli"
    """config (the configuration file's watches: edited there) or cli (added otherwise)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True, kw_only=True)
class Slice(Generic[T]):
    """One keyset page: ``next_before`` is the cursor of the next (older) page."""

    items: tuple[T, ...]
    next_before: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeQuery:
    fields: tuple[str, ...] = ()  # stored field names (see FIELD_GROUPS)
    kind: str = ""
    company: str = ""
    watch_id: int | None = None
    posting_id: int | None = None
    board_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeRow:
    id: int
    posting_id: int
    snapshot_id: int
    detected_at: datetime
    field: str
    kind: str
    old: str | None
    new: str | None
    summary: str
    percent: Decimal | None
    """Pay: the largest move of min or max, signed."""
    title: str
    company: str
    url: str
    watch_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PostingQuery:
    status: str = ""
    company: str = ""
    watch_id: int | None = None
    board_id: int | None = None
    source_kind: str = ""
    search: str = ""
    before: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class PostingRow:
    id: int
    watch_id: int
    board_id: int | None
    role: str
    source_kind: str
    source_id: str
    url: str
    title: str
    company: str
    status: str
    created_at: datetime
    last_checked_at: datetime | None
    last_changed_at: datetime | None
    next_check_at: datetime
    consecutive_failures: int
    current: Posting | None = None
    reposted_from: int | None = None
    last_outcome: str | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionRow:
    snapshot_id: int
    captured_at: datetime
    posting: Posting
    data: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryView:
    """A posting with every version and change it has, oldest first."""

    posting: PostingRow
    versions: tuple[VersionRow, ...]
    changes: tuple[ChangeRow, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRow:
    id: int
    posting_id: int
    channel: str
    title: str
    status: str
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    created_at: datetime
    claimed_by: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenCount:
    """A board's open postings on one day, and what moved that day."""

    day: str
    open: int
    new: int
    closed: int
    reopened: int


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthView:
    processes: tuple[DaemonRecord, ...]
    outcomes: dict[str, int]
    paused_hosts: tuple[tuple[str, datetime], ...]
    alerts: dict[str, int]
    watches: int
    postings: int
    failing: int


def open_counts(
    firsts: Sequence[datetime],
    events: Sequence[tuple[datetime, str]],
    *,
    baselined_at: datetime | None,
) -> list[OpenCount]:
    """Pure: per day, how many postings were open at its end and how many were new,
    closed or reopened that day (postings present at the board's first read are not
    'new')."""
    days: dict[str, Counter[str]] = defaultdict(Counter)
    for first in firsts:
        there_at_first_read = baselined_at is not None and first <= baselined_at
        days[first.date().isoformat()]["present" if there_at_first_read else "new"] += 1
    for moment, kind in events:
        if kind in ("closed", "reopened"):
            days[moment.date().isoformat()][kind] += 1
    result: list[OpenCount] = []
    open_now = 0
    for day in sorted(days):
        moves = days[day]
        open_now += moves["present"] + moves["new"] + moves["reopened"] - moves["closed"]
        result.append(
            OpenCount(
                day=day,
                open=open_now,
                new=moves["new"],
                closed=moves["closed"],
                reopened=moves["reopened"],
            )
        )
    return result


def change_fields(groups: Sequence[str]) -> tuple[str, ...]:
    """Stored field names for what a person filters by ('pay', 'requirements', ...);
    an unknown name is taken as a stored field name."""
    return tuple(dict.fromkeys(f for g in groups for f in FIELD_GROUPS.get(g, (g,))))


__all__ = [
    "AlertRow",
    "ChangeQuery",
    "ChangeRow",
    "FIELD_GROUPS",
    "HealthView",
    "HistoryView",
    "OpenCount",
    "Page",
    "PostingQuery",
    "PostingRow",
    "Slice",
    "VersionRow",
    "WatchQuery",
    "WatchRow",
    "change_fields",
    "open_counts",
]
