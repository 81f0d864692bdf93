"""All SQL lives here: one class maps rows to domain values and back.

Every public method is one transaction. ``record`` writes a whole check
(posting state, snapshot, changes, outbox rows, check log) atomically, so a
crash between checking and delivering loses nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, func, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import NotFound, StoreError
from monitor.model import (
    Alert,
    BoardFilters,
    BoardResult,
    CheckOutcome,
    CheckResult,
    Delivery,
    NewMember,
    Posting,
    PostingStatus,
)
from monitor.store.tables import changes, check_log, outbox, postings, snapshots, watches


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchRecord:
    id: int
    url: str
    source_kind: str
    interval: timedelta
    channels: tuple[str, ...]
    origin: str
    created_at: datetime
    removed_at: datetime | None
    filters: BoardFilters | None = None
    """Set for board watches."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchSpec:
    """What a user asked to watch, before it has a row."""

    url: str
    source_kind: str
    source_id: str
    interval: timedelta
    channels: tuple[str, ...] = ()
    is_board: bool = False
    filters: BoardFilters = field(default_factory=BoardFilters)


@dataclass(frozen=True, slots=True, kw_only=True)
class PostingState:
    """A posting as the check needs it: identity, validators and the current version."""

    id: int
    watch_id: int
    source_kind: str
    source_id: str
    url: str
    title: str
    status: PostingStatus
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    current: Posting | None
    consecutive_failures: int
    gone_count: int
    interval: timedelta
    channels: tuple[str, ...]
    next_check_at: datetime
    last_checked_at: datetime | None
    last_outcome: str | None
    last_error: str | None
    role: str = "single"
    watch_url: str = ""
    board_id: int | None = None
    baselined_at: datetime | None = None
    filters: BoardFilters = field(default_factory=BoardFilters)


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedAlert:
    id: int
    posting_id: int
    channel: str
    alert: Alert
    attempts: int
    status: str
    last_error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Version:
    snapshot_id: int
    captured_at: datetime
    posting: Posting


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeRecord:
    snapshot_id: int
    detected_at: datetime
    field: str
    kind: str
    old: str | None
    new: str | None
    summary: str


@dataclass(frozen=True, slots=True, kw_only=True)
class History:
    posting: PostingState
    versions: tuple[Version, ...]
    changes: tuple[ChangeRecord, ...]


class Repository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {exc.__class__.__name__}: {_short(exc)}") from exc

    # -- watches ---------------------------------------------------------------------

    def add_watch(self, spec: WatchSpec, *, origin: str, now: datetime) -> WatchRecord:
        """Create a watch (or revive a removed one) with its posting, due now."""
        with self._transaction() as conn:
            return self._upsert_watch(conn, spec, origin=origin, now=now)

    def sync_config_watches(self, specs: Sequence[WatchSpec], *, now: datetime) -> None:
        """Make the config's watches active and retire config watches no longer listed."""
        with self._transaction() as conn:
            for spec in specs:
                self._upsert_watch(conn, spec, origin="config", now=now)
            listed = [s.url for s in specs]
            conn.execute(
                update(watches)
                .where(watches.c.origin == "config", watches.c.removed_at.is_(None))
                .where(watches.c.url.not_in(listed))
                .values(removed_at=now)
            )

    def _upsert_watch(
        self, conn: Connection, spec: WatchSpec, *, origin: str, now: datetime
    ) -> WatchRecord:
        values = {
            "source_kind": spec.source_kind,
            "interval_seconds": int(spec.interval.total_seconds()),
            "channels": list(spec.channels),
            "origin": origin,
            "removed_at": None,
            "filters": spec.filters.to_dict() if spec.is_board else None,
        }
        row = conn.execute(select(watches).where(watches.c.url == spec.url)).first()
        if row is None:
            watch_id = conn.execute(
                insert(watches).values(url=spec.url, created_at=now, **values)
            ).inserted_primary_key[0]  # type: ignore[index]
        else:
            watch_id = row.id
            conn.execute(update(watches).where(watches.c.id == watch_id).values(**values))
        self._ensure_posting(conn, watch_id, spec, now)
        return _watch(conn.execute(select(watches).where(watches.c.id == watch_id)).one())

    def _ensure_posting(
        self, conn: Connection, watch_id: int, spec: WatchSpec, now: datetime
    ) -> None:
        key = and_(
            postings.c.source_kind == spec.source_kind, postings.c.source_id == spec.source_id
        )
        existing = conn.execute(select(postings.c.id).where(key)).first()
        if existing is None:
            conn.execute(
                insert(postings).values(
                    watch_id=watch_id,
                    source_kind=spec.source_kind,
                    source_id=spec.source_id,
                    url=spec.url,
                    title="",
                    status=PostingStatus.OPEN.value,
                    next_check_at=now,
                    consecutive_failures=0,
                    gone_count=0,
                    created_at=now,
                    role="board" if spec.is_board else "single",
                )
            )
        else:
            conn.execute(update(postings).where(key).values(watch_id=watch_id))

    def list_watches(self, *, include_removed: bool = False) -> list[WatchRecord]:
        query = select(watches).order_by(watches.c.id)
        if not include_removed:
            query = query.where(watches.c.removed_at.is_(None))
        with self._transaction() as conn:
            return [_watch(row) for row in conn.execute(query)]

    def remove_watch(self, ref: str, *, now: datetime) -> WatchRecord:
        """Stop watching; history is kept and comes back if the URL is added again."""
        with self._transaction() as conn:
            row = conn.execute(
                select(watches).where(_ref_clause(watches, ref), watches.c.removed_at.is_(None))
            ).first()
            if row is None:
                raise NotFound(f"no active watch {ref!r} (see 'posting-monitor watch list')")
            conn.execute(update(watches).where(watches.c.id == row.id).values(removed_at=now))
            return _watch(row)

    # -- postings and checks ---------------------------------------------------------

    def claim_due(self, *, now: datetime, limit: int, lease: timedelta) -> list[PostingState]:
        """Lease up to ``limit`` due postings so no other worker checks them meanwhile."""
        return self._claim(now=now, lease=lease, limit=limit, due_only=True)

    def claim_all(self, *, now: datetime, lease: timedelta) -> list[PostingState]:
        """Lease every active posting not already leased (for one full pass)."""
        return self._claim(now=now, lease=lease, limit=None, due_only=False)

    def _claim(
        self, *, now: datetime, lease: timedelta, limit: int | None, due_only: bool
    ) -> list[PostingState]:
        query = (
            _state_query()
            .where(postings.c.role != "member")
            .where(or_(postings.c.lease_until.is_(None), postings.c.lease_until < now))
            .order_by(postings.c.next_check_at, postings.c.id)
            .limit(limit)
        )
        if due_only:
            query = query.where(postings.c.next_check_at <= now)
        with self._transaction() as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(of=postings, skip_locked=True)
            rows = conn.execute(query).all()
            ids = [row.id for row in rows]
            if ids:
                conn.execute(
                    update(postings).where(postings.c.id.in_(ids)).values(lease_until=now + lease)
                )
            return [_state(conn, row) for row in rows]

    def get_posting(self, ref: str) -> PostingState:
        """A posting by id, URL or source id."""
        with self._transaction() as conn:
            row = conn.execute(
                _state_query(active_only=False).where(
                    or_(_ref_clause(postings, ref), postings.c.source_id == ref)
                )
            ).first()
            if row is None:
                raise NotFound(f"no posting {ref!r} (see 'posting-monitor watch list')")
            return _state(conn, row)

    def record(self, result: CheckResult, *, deliveries: Sequence[Delivery] = ()) -> None:
        """Write one check's outcome, version, changes and alerts in one transaction."""
        with self._transaction() as conn:
            self._record_in(conn, result, deliveries)

    def record_board(
        self,
        result: BoardResult,
        *,
        board_id: int,
        deliveries: Mapping[int, Sequence[Delivery]] | None = None,
        new_deliveries: Sequence[Sequence[Delivery]] = (),
    ) -> None:
        """Write a board check, its postings' results and new postings in one transaction.

        ``deliveries`` maps a followed posting's id (the board's own id for notices about
        the board) to its alerts; ``new_deliveries`` lines up with ``result.new_members``.
        """
        deliveries = deliveries or {}
        with self._transaction() as conn:
            self._record_in(conn, result.board, deliveries.get(board_id, ()))
            if result.board.outcome is not CheckOutcome.ERROR:
                conn.execute(
                    update(postings)
                    .where(postings.c.id == board_id, postings.c.baselined_at.is_(None))
                    .values(baselined_at=result.board.checked_at)
                )
            for member in result.members:
                self._record_in(conn, member, deliveries.get(member.posting_id, ()))
            for index, new in enumerate(result.new_members):
                posting_id = self._insert_member(
                    conn, new, board_id=board_id, now=result.board.checked_at
                )
                alerts = new_deliveries[index] if index < len(new_deliveries) else ()
                self._record_in(conn, _new_member_result(new, posting_id, result.board), alerts)

    def _insert_member(
        self, conn: Connection, new: NewMember, *, board_id: int, now: datetime
    ) -> int:
        key = and_(
            postings.c.source_kind == new.posting.source_kind,
            postings.c.source_id == new.posting.source_id,
        )
        existing = conn.execute(select(postings.c.id).where(key)).first()
        if existing is not None:
            return int(existing.id)
        watch_id = conn.scalar(select(postings.c.watch_id).where(postings.c.id == board_id))
        inserted = conn.execute(
            insert(postings).values(
                watch_id=watch_id,
                source_kind=new.posting.source_kind,
                source_id=new.posting.source_id,
                url=new.posting.url,
                title=new.posting.title,
                status=PostingStatus.OPEN.value,
                next_check_at=now,
                consecutive_failures=0,
                gone_count=0,
                created_at=now,
                role="member",
                board_id=board_id,
            )
        )
        return int(inserted.inserted_primary_key[0])  # type: ignore[index]

    def _record_in(
        self, conn: Connection, result: CheckResult, deliveries: Sequence[Delivery]
    ) -> None:
        current = conn.execute(
            select(postings.c.current_snapshot_id, snapshots.c.content_hash)
            .select_from(
                postings.outerjoin(snapshots, snapshots.c.id == postings.c.current_snapshot_id)
            )
            .where(postings.c.id == result.posting_id)
        ).one()
        snapshot_id = current.current_snapshot_id
        new_version = (
            result.snapshot is not None and result.snapshot.content_hash() != current.content_hash
        )
        if new_version:
            snapshot_id = self._insert_snapshot(conn, result)
            self._insert_changes(conn, result, snapshot_id)
        # A change alert belongs to the version it reports; notices stand on their own.
        self._enqueue(conn, result, snapshot_id, [d for d in deliveries if d.notice or new_version])
        conn.execute(
            update(postings)
            .where(postings.c.id == result.posting_id)
            .values(**_state_values(result), current_snapshot_id=snapshot_id)
        )
        conn.execute(
            insert(check_log).values(
                posting_id=result.posting_id,
                checked_at=result.checked_at,
                outcome=result.outcome.value,
                http_status=result.http_status,
                latency_ms=result.latency_ms,
                error=result.error,
            )
        )

    def members_of(self, board_id: int) -> list[PostingState]:
        """The postings found on a board so far, open or closed."""
        with self._transaction() as conn:
            rows = conn.execute(
                _state_query(active_only=False)
                .where(postings.c.board_id == board_id)
                .order_by(postings.c.id)
            ).all()
            return [_state(conn, row) for row in rows]

    def _insert_snapshot(self, conn: Connection, result: CheckResult) -> int:
        assert result.snapshot is not None
        inserted = conn.execute(
            insert(snapshots).values(
                posting_id=result.posting_id,
                content_hash=result.snapshot.content_hash(),
                data=result.snapshot.to_dict(),
                captured_at=result.checked_at,
            )
        )
        return int(inserted.inserted_primary_key[0])  # type: ignore[index]

    def _insert_changes(self, conn: Connection, result: CheckResult, snapshot_id: int) -> None:
        if not result.changes:
            return
        conn.execute(
            insert(changes),
            [
                {
                    "posting_id": result.posting_id,
                    "snapshot_id": snapshot_id,
                    "detected_at": result.checked_at,
                    "field": c.field,
                    "kind": c.kind.value,
                    "old": c.old,
                    "new": c.new,
                    "summary": c.summary,
                }
                for c in result.changes
            ],
        )

    def _enqueue(
        self,
        conn: Connection,
        result: CheckResult,
        snapshot_id: int | None,
        deliveries: Sequence[Delivery],
    ) -> None:
        """Queue each delivery once: the dedupe key makes a repeated write a no-op."""
        keyed = {_dedupe_key(result, snapshot_id, d): d for d in deliveries}
        if not keyed:
            return
        present = set(
            conn.scalars(select(outbox.c.dedupe_key).where(outbox.c.dedupe_key.in_(list(keyed))))
        )
        rows = [
            {
                "dedupe_key": key,
                "posting_id": result.posting_id,
                "snapshot_id": None if d.notice else snapshot_id,
                "channel": d.channel,
                "title": d.alert.title,
                "body_text": d.alert.body_text,
                "body_markdown": d.alert.body_markdown,
                "body_html": d.alert.body_html,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": result.checked_at,
                "created_at": result.checked_at,
            }
            for key, d in keyed.items()
            if key not in present
        ]
        if rows:
            conn.execute(insert(outbox), rows)

    # -- outbox ----------------------------------------------------------------------

    def due_alerts(
        self,
        *,
        now: datetime,
        limit: int = 100,
        skip_channels: Collection[str] = (),
        only_channel: str | None = None,
    ) -> list[QueuedAlert]:
        query = (
            select(outbox)
            .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        if skip_channels:
            query = query.where(outbox.c.channel.not_in(list(skip_channels)))
        if only_channel is not None:
            query = query.where(outbox.c.channel == only_channel)
        with self._transaction() as conn:
            return [_queued(row) for row in conn.execute(query)]

    def alerts(self, *, status: str | None = None) -> list[QueuedAlert]:
        query = select(outbox).order_by(outbox.c.id)
        if status is not None:
            query = query.where(outbox.c.status == status)
        with self._transaction() as conn:
            return [_queued(row) for row in conn.execute(query)]

    def mark_sent(self, alert_id: int, *, now: datetime) -> None:
        with self._transaction() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == alert_id)
                .values(status="sent", sent_at=now, attempts=outbox.c.attempts + 1, last_error=None)
            )

    def mark_many_sent(self, alert_ids: Sequence[int], *, now: datetime) -> None:
        """A digest went out: every alert in it is sent."""
        with self._transaction() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(alert_ids)))
                .values(status="sent", sent_at=now, attempts=outbox.c.attempts + 1, last_error=None)
            )

    def mark_many_failed(
        self, alert_ids: Sequence[int], *, error: str, retry_at: datetime | None
    ) -> None:
        for alert_id in alert_ids:
            self.mark_attempt_failed(alert_id, error=error, retry_at=retry_at)

    def retry_alerts(self, alert_ids: Sequence[int] = (), *, now: datetime) -> int:
        """Queue failed alerts again (the given ones, or every failed one); returns how many."""
        query = update(outbox).where(outbox.c.status == "failed")
        if alert_ids:
            query = query.where(outbox.c.id.in_(list(alert_ids)))
        with self._transaction() as conn:
            result = conn.execute(query.values(status="pending", attempts=0, next_attempt_at=now))
            return int(result.rowcount)

    def mark_attempt_failed(self, alert_id: int, *, error: str, retry_at: datetime | None) -> None:
        """Count a failed attempt; ``retry_at`` None means give up (status 'failed')."""
        values: dict[str, Any] = {"attempts": outbox.c.attempts + 1, "last_error": error}
        if retry_at is None:
            values["status"] = "failed"
        else:
            values["next_attempt_at"] = retry_at
        with self._transaction() as conn:
            conn.execute(update(outbox).where(outbox.c.id == alert_id).values(**values))

    # -- history ---------------------------------------------------------------------

    def history(self, ref: str) -> History:
        state = self.get_posting(ref)
        with self._transaction() as conn:
            versions = tuple(
                Version(
                    snapshot_id=row.id,
                    captured_at=row.captured_at,
                    posting=Posting.from_dict(row.data),
                )
                for row in conn.execute(
                    select(snapshots)
                    .where(snapshots.c.posting_id == state.id)
                    .order_by(snapshots.c.id)
                )
            )
            change_rows = tuple(
                ChangeRecord(
                    snapshot_id=row.snapshot_id,
                    detected_at=row.detected_at,
                    field=row.field,
                    kind=row.kind,
                    old=row.old,
                    new=row.new,
                    summary=row.summary,
                )
                for row in conn.execute(
                    select(changes).where(changes.c.posting_id == state.id).order_by(changes.c.id)
                )
            )
        return History(posting=state, versions=versions, changes=change_rows)

    def count(self, table_name: str) -> int:
        table = {t.name: t for t in (watches, postings, snapshots, changes, outbox, check_log)}[
            table_name
        ]
        with self._transaction() as conn:
            return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def _short(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]


def _ref_clause(table: Any, ref: str) -> Any:
    return table.c.id == int(ref) if ref.isdigit() else table.c.url == ref


def _state_query(*, active_only: bool = True) -> Any:
    query = select(
        postings,
        watches.c.interval_seconds,
        watches.c.channels,
        watches.c.filters,
        watches.c.url.label("watch_url"),
        snapshots.c.data.label("current_data"),
    ).select_from(
        postings.join(watches, watches.c.id == postings.c.watch_id).outerjoin(
            snapshots, snapshots.c.id == postings.c.current_snapshot_id
        )
    )
    return query.where(watches.c.removed_at.is_(None)) if active_only else query


def _state(conn: Connection, row: Row[Any]) -> PostingState:
    del conn
    return PostingState(
        id=row.id,
        watch_id=row.watch_id,
        source_kind=row.source_kind,
        source_id=row.source_id,
        url=row.url,
        title=row.title,
        status=PostingStatus(row.status),
        etag=row.etag,
        last_modified=row.last_modified,
        body_hash=row.body_hash,
        current=Posting.from_dict(row.current_data) if row.current_data else None,
        consecutive_failures=row.consecutive_failures,
        gone_count=row.gone_count,
        interval=timedelta(seconds=row.interval_seconds),
        channels=tuple(row.channels),
        next_check_at=row.next_check_at,
        last_checked_at=row.last_checked_at,
        last_outcome=row.last_outcome,
        last_error=row.last_error,
        role=row.role,
        watch_url=row.watch_url,
        board_id=row.board_id,
        baselined_at=row.baselined_at,
        filters=BoardFilters.from_dict(row.filters),
    )


def _state_values(result: CheckResult) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": result.status.value,
        "next_check_at": result.next_check_at,
        "lease_until": None,
        "last_checked_at": result.checked_at,
        "last_outcome": result.outcome.value,
        "last_error": result.error,
        "consecutive_failures": result.consecutive_failures,
        "gone_count": result.gone_count,
    }
    if result.snapshot is not None:
        values["title"] = result.snapshot.title
    if result.validators is not None:
        values["etag"] = result.validators.etag
        values["last_modified"] = result.validators.last_modified
        values["body_hash"] = result.validators.body_hash
    return values


def _dedupe_key(result: CheckResult, snapshot_id: int | None, delivery: Delivery) -> str:
    if delivery.notice:
        return f"notice:{result.posting_id}:{result.checked_at.isoformat()}:{delivery.channel}"
    return f"{result.posting_id}:{snapshot_id}:{delivery.channel}"


def _new_member_result(new: NewMember, posting_id: int, board: CheckResult) -> CheckResult:
    return CheckResult(
        posting_id=posting_id,
        outcome=CheckOutcome.CHANGED if new.changes else CheckOutcome.BASELINE,
        checked_at=board.checked_at,
        next_check_at=board.next_check_at,
        status=PostingStatus.OPEN,
        snapshot=new.posting,
        changes=new.changes,
    )


def _watch(row: Row[Any]) -> WatchRecord:
    return WatchRecord(
        id=row.id,
        url=row.url,
        source_kind=row.source_kind,
        interval=timedelta(seconds=row.interval_seconds),
        channels=tuple(row.channels),
        origin=row.origin,
        created_at=row.created_at,
        removed_at=row.removed_at,
        filters=BoardFilters.from_dict(row.filters) if row.filters is not None else None,
    )


def _queued(row: Row[Any]) -> QueuedAlert:
    return QueuedAlert(
        id=row.id,
        posting_id=row.posting_id,
        channel=row.channel,
        alert=Alert(
            title=row.title,
            body_text=row.body_text,
            body_markdown=row.body_markdown,
            body_html=row.body_html or "",
        ),
        attempts=row.attempts,
        status=row.status,
        last_error=row.last_error,
        created_at=row.created_at,
    )


__all__ = [
    "ChangeRecord",
    "CheckOutcome",
    "History",
    "PostingState",
    "QueuedAlert",
    "Repository",
    "Version",
    "WatchRecord",
    "WatchSpec",
]
