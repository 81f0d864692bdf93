"""Read-only queries for the dashboard, the JSON API, the feeds and the ``status`` and
``history`` commands; the values they take and return are in ``readmodels.py``, the
SQL pieces they share in ``readqueries.py``.

Every list the pages and the API show is a page: offset pages (with a total) for the
watches table people sort and jump around in, keyset pages (``before`` an id, newest
first) for the feeds of changes, postings and alerts, which grow without bound. None
of them reads a whole table: the watches page at 30,000 watches and the changes feed
at a million changes are measured in ``bench/web.py``. Only the commands' reads are
whole: ``all_watches`` (every active watch) and ``history`` (one posting's versions).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, Text, case, cast, func, or_, select
from sqlalchemy.engine import Connection, Engine

from monitor.errors import NotFound
from monitor.model import Posting
from monitor.store.db import Database
from monitor.store.postings import NOTHING_NEW
from monitor.store.readmodels import (
    AlertRow,
    ChangeQuery,
    ChangeRow,
    HealthView,
    HistoryView,
    OpenCount,
    Page,
    PostingQuery,
    PostingRow,
    Slice,
    VersionRow,
    WatchQuery,
    WatchRow,
    open_counts,
)
from monitor.store.readqueries import (
    ALERT_COLUMNS,
    CHANGE_POSTING_COLUMNS,
    UNSEEN,
    WATCH_COLUMNS,
    WATCH_SORTS,
    board_members,
    change_conditions,
    change_row,
    current_postings,
    posting_conditions,
    posting_row,
    version_row,
    watch_filter,
    watch_row,
)
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


class Views:
    """Queries over the store for people looking at it; no writes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def engine(self) -> Engine:
        return self._db.engine

    @property
    def _sqlite(self) -> bool:
        return self._db.engine.dialect.name == "sqlite"

    # -- watches -----------------------------------------------------------------------

    def watches(self, query: WatchQuery) -> Page[WatchRow]:
        per_page = max(1, min(query.per_page, MAX_PAGE))
        page = max(1, query.page)
        base = watch_filter(query)
        column = WATCH_SORTS[query.sort]
        order = column.desc() if query.descending else column.asc()
        nulls = order.nulls_last()
        # The page's ids first, then its rows: the per-row columns (the unseen test, the
        # snapshot) are worked out for the page's rows only, not for every row sorted.
        page_ids = base.order_by(nulls, watches.c.id).limit(per_page).offset((page - 1) * per_page)
        # A search tests every row's title, company and address: its total comes with
        # the page's ids (a window count over that one scan), not from a second scan.
        # Without one, counting is cheap and the first page's ids come from an index in
        # order, which a window over every row would give up.
        counted = bool(query.search)
        if counted:
            page_ids = page_ids.add_columns(func.count().over().label("total"))
        with self._db.read() as conn:
            found = conn.execute(page_ids).all()
            if counted and found:
                total = int(found[0].total)
            elif counted and page == 1:
                total = 0  # nothing matched
            else:
                total = self._count(conn, base)
            ids = [r.watch_id for r in found]
            listing = (
                watch_filter(WatchQuery())
                .add_columns(*WATCH_COLUMNS)
                .where(watches.c.id.in_(ids))
                .order_by(nulls, watches.c.id)
            )
            rows = conn.execute(listing).all() if ids else []
            current = current_postings(conn, [r.current_snapshot_id for r in rows])
            members = board_members(conn, [r.posting_id for r in rows if r.role == "board"])
        items = tuple(
            watch_row(row, current.get(row.current_snapshot_id), members.get(row.posting_id))
            for row in rows
        )
        return Page(items=items, total=total, page=page, per_page=per_page)

    @staticmethod
    def _count(conn: Connection, base: Select[Any]) -> int:
        return int(conn.scalar(select(func.count()).select_from(base.subquery())) or 0)

    def watch(self, watch_id: int) -> WatchRow:
        with self._db.read() as conn:
            row = conn.execute(
                watch_filter(WatchQuery())
                .add_columns(*WATCH_COLUMNS)
                .where(watches.c.id == watch_id)
            ).first()
            if row is None:
                raise NotFound(f"no watch {watch_id}")
            current = current_postings(conn, [row.current_snapshot_id])
            members = board_members(conn, [row.posting_id] if row.role == "board" else [])
        return watch_row(row, current.get(row.current_snapshot_id), members.get(row.posting_id))

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
            watch_filter(WatchQuery())
            .add_columns(*WATCH_COLUMNS, found.c.found, found.c.open)
            .outerjoin(found, found.c.board_id == postings.c.id)
            .order_by(watches.c.id)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [watch_row(row, None, (int(row.found or 0), int(row.open or 0))) for row in rows]

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

    def unseen_count(self) -> int:
        """Active watches with changes not yet viewed (the nav's count)."""
        count = select(func.count()).where(watches.c.removed_at.is_(None), UNSEEN)
        with self._db.read() as conn:
            return int(conn.execute(count).scalar_one())

    def tags(self) -> list[str]:
        """Every tag active watches have, sorted."""
        # Most watches have none: leave those to the database rather than decoding them.
        tagged = cast(watches.c.tags, Text).not_in(("[]", "null"))
        read = select(watches.c.tags).where(watches.c.removed_at.is_(None), tagged)
        with self._db.read() as conn:
            return sorted({tag for tags in conn.execute(read).scalars() for tag in tags or ()})

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
            .where(*posting_conditions(query))
            .order_by(postings.c.id.desc())
            .limit(limit + 1)
        )
        with self._db.read() as conn:
            rows = conn.execute(listing).all()
        items = tuple(posting_row(row) for row in rows[:limit])
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
        return posting_row(row)

    def failing_since(self, posting_id: int, failures: int) -> datetime | None:
        """When the posting's current run of ``failures`` failed checks began: the
        ``failures``-th newest failed check in the log (checks that find nothing new
        are not logged, so the run is counted back, not looked up). None when not
        failing, or when the log no longer holds it (pruned)."""
        if failures < 1:
            return None
        nth = (
            select(check_log.c.checked_at)
            .where(check_log.c.posting_id == posting_id, check_log.c.outcome == "error")
            .order_by(check_log.c.checked_at.desc(), check_log.c.id.desc())
            .offset(failures - 1)
            .limit(1)
        )
        with self._db.read() as conn:
            since: datetime | None = conn.execute(nth).scalar_one_or_none()
        return since

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
        return [version_row(row) for row in reversed(rows)]

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
                select(changes, *CHANGE_POSTING_COLUMNS)
                .select_from(changes.join(postings, postings.c.id == changes.c.posting_id))
                .where(changes.c.posting_id == row.id)
                .order_by(changes.c.id)
            ).all()
        return HistoryView(
            posting=posting_row(row),
            versions=tuple(version_row(v) for v in versions),
            changes=tuple(change_row(c) for c in changed),
        )

    def version(self, posting_id: int, snapshot_id: int) -> VersionRow:
        query = select(snapshots.c.id, snapshots.c.captured_at, snapshots.c.data).where(
            snapshots.c.id == snapshot_id, snapshots.c.posting_id == posting_id
        )
        with self._db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"posting {posting_id} has no version {snapshot_id}")
        return version_row(row)

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
            select(changes, *CHANGE_POSTING_COLUMNS)
            .select_from(changes.join(postings, postings.c.id == changes.c.posting_id))
            .where(*change_conditions(query, bound_since=self._sqlite))
            .order_by(changes.c.id.desc())
            .limit(limit + 1)
        )
        with self._db.read() as conn:
            rows = conn.execute(listing).all()
        items = tuple(change_row(row) for row in rows[:limit])
        return Slice(items=items, next_before=items[-1].id if len(rows) > limit else None)

    # -- alerts ------------------------------------------------------------------------

    def alerts(
        self, *, status: str = "", before: int | None = None, limit: int = 50
    ) -> Slice[AlertRow]:
        limit = max(1, min(limit, MAX_PAGE))
        listing = select(*ALERT_COLUMNS).order_by(outbox.c.id.desc()).limit(limit + 1)
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
            row = conn.execute(select(*ALERT_COLUMNS).where(outbox.c.id == alert_id)).first()
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        return AlertRow(**row._mapping)

    def alert_counts(self) -> dict[str, int]:
        query = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        with self._db.read() as conn:
            return {status: int(n) for status, n in conn.execute(query)}

    # -- health ------------------------------------------------------------------------

    def checking(self, *, since: datetime) -> bool:
        """Whether a daemon or worker is running (it beat at ``since`` or later)."""
        query = (
            select(daemons.c.id)
            .where(daemons.c.stopped_at.is_(None), daemons.c.beat_at >= since)
            .limit(1)
        )
        with self._db.read() as conn:
            return conn.execute(query).first() is not None

    def health(self, *, now: datetime, since: datetime) -> HealthView:
        recent = (
            select(check_log.c.outcome, func.count())
            .where(check_log.c.checked_at >= since)
            .group_by(check_log.c.outcome)
        )
        # Checks that find nothing new are not logged one by one (a row each would
        # double the writes): each posting whose latest check, in the window, found
        # nothing new counts once (W13: otherwise a healthy monitor looks idle).
        quiet = (
            select(postings.c.last_outcome, func.count())
            .where(
                postings.c.last_checked_at >= since,
                postings.c.last_outcome.in_([o.value for o in NOTHING_NEW]),
            )
            .group_by(postings.c.last_outcome)
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
            for outcome, n in conn.execute(quiet):
                outcomes[outcome] = outcomes.get(outcome, 0) + int(n)
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


__all__ = ["Views"]
