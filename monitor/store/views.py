"""Read-only queries for the dashboard, the JSON API and the feeds.

Every list is a page: offset pages (with a total) for the watches table people sort
and jump around in, keyset pages (``before`` an id, newest first) for the feeds of
changes, postings and alerts, which grow without bound. Nothing here reads a whole
table: the watches page at 30,000 watches and the changes feed at a million changes
are measured in ``bench/web.py``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.engine import Connection, Engine, Row

from monitor.errors import NotFound
from monitor.model import Posting
from monitor.records import DaemonRecord
from monitor.store.db import Database
from monitor.store.rows import daemon_record, ref_clause
from monitor.store.tables import (
    changes,
    check_log,
    daemons,
    host_pacing,
    outbox,
    postings,
    snapshots,
    watches,
)

MAX_PAGE = 200
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
_WATCH_SORTS: dict[str, Any] = {
    "id": watches.c.id,
    "title": postings.c.title,
    "company": postings.c.company,
    "status": postings.c.status,
    "last_change": postings.c.last_changed_at,
    "last_check": postings.c.last_checked_at,
    "next_check": postings.c.next_check_at,
    "failures": postings.c.consecutive_failures,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchQuery:
    search: str = ""
    status: str = ""  # open, closed, failing, paused
    company: str = ""
    kind: str = ""  # a source kind
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


class Views:
    """Queries over the store for people looking at it; no writes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def engine(self) -> Engine:
        return self._db.engine

    # -- watches -----------------------------------------------------------------------

    def watches(self, query: WatchQuery) -> Page[WatchRow]:
        per_page = max(1, min(query.per_page, MAX_PAGE))
        page = max(1, query.page)
        base = _watch_filter(query)
        column = _WATCH_SORTS[query.sort]
        order = column.desc() if query.descending else column.asc()
        nulls = order.nulls_last()
        listing = (
            base.add_columns(*_WATCH_COLUMNS)
            .order_by(nulls, watches.c.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        with self._db.read() as conn:
            total = int(conn.scalar(select(func.count()).select_from(base.subquery())) or 0)
            rows = conn.execute(listing).all()
            current = _current_postings(conn, [r.current_snapshot_id for r in rows])
            members = _members(conn, [r.posting_id for r in rows if r.role == "board"])
        items = tuple(
            _watch_row(row, current.get(row.current_snapshot_id), members.get(row.posting_id))
            for row in rows
        )
        return Page(items=items, total=total, page=page, per_page=per_page)

    def watch(self, watch_id: int) -> WatchRow:
        with self._db.read() as conn:
            row = conn.execute(
                _watch_filter(WatchQuery())
                .add_columns(*_WATCH_COLUMNS)
                .where(watches.c.id == watch_id)
            ).first()
            if row is None:
                raise NotFound(f"no watch {watch_id}")
            current = _current_postings(conn, [row.current_snapshot_id])
            members = _members(conn, [row.posting_id] if row.role == "board" else [])
        return _watch_row(row, current.get(row.current_snapshot_id), members.get(row.posting_id))

    def all_watches(self) -> list[WatchRow]:
        """Every active watch in id order, without its current version: the ``status``
        command's table (the pages page through ``watches``)."""
        found = (
            select(
                postings.c.board_id,
                func.count().label("found"),
                func.sum(case((postings.c.status == "open", 1), else_=0)).label("open"),
            )
            .where(postings.c.board_id.is_not(None))
            .group_by(postings.c.board_id)
            .subquery()
        )
        query = (
            _watch_filter(WatchQuery())
            .add_columns(*_WATCH_COLUMNS, found.c.found, found.c.open)
            .outerjoin(found, found.c.board_id == postings.c.id)
            .order_by(watches.c.id)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [_watch_row(row, None, (int(row.found or 0), int(row.open or 0))) for row in rows]

    def companies(self, limit: int = 500) -> list[str]:
        query = (
            select(postings.c.company)
            .where(postings.c.company != "")
            .group_by(postings.c.company)
            .order_by(postings.c.company)
            .limit(limit)
        )
        with self._db.read() as conn:
            return list(conn.scalars(query))

    def source_kinds(self) -> list[str]:
        query = select(watches.c.source_kind).group_by(watches.c.source_kind)
        with self._db.read() as conn:
            return sorted(conn.scalars(query))

    # -- postings ----------------------------------------------------------------------

    def postings(self, query: PostingQuery) -> Slice[PostingRow]:
        limit = max(1, min(query.limit, MAX_PAGE))
        listing = (
            select(postings, snapshots.c.data.label("current_data"))
            .select_from(
                postings.outerjoin(snapshots, snapshots.c.id == postings.c.current_snapshot_id)
            )
            .where(*_posting_conditions(query))
            .order_by(postings.c.id.desc())
            .limit(limit + 1)
        )
        with self._db.read() as conn:
            rows = conn.execute(listing).all()
        items = tuple(_posting_row(row) for row in rows[:limit])
        return Slice(items=items, next_before=items[-1].id if len(rows) > limit else None)

    def posting(self, posting_id: int) -> PostingRow:
        query = (
            select(postings, snapshots.c.data.label("current_data"))
            .select_from(
                postings.outerjoin(snapshots, snapshots.c.id == postings.c.current_snapshot_id)
            )
            .where(postings.c.id == posting_id)
        )
        with self._db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no posting {posting_id}")
        return _posting_row(row)

    def versions(self, posting_id: int, *, limit: int = 500) -> list[VersionRow]:
        """A posting's versions, oldest first (the newest ``limit`` of them)."""
        query = (
            select(snapshots.c.id, snapshots.c.captured_at, snapshots.c.data)
            .where(snapshots.c.posting_id == posting_id)
            .order_by(snapshots.c.id.desc())
            .limit(limit)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [_version(row) for row in reversed(rows)]

    def history(self, ref: str) -> HistoryView:
        """A posting (by id, URL or source id) with all its versions and changes, oldest
        first: the ``history`` command's (the pages page through ``versions`` and
        ``changes``)."""
        found = (
            select(postings, snapshots.c.data.label("current_data"))
            .select_from(
                postings.join(watches, watches.c.id == postings.c.watch_id).outerjoin(
                    snapshots, snapshots.c.id == postings.c.current_snapshot_id
                )
            )
            .where(or_(ref_clause(postings, ref), postings.c.source_id == ref))
        )
        with self._db.read() as conn:
            row = conn.execute(found).first()
            if row is None:
                raise NotFound(f"no posting {ref!r} (see 'posting-monitor watch list')")
            versions = conn.execute(
                select(snapshots.c.id, snapshots.c.captured_at, snapshots.c.data)
                .where(snapshots.c.posting_id == row.id)
                .order_by(snapshots.c.id)
            ).all()
            changed = conn.execute(
                select(changes, *_CHANGE_POSTING_COLUMNS)
                .select_from(changes.join(postings, postings.c.id == changes.c.posting_id))
                .where(changes.c.posting_id == row.id)
                .order_by(changes.c.id)
            ).all()
        return HistoryView(
            posting=_posting_row(row),
            versions=tuple(_version(v) for v in versions),
            changes=tuple(_change_row(c) for c in changed),
        )

    def version(self, posting_id: int, snapshot_id: int) -> VersionRow:
        query = select(snapshots.c.id, snapshots.c.captured_at, snapshots.c.data).where(
            snapshots.c.id == snapshot_id, snapshots.c.posting_id == posting_id
        )
        with self._db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"posting {posting_id} has no version {snapshot_id}")
        return _version(row)

    # -- boards ------------------------------------------------------------------------

    def open_per_day(self, board_id: int) -> list[OpenCount]:
        """Open postings on the board per day since it was first read, from when each
        member was first seen and its closed/reopened changes."""
        members = select(postings.c.id).where(postings.c.board_id == board_id)
        moves = (
            select(changes.c.detected_at, changes.c.kind)
            .where(changes.c.posting_id.in_(members), changes.c.field == "status")
            .order_by(changes.c.detected_at)
        )
        with self._db.read() as conn:
            board = conn.execute(
                select(postings.c.baselined_at, postings.c.created_at).where(
                    postings.c.id == board_id
                )
            ).first()
            if board is None:
                raise NotFound(f"no board {board_id}")
            firsts = list(
                conn.scalars(
                    select(postings.c.created_at)
                    .where(postings.c.board_id == board_id)
                    .order_by(postings.c.created_at)
                )
            )
            events = [(row.detected_at, row.kind) for row in conn.execute(moves)]
        return open_counts(firsts, events, baselined_at=board.baselined_at)

    def open_members(self, board_id: int, *, limit: int = 5000) -> list[Posting]:
        """The current version of each open posting on a board (for its pay spread)."""
        query = (
            select(snapshots.c.data)
            .select_from(postings.join(snapshots, snapshots.c.id == postings.c.current_snapshot_id))
            .where(postings.c.board_id == board_id, postings.c.status == "open")
            .limit(limit)
        )
        with self._db.read() as conn:
            return [Posting.from_dict(data) for data in conn.scalars(query)]

    # -- changes -----------------------------------------------------------------------

    def changes(self, query: ChangeQuery) -> Slice[ChangeRow]:
        limit = max(1, min(query.limit, MAX_PAGE))
        listing = (
            select(changes, *_CHANGE_POSTING_COLUMNS)
            .select_from(changes.join(postings, postings.c.id == changes.c.posting_id))
            .where(*_change_conditions(query))
            .order_by(changes.c.id.desc())
            .limit(limit + 1)
        )
        with self._db.read() as conn:
            rows = conn.execute(listing).all()
        items = tuple(_change_row(row) for row in rows[:limit])
        return Slice(items=items, next_before=items[-1].id if len(rows) > limit else None)

    # -- alerts ------------------------------------------------------------------------

    def alerts(
        self, *, status: str = "", before: int | None = None, limit: int = 50
    ) -> Slice[AlertRow]:
        limit = max(1, min(limit, MAX_PAGE))
        listing = select(*_ALERT_COLUMNS).order_by(outbox.c.id.desc()).limit(limit + 1)
        if status:
            listing = listing.where(outbox.c.status == status)
        if before is not None:
            listing = listing.where(outbox.c.id < before)
        with self._db.read() as conn:
            rows = conn.execute(listing).all()
        items = tuple(AlertRow(**row._mapping) for row in rows[:limit])
        return Slice(items=items, next_before=items[-1].id if len(rows) > limit else None)

    def alert(self, alert_id: int) -> AlertRow:
        with self._db.read() as conn:
            row = conn.execute(select(*_ALERT_COLUMNS).where(outbox.c.id == alert_id)).first()
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        return AlertRow(**row._mapping)

    def alert_counts(self) -> dict[str, int]:
        query = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        with self._db.read() as conn:
            return {status: int(n) for status, n in conn.execute(query)}

    # -- health ------------------------------------------------------------------------

    def health(self, *, now: datetime, since: datetime) -> HealthView:
        recent = (
            select(check_log.c.outcome, func.count())
            .where(check_log.c.checked_at >= since)
            .group_by(check_log.c.outcome)
        )
        live = (
            select(daemons)
            .where(daemons.c.stopped_at.is_(None))
            .order_by(daemons.c.started_at.desc())
            .limit(100)
        )
        paused = (
            select(host_pacing.c.host, host_pacing.c.paused_until)
            .where(host_pacing.c.paused_until > now)
            .order_by(host_pacing.c.paused_until.desc())
            .limit(100)
        )
        active = watches.c.removed_at.is_(None)
        with self._db.read() as conn:
            outcomes = {o: int(n) for o, n in conn.execute(recent)}
            processes = tuple(daemon_record(row) for row in conn.execute(live))
            hosts = tuple((row.host, row.paused_until) for row in conn.execute(paused))
            watch_count = int(conn.scalar(select(func.count()).where(active)) or 0)
            posting_count = int(conn.scalar(select(func.count()).select_from(postings)) or 0)
            failing = int(
                conn.scalar(
                    select(func.count())
                    .select_from(postings)
                    .where(postings.c.consecutive_failures > 0)
                )
                or 0
            )
        return HealthView(
            processes=processes,
            outcomes=outcomes,
            paused_hosts=hosts,
            alerts=self.alert_counts(),
            watches=watch_count,
            postings=posting_count,
            failing=failing,
        )


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


_WATCH_COLUMNS = (
    watches.c.url,
    watches.c.interval_seconds,
    watches.c.cron,
    watches.c.paused_at,
    postings.c.id.label("posting_id"),
    postings.c.source_kind,
    postings.c.role,
    postings.c.title,
    postings.c.company,
    postings.c.status,
    postings.c.current_snapshot_id,
    postings.c.last_changed_at,
    postings.c.last_checked_at,
    postings.c.last_outcome,
    postings.c.last_error,
    postings.c.next_check_at,
    postings.c.consecutive_failures,
)

_CHANGE_POSTING_COLUMNS = (
    postings.c.title,
    postings.c.company,
    postings.c.url,
    postings.c.watch_id,
)

_ALERT_COLUMNS = (
    outbox.c.id,
    outbox.c.posting_id,
    outbox.c.channel,
    outbox.c.title,
    outbox.c.status,
    outbox.c.attempts,
    outbox.c.next_attempt_at,
    outbox.c.sent_at,
    outbox.c.last_error,
    outbox.c.created_at,
    outbox.c.claimed_by,
)


def _watch_filter(query: WatchQuery) -> Select[Any]:
    base = (
        select(watches.c.id.label("watch_id"))
        .select_from(watches.join(postings, postings.c.watch_id == watches.c.id))
        .where(watches.c.removed_at.is_(None), postings.c.role != "member")
    )
    if query.search:
        pattern = f"%{_escape_like(query.search.lower())}%"
        base = base.where(
            or_(
                func.lower(postings.c.title).like(pattern, escape="\\"),
                func.lower(postings.c.company).like(pattern, escape="\\"),
                func.lower(watches.c.url).like(pattern, escape="\\"),
            )
        )
    if query.company:
        base = base.where(postings.c.company == query.company)
    if query.kind:
        base = base.where(watches.c.source_kind == query.kind)
    return base.where(*_watch_status(query.status))


def _watch_status(status: str) -> list[Any]:
    if status == "paused":
        return [watches.c.paused_at.is_not(None)]
    if status == "failing":
        return [postings.c.consecutive_failures > 0]
    if status in ("open", "closed"):
        return [postings.c.status == status, watches.c.paused_at.is_(None)]
    return []


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _posting_conditions(query: PostingQuery) -> list[Any]:
    conditions: list[Any] = []
    if query.status:
        conditions.append(postings.c.status == query.status)
    if query.company:
        conditions.append(postings.c.company == query.company)
    if query.watch_id is not None:
        conditions.append(postings.c.watch_id == query.watch_id)
    if query.board_id is not None:
        conditions.append(postings.c.board_id == query.board_id)
    if query.source_kind:
        conditions.append(postings.c.source_kind == query.source_kind)
    if query.search:
        pattern = f"%{_escape_like(query.search.lower())}%"
        conditions.append(func.lower(postings.c.title).like(pattern, escape="\\"))
    if query.before is not None:
        conditions.append(postings.c.id < query.before)
    return conditions


def _change_conditions(query: ChangeQuery) -> list[Any]:
    conditions: list[Any] = []
    if query.fields:
        conditions.append(changes.c.field.in_(query.fields))
    if query.kind:
        conditions.append(changes.c.kind == query.kind)
    if query.since is not None:
        conditions.append(changes.c.detected_at >= query.since)
    if query.until is not None:
        conditions.append(changes.c.detected_at < query.until)
    if query.before is not None:
        conditions.append(changes.c.id < query.before)
    if query.posting_id is not None:
        conditions.append(changes.c.posting_id == query.posting_id)
    if query.board_id is not None:
        conditions.append(
            or_(postings.c.board_id == query.board_id, postings.c.id == query.board_id)
        )
    # A company's or a watch's postings first, then their changes: scanning the
    # newest changes for a rare company reads the whole table.
    if query.company:
        conditions.append(
            changes.c.posting_id.in_(
                select(postings.c.id).where(postings.c.company == query.company)
            )
        )
    if query.watch_id is not None:
        conditions.append(
            changes.c.posting_id.in_(
                select(postings.c.id).where(postings.c.watch_id == query.watch_id)
            )
        )
    return conditions


def _current_postings(conn: Connection, snapshot_ids: Sequence[int | None]) -> dict[int, Posting]:
    wanted = [i for i in snapshot_ids if i is not None]
    if not wanted:
        return {}
    rows = conn.execute(select(snapshots.c.id, snapshots.c.data).where(snapshots.c.id.in_(wanted)))
    return {row.id: Posting.from_dict(row.data) for row in rows}


def _members(conn: Connection, board_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Per board: the postings found on it, and how many of them are open."""
    if not board_ids:
        return {}
    rows = conn.execute(
        select(
            postings.c.board_id,
            func.count(),
            func.sum(case((postings.c.status == "open", 1), else_=0)),
        )
        .where(postings.c.board_id.in_(list(board_ids)))
        .group_by(postings.c.board_id)
    )
    return {board: (int(n), int(n_open or 0)) for board, n, n_open in rows}


def _watch_row(row: Row[Any], current: Posting | None, members: tuple[int, int] | None) -> WatchRow:
    found, members_open = members or (0, 0)
    return WatchRow(
        watch_id=row.watch_id,
        posting_id=row.posting_id,
        url=row.url,
        source_kind=row.source_kind,
        role=row.role,
        title=row.title,
        company=row.company,
        status=row.status,
        paused=row.paused_at is not None,
        interval_seconds=row.interval_seconds,
        cron=row.cron,
        last_changed_at=row.last_changed_at,
        last_checked_at=row.last_checked_at,
        last_outcome=row.last_outcome,
        last_error=row.last_error,
        next_check_at=row.next_check_at,
        consecutive_failures=row.consecutive_failures,
        members=found,
        members_open=members_open,
        current=current,
    )


def _posting_row(row: Row[Any]) -> PostingRow:
    return PostingRow(
        id=row.id,
        watch_id=row.watch_id,
        board_id=row.board_id,
        role=row.role,
        source_kind=row.source_kind,
        source_id=row.source_id,
        url=row.url,
        title=row.title,
        company=row.company,
        status=row.status,
        created_at=row.created_at,
        last_checked_at=row.last_checked_at,
        last_changed_at=row.last_changed_at,
        next_check_at=row.next_check_at,
        consecutive_failures=row.consecutive_failures,
        current=Posting.from_dict(row.current_data) if row.current_data else None,
        reposted_from=row.reposted_from,
        last_outcome=row.last_outcome,
        last_error=row.last_error,
    )


def _version(row: Any) -> VersionRow:
    return VersionRow(
        snapshot_id=row.id,
        captured_at=row.captured_at,
        posting=Posting.from_dict(row.data),
        data=dict(row.data),
    )


def _change_row(row: Row[Any]) -> ChangeRow:
    # The query's columns are the row's fields (a change and its posting's title,
    # company, url and watch).
    return ChangeRow(**row._mapping)


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
    "Views",
    "WatchQuery",
    "WatchRow",
    "change_fields",
    "open_counts",
]
