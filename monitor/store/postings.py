"""Postings and their checks: a posting's state, versions (snapshots), changes and
check log. ``record_many`` writes a batch of checks in one transaction, its alerts
queued in the same one (``outbox.enqueue`` on its connection), so a crash between
checking and delivering loses nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from monitor.errors import NotFound
from monitor.model import (
    LIST,
    BoardResult,
    CheckOutcome,
    CheckResult,
    Delivery,
    NewMember,
    PostingStatus,
)
from monitor.records import PostingState
from monitor.store.db import Database
from monitor.store.outbox import enqueue
from monitor.store.rows import posting_state, ref_clause, state_query
from monitor.store.tables import changes, check_log, postings, snapshots, watches


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckWrite:
    """One posting's check, waiting to be written."""

    result: CheckResult
    deliveries: tuple[Delivery, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class BoardWrite:
    """One board's check with its postings' results, waiting to be written."""

    result: BoardResult
    board_id: int
    deliveries: Mapping[int, Sequence[Delivery]] = field(default_factory=dict)
    new_deliveries: Sequence[Sequence[Delivery]] = ()
    member_role: str = "member"
    """The role new members get: "detail" where their jobs are read, else "member"."""
    roles: Mapping[int, str] = field(default_factory=dict)
    """Members whose role changes (the board's members setting changed)."""


PendingWrite = CheckWrite | BoardWrite
NOTHING_NEW = frozenset({CheckOutcome.NOT_MODIFIED, CheckOutcome.UNCHANGED, CheckOutcome.DEFERRED})
"""Outcomes that only reschedule: no version, no change, no check-log row."""


class Postings:
    """The ``postings``, ``snapshots``, ``changes`` and ``check_log`` tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get_posting(self, ref: str) -> PostingState:
        """A posting by id, URL or source id."""
        with self._db.transaction() as conn:
            row = conn.execute(
                state_query(active_only=False).where(
                    or_(ref_clause(postings, ref), postings.c.source_id == ref)
                )
            ).first()
            if row is None:
                raise NotFound(f"no posting {ref!r} (see 'posting-monitor watch list')")
            return posting_state(conn, row)

    def members_of(self, board_id: int) -> list[PostingState]:
        """The postings found on a board so far, open or closed."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                state_query(active_only=False)
                .where(postings.c.board_id == board_id)
                .order_by(postings.c.id)
            ).all()
            return [posting_state(conn, row) for row in rows]

    def record(self, result: CheckResult, *, deliveries: Sequence[Delivery] = ()) -> None:
        """Write one check's outcome, version, changes and alerts in one transaction."""
        with self._db.transaction() as conn:
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
        with self._db.transaction() as conn:
            self._record_board_in(
                conn,
                BoardWrite(
                    result=result,
                    board_id=board_id,
                    deliveries=deliveries or {},
                    new_deliveries=new_deliveries,
                ),
            )

    def record_many(self, writes: Sequence[PendingWrite]) -> None:
        """Write many checks in one transaction; checks that found nothing new are one
        batched UPDATE, since they only move the posting's next check."""
        singles = [w for w in writes if isinstance(w, CheckWrite)]
        with self._db.transaction() as conn:
            self._reschedule(conn, [w.result for w in singles if _is_light(w)])
            self._record_all(conn, [(w.result, w.deliveries) for w in singles if not _is_light(w)])
            for write in writes:
                if isinstance(write, BoardWrite):
                    self._record_board_in(conn, write)

    def _reschedule(self, conn: Connection, results: Sequence[CheckResult]) -> None:
        put_off = [r for r in results if r.outcome is CheckOutcome.DEFERRED]
        seen = [r for r in results if r.outcome is not CheckOutcome.DEFERRED]
        if put_off:
            conn.execute(
                update(postings)
                .where(postings.c.id == bindparam("pid"))
                .values(next_check_at=bindparam("next"), lease_until=None),
                [{"pid": r.posting_id, "next": r.next_check_at} for r in put_off],
            )
        # One statement per set of columns written (a read of a posting its board
        # lists leaves its status alone).
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for result in seen:
            values = _state_values(result)
            groups.setdefault(tuple(values), []).append(
                {"pid": result.posting_id, **{f"v_{k}": v for k, v in values.items()}}
            )
        for columns, rows in groups.items():
            conn.execute(
                update(postings)
                .where(postings.c.id == bindparam("pid"))
                .values({c: bindparam(f"v_{c}") for c in columns}),
                rows,
            )

    def _record_board_in(self, conn: Connection, write: BoardWrite) -> None:
        result, board_id = write.result, write.board_id
        self._record_in(conn, result.board, write.deliveries.get(board_id, ()))
        if result.board.outcome not in (
            CheckOutcome.ERROR,
            CheckOutcome.DEFERRED,
            CheckOutcome.SUSPECT,
        ):
            conn.execute(
                update(postings)
                .where(postings.c.id == board_id, postings.c.baselined_at.is_(None))
                .values(baselined_at=result.board.checked_at)
            )
        self._record_all(
            conn, [(m, write.deliveries.get(m.posting_id, ())) for m in result.members]
        )
        self._change_roles(conn, write.roles, now=result.board.checked_at)
        for index, new in enumerate(result.new_members):
            posting_id = self._insert_member(
                conn, new, board_id=board_id, now=result.board.checked_at, role=write.member_role
            )
            if posting_id is None:
                continue
            alerts = write.new_deliveries[index] if index < len(write.new_deliveries) else ()
            first = _new_member_result(new, posting_id, result.board, role=write.member_role)
            self._record_in(conn, first, alerts)

    def _change_roles(self, conn: Connection, roles: Mapping[int, str], *, now: datetime) -> None:
        """Members now read another way; one whose job is now read is due at once."""
        for role in set(roles.values()):
            ids = [posting_id for posting_id, wanted in roles.items() if wanted == role]
            values: dict[str, Any] = {"role": role}
            if role == "detail":
                values["next_check_at"] = now
            conn.execute(
                update(postings)
                .where(postings.c.id.in_(ids), postings.c.role.in_(("member", "detail")))
                .values(values)
            )

    def _insert_member(
        self, conn: Connection, new: NewMember, *, board_id: int, now: datetime, role: str
    ) -> int | None:
        """The new member's id; None when the posting is already followed another way
        (a job watch of it): it is now also listed under the board, its fields and
        history untouched, and nothing is announced."""
        key = and_(
            postings.c.source_kind == new.posting.source_kind,
            postings.c.source_id == new.posting.source_id,
        )
        existing = conn.execute(
            select(postings.c.id, postings.c.board_id, watches.c.removed_at)
            .join(watches, watches.c.id == postings.c.watch_id)
            .where(key)
        ).first()
        board_watch = conn.scalar(select(postings.c.watch_id).where(postings.c.id == board_id))
        if existing is not None and existing.removed_at is not None:
            # Watched on its own once, that watch since removed: the board's member now,
            # its history kept; read as the board reads its members.
            conn.execute(
                update(postings)
                .where(postings.c.id == existing.id)
                .values(watch_id=board_watch, board_id=board_id, role=role, next_check_at=now)
            )
            return None
        if existing is not None:
            if existing.board_id is None:
                conn.execute(
                    update(postings).where(postings.c.id == existing.id).values(board_id=board_id)
                )
            return None
        inserted = conn.execute(
            insert(postings).values(
                watch_id=board_watch,
                source_kind=new.posting.source_kind,
                source_id=new.posting.source_id,
                url=new.posting.url,
                title=new.posting.title,
                company=new.posting.company,
                reposted_from=new.reposted_from,
                status=PostingStatus.OPEN.value,
                next_check_at=now,
                consecutive_failures=0,
                gone_count=0,
                created_at=now,
                role=role,
                board_id=board_id,
            )
        )
        return int(inserted.inserted_primary_key[0])  # type: ignore[index]

    def _record_in(
        self, conn: Connection, result: CheckResult, deliveries: Sequence[Delivery]
    ) -> None:
        self._record_all(conn, [(result, deliveries)])

    def _record_all(
        self, conn: Connection, items: Sequence[tuple[CheckResult, Sequence[Delivery]]]
    ) -> None:
        """Write checks of distinct postings: a few statements for the whole batch."""
        self._reschedule(conn, [r for r, _ in items if r.outcome is CheckOutcome.DEFERRED])
        items = [(r, d) for r, d in items if r.outcome is not CheckOutcome.DEFERRED]
        if not items:
            return
        current = self._current_versions(conn, [r.posting_id for r, _ in items])
        fresh = [
            (r, digest)
            for r, _ in items
            if r.snapshot is not None
            and (digest := r.snapshot.content_hash()) != current[r.posting_id][1]
        ]
        new_ids = self._insert_snapshots(conn, fresh)
        self._insert_changes(conn, [(r, new_ids[r.posting_id]) for r, _ in fresh])
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for result, deliveries in items:
            snapshot_id = new_ids.get(result.posting_id, current[result.posting_id][0])
            new_version = result.posting_id in new_ids
            # A change alert belongs to the version it reports; notices stand on their own.
            wanted = [d for d in deliveries if d.notice or new_version]
            enqueue(conn, result, snapshot_id, wanted)
            values = {**_state_values(result), "current_snapshot_id": snapshot_id}
            if new_version and result.changes:
                values["last_changed_at"] = result.checked_at
            updates.setdefault(tuple(values), []).append(
                {"pid": result.posting_id, **{f"v_{k}": v for k, v in values.items()}}
            )
        for columns, rows in updates.items():
            conn.execute(
                update(postings)
                .where(postings.c.id == bindparam("pid"))
                .values({c: bindparam(f"v_{c}") for c in columns}),
                rows,
            )
        logged = [
            {
                "posting_id": r.posting_id,
                "checked_at": r.checked_at,
                "outcome": r.outcome.value,
                "http_status": r.http_status,
                "latency_ms": r.latency_ms,
                "error": r.error,
            }
            for r, _ in items
            if r.outcome not in NOTHING_NEW
        ]
        if logged:
            conn.execute(insert(check_log), logged)

    def _current_versions(
        self, conn: Connection, posting_ids: Sequence[int]
    ) -> dict[int, tuple[int | None, str | None]]:
        rows = conn.execute(
            select(postings.c.id, postings.c.current_snapshot_id, snapshots.c.content_hash)
            .select_from(
                postings.outerjoin(snapshots, snapshots.c.id == postings.c.current_snapshot_id)
            )
            .where(postings.c.id.in_(list(posting_ids)))
        )
        return {row.id: (row.current_snapshot_id, row.content_hash) for row in rows}

    def _insert_snapshots(
        self, conn: Connection, fresh: Sequence[tuple[CheckResult, str]]
    ) -> dict[int, int]:
        """Store new versions; posting id -> the new snapshot's id."""
        if not fresh:
            return {}
        rows = [
            {
                "posting_id": result.posting_id,
                "content_hash": digest,
                "data": result.snapshot.to_dict() if result.snapshot else {},
                "captured_at": result.checked_at,
            }
            for result, digest in fresh
        ]
        inserted = conn.execute(
            insert(snapshots).returning(
                snapshots.c.posting_id, snapshots.c.id, sort_by_parameter_order=True
            ),
            rows,
        )
        return {row.posting_id: row.id for row in inserted}

    def _insert_changes(
        self, conn: Connection, versions: Sequence[tuple[CheckResult, int]]
    ) -> None:
        rows = [
            {
                "posting_id": result.posting_id,
                "snapshot_id": snapshot_id,
                "detected_at": result.checked_at,
                "field": c.field,
                "kind": c.kind.value,
                "old": c.old,
                "new": c.new,
                "summary": c.summary,
                "percent": c.percent,
            }
            for result, snapshot_id in versions
            for c in result.changes
        ]
        if rows:
            conn.execute(insert(changes), rows)


def _state_values(result: CheckResult) -> dict[str, Any]:
    if result.presence:
        return _presence_values(result)
    values = _read_values(result)
    if result.listed:  # its board's list says whether it is open
        del values["status"], values["gone_count"]
    return values


def _read_values(result: CheckResult) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": result.status.value,
        "next_check_at": result.next_check_at,
        "lease_until": None,
        "last_checked_at": result.checked_at,
        "last_outcome": result.outcome.value,
        "last_error": result.error,
        "consecutive_failures": result.consecutive_failures,
        "gone_count": result.gone_count,
        "suspect_hash": result.suspect_hash,
        "suspect_count": result.suspect_count,
    }
    if result.snapshot is not None:
        values["title"] = result.snapshot.title
        values["company"] = result.snapshot.company
    if result.validators is not None:
        values["etag"] = result.validators.etag
        values["last_modified"] = result.validators.last_modified
        values["body_hash"] = result.validators.body_hash
    return values


def _presence_values(result: CheckResult) -> dict[str, Any]:
    """What a board's list says of a posting read on its own: whether it is listed."""
    values: dict[str, Any] = {"status": result.status.value, "gone_count": result.gone_count}
    if result.snapshot is not None:
        values["title"] = result.snapshot.title
        values["company"] = result.snapshot.company
    return values


def _is_light(write: CheckWrite) -> bool:
    return (
        write.result.outcome in NOTHING_NEW
        and write.result.snapshot is None
        and not write.deliveries
    )


def _new_member_result(
    new: NewMember, posting_id: int, board: CheckResult, *, role: str
) -> CheckResult:
    # A member whose job is to be read and was not yet: due at once.
    unread = role == "detail" and new.posting.provenance.level == LIST
    return CheckResult(
        posting_id=posting_id,
        outcome=CheckOutcome.CHANGED if new.changes else CheckOutcome.BASELINE,
        checked_at=board.checked_at,
        next_check_at=board.checked_at if unread else board.next_check_at,
        status=PostingStatus.OPEN,
        snapshot=new.posting,
        changes=new.changes,
    )
