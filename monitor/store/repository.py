"""All SQL lives here: one class maps rows to domain values and back.

Every public method is one transaction. ``record`` writes a whole check
(posting state, snapshot, changes, outbox rows, check log) atomically, so a
crash between checking and delivering loses nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from monitor.errors import NotFound, StoreError
from monitor.model import (
    BoardFilters,
    BoardResult,
    CheckOutcome,
    CheckResult,
    Delivery,
    HostPacing,
    NewMember,
    Posting,
    PostingStatus,
)
from monitor.records import (
    ChangeRecord,
    DaemonRecord,
    History,
    PostingState,
    PruneReport,
    Version,
    WatchRecord,
    WatchSpec,
    WatchStatus,
)
from monitor.store.claims import Claims
from monitor.store.tables import (
    changes,
    check_log,
    daemons,
    host_pacing,
    meta,
    outbox,
    postings,
    snapshots,
    watches,
)


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


PendingWrite = CheckWrite | BoardWrite
NEW_WATCH_SPACING = timedelta(milliseconds=50)
CONFIG_DIGEST_KEY = "config_watches_digest"
INSTANCE_KEY = "instance_id"
PRUNE_CHUNK = 5_000
EXPORT_CHUNK = 1_000
NOTHING_NEW = frozenset({CheckOutcome.NOT_MODIFIED, CheckOutcome.UNCHANGED, CheckOutcome.DEFERRED})
"""Outcomes that only reschedule: no version, no change, no check-log row."""


class Repository(Claims):
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

    def add_watches(
        self, specs: Sequence[WatchSpec], *, origin: str, now: datetime
    ) -> tuple[list[WatchRecord], list[WatchSpec]]:
        """Add, in one transaction, the watches not already active, whether by URL or by
        what the URL names (the same posting or board under another address); a removed
        watch is revived. New watches start spread out, not in the same second.
        Returns the watches added and the specs skipped as already watched."""
        skipped: list[WatchSpec] = []
        with self._transaction() as conn:
            _lock_watches(conn)
            active_urls, followed = self._active(conn)
            stored_urls = set(conn.execute(select(watches.c.url)).scalars())
            revived: list[int] = []
            fresh: list[tuple[WatchSpec, datetime]] = []
            for spec in specs:
                if spec.url in active_urls or (spec.source_kind, spec.source_id) in followed:
                    skipped.append(spec)
                    continue
                spacing = NEW_WATCH_SPACING * (len(revived) + len(fresh))
                first = now + min(spec.interval, spacing)
                if spec.url in stored_urls:  # removed before: revived, history and all
                    record = self._upsert_watch(
                        conn, spec, origin=origin, now=now, first_check_at=first
                    )
                    revived.append(record.id)
                else:
                    fresh.append((spec, first))
                active_urls.add(spec.url)
                followed.add((spec.source_kind, spec.source_id))
            ids = revived + self._insert_watches(conn, fresh, origin=origin, now=now)
            added = (
                [_watch(row) for row in conn.execute(select(watches).where(watches.c.id.in_(ids)))]
                if ids
                else []
            )
            added.sort(key=lambda w: w.id)
        return added, skipped

    def _active(self, conn: Connection) -> tuple[set[str], set[tuple[str, str]]]:
        """URLs of active watches, and the (kind, id) of what they watch."""
        live = watches.c.removed_at.is_(None)
        urls = set(conn.execute(select(watches.c.url).where(live)).scalars())
        named = conn.execute(
            select(postings.c.source_kind, postings.c.source_id)
            .join(watches, watches.c.id == postings.c.watch_id)
            .where(live, postings.c.role != "member")
        )
        return urls, {(kind, source_id) for kind, source_id in named}

    def sync_config_watches(
        self,
        specs: Sequence[WatchSpec],
        *,
        now: datetime,
        listed: Collection[str] | None = None,
        digest: str | None = None,
    ) -> None:
        """Make the config's watches active and retire config watches no longer listed
        (``listed``: every URL the configuration names, when ``specs`` leaves out those
        the caller knows are stored as configured; default: the specs' URLs).

        The stored watches are read in one query and only those that differ from the
        configuration are written. ``digest`` (of the configuration's watches) is kept
        with them: see ``config_digest``."""
        with self._transaction() as conn:
            _lock_watches(conn)
            stored = {row.url: row for row in conn.execute(select(watches))}
            fresh: list[tuple[WatchSpec, datetime]] = []
            for index, spec in enumerate(specs):
                row = stored.get(spec.url)
                if row is not None and _same_watch(row, spec, origin="config"):
                    continue
                # Many watches added at once start spread out, not in the same second.
                first = now + min(spec.interval, NEW_WATCH_SPACING * index)
                if row is None:
                    fresh.append((spec, first))
                else:
                    self._upsert_watch(conn, spec, origin="config", now=now, first_check_at=first)
            self._insert_watches(conn, fresh, origin="config", now=now)
            listed = set(listed) if listed is not None else {s.url for s in specs}
            retired = [
                row.id
                for row in stored.values()
                if row.origin == "config" and row.removed_at is None and row.url not in listed
            ]
            if retired:
                conn.execute(
                    update(watches).where(watches.c.id.in_(retired)).values(removed_at=now)
                )
                self._forget_config_digest(conn)
            if digest is not None:
                self._forget_config_digest(conn)
                conn.execute(insert(meta).values(key=CONFIG_DIGEST_KEY, value=digest))

    def config_digest(self) -> str | None:
        """The digest given with the last sync of the configuration's watches, or None
        when any watch was written since by other means (``watch add``, ``remove``,
        ``import``): equal to the configuration's own digest, nothing needs syncing."""
        with self._transaction() as conn:
            return conn.execute(
                select(meta.c.value).where(meta.c.key == CONFIG_DIGEST_KEY)
            ).scalar_one_or_none()

    def instance_id(self) -> str:
        """A random id made once per database: feed entry ids stay unique across
        databases and stable across restarts."""
        read = select(meta.c.value).where(meta.c.key == INSTANCE_KEY)
        with self._transaction() as conn:
            value = conn.execute(read).scalar_one_or_none()
            if value is not None:
                return str(value)
            try:
                with conn.begin_nested():
                    conn.execute(insert(meta).values(key=INSTANCE_KEY, value=uuid.uuid4().hex))
            except IntegrityError:
                pass  # another process made it first
            return str(conn.execute(read).scalar_one())

    def _forget_config_digest(self, conn: Connection) -> None:
        conn.execute(delete(meta).where(meta.c.key == CONFIG_DIGEST_KEY))

    def _insert_watches(
        self,
        conn: Connection,
        fresh: Sequence[tuple[WatchSpec, datetime]],
        *,
        origin: str,
        now: datetime,
    ) -> list[int]:
        """Insert watches whose URLs are new to the database, a few statements for all
        of them (a first start with 10,000 configured watches, a large import); their
        postings are created, or re-attached when another URL named them before."""
        if not fresh:
            return []
        self._forget_config_digest(conn)
        rows = conn.execute(
            insert(watches).returning(watches.c.id, sort_by_parameter_order=True),
            [
                {"url": spec.url, "created_at": now, **_watch_values(spec, origin)}
                for spec, _first in fresh
            ],
        )
        ids = [row.id for row in rows]
        known = {
            (kind, source_id): posting_id
            for posting_id, kind, source_id in conn.execute(
                select(postings.c.id, postings.c.source_kind, postings.c.source_id)
            )
        }
        new_postings: dict[tuple[str, str], dict[str, Any]] = {}
        moved = []
        for watch_id, (spec, first) in zip(ids, fresh, strict=True):
            key = (spec.source_kind, spec.source_id)
            posting_id = known.get(key)
            if posting_id is not None:
                moved.append({"posting_id": posting_id, "new_watch_id": watch_id})
            elif key in new_postings:  # two URLs for one posting: the later watch has it
                new_postings[key]["watch_id"] = watch_id
            else:
                new_postings[key] = _new_posting(watch_id, spec, now, first)
        if new_postings:
            conn.execute(insert(postings), list(new_postings.values()))
        if moved:
            conn.execute(
                update(postings)
                .where(postings.c.id == bindparam("posting_id"))
                .values(watch_id=bindparam("new_watch_id")),
                moved,
            )
        return ids

    def _upsert_watch(
        self,
        conn: Connection,
        spec: WatchSpec,
        *,
        origin: str,
        now: datetime,
        first_check_at: datetime | None = None,
    ) -> WatchRecord:
        self._forget_config_digest(conn)
        values = _watch_values(spec, origin)
        row = conn.execute(select(watches).where(watches.c.url == spec.url)).first()
        if row is None:
            watch_id = conn.execute(
                insert(watches).values(url=spec.url, created_at=now, **values)
            ).inserted_primary_key[0]  # type: ignore[index]
        else:
            watch_id = row.id
            conn.execute(update(watches).where(watches.c.id == watch_id).values(**values))
        self._ensure_posting(conn, watch_id, spec, now, first_check_at or now)
        return _watch(conn.execute(select(watches).where(watches.c.id == watch_id)).one())

    def _ensure_posting(
        self, conn: Connection, watch_id: int, spec: WatchSpec, now: datetime, first: datetime
    ) -> None:
        key = and_(
            postings.c.source_kind == spec.source_kind, postings.c.source_id == spec.source_id
        )
        existing = conn.execute(select(postings.c.id).where(key)).first()
        if existing is not None:
            conn.execute(update(postings).where(key).values(watch_id=watch_id))
            return
        former = self._former_reading(conn, watch_id, spec)
        if former is not None:
            # The watch is now read another way (its source named since, say): the same
            # posting under a new key, its history kept, not a second one checked beside it.
            role = "board" if spec.is_board else "single"
            conn.execute(
                update(postings)
                .where(postings.c.id == former)
                .values(source_kind=spec.source_kind, source_id=spec.source_id, role=role)
            )
            return
        conn.execute(insert(postings).values(**_new_posting(watch_id, spec, now, first)))

    @staticmethod
    def _former_reading(conn: Connection, watch_id: int, spec: WatchSpec) -> int | None:
        """The watch's one posting under another key, when it can take the new one: the
        same role, or never read (a board read as a page before has nothing to keep)."""
        rows = conn.execute(
            select(postings.c.id, postings.c.role).where(
                postings.c.watch_id == watch_id, postings.c.role != "member"
            )
        ).all()
        if len(rows) != 1:
            return None
        role = "board" if spec.is_board else "single"
        if rows[0].role == role:
            return int(rows[0].id)
        read = conn.execute(select(snapshots.c.id).where(snapshots.c.posting_id == rows[0].id))
        return None if read.first() is not None else int(rows[0].id)

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
            self._forget_config_digest(conn)
            return _watch(row)

    # -- postings and checks ---------------------------------------------------------

    def pause_watch(self, watch_id: int, *, paused: bool, now: datetime) -> WatchRecord:
        """Stop checking a watch (its history stays), or start again: a resumed watch's
        postings are due at once."""
        with self._transaction() as conn:
            row = conn.execute(
                select(watches).where(watches.c.id == watch_id, watches.c.removed_at.is_(None))
            ).first()
            if row is None:
                raise NotFound(f"no active watch {watch_id}")
            conn.execute(
                update(watches)
                .where(watches.c.id == watch_id)
                .values(paused_at=now if paused else None)
            )
            if not paused:
                conn.execute(
                    update(postings)
                    .where(postings.c.watch_id == watch_id, postings.c.role != "member")
                    .values(next_check_at=now)
                )
            return _watch(conn.execute(select(watches).where(watches.c.id == watch_id)).one())

    def _states_where(self, conn: Connection, *where: Any) -> list[PostingState]:
        rows = conn.execute(
            _state_query().where(*where).order_by(postings.c.next_check_at, postings.c.id)
        ).all()
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
        with self._transaction() as conn:
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
        with self._transaction() as conn:
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
        if seen:
            columns = list(_state_values(seen[0]))
            conn.execute(
                update(postings)
                .where(postings.c.id == bindparam("pid"))
                .values({c: bindparam(f"v_{c}") for c in columns}),
                [
                    {"pid": r.posting_id, **{f"v_{k}": v for k, v in _state_values(r).items()}}
                    for r in seen
                ],
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
        for index, new in enumerate(result.new_members):
            posting_id = self._insert_member(
                conn, new, board_id=board_id, now=result.board.checked_at
            )
            alerts = write.new_deliveries[index] if index < len(write.new_deliveries) else ()
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
                company=new.posting.company,
                reposted_from=new.reposted_from,
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
            self._enqueue(conn, result, snapshot_id, wanted)
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

    def members_of(self, board_id: int) -> list[PostingState]:
        """The postings found on a board so far, open or closed."""
        with self._transaction() as conn:
            rows = conn.execute(
                _state_query(active_only=False)
                .where(postings.c.board_id == board_id)
                .order_by(postings.c.id)
            ).all()
            return [_state(conn, row) for row in rows]

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
            }
            for result, snapshot_id in versions
            for c in result.changes
        ]
        if rows:
            conn.execute(insert(changes), rows)

    # -- daemons and status ----------------------------------------------------------

    def daemon_started(
        self, daemon_id: str, *, host: str, pid: int, now: datetime, kind: str = "daemon"
    ) -> None:
        """A process that checks started: a local-engine ``daemon`` or a ``worker``."""
        with self._transaction() as conn:
            conn.execute(
                insert(daemons).values(
                    id=daemon_id,
                    host=host,
                    pid=pid,
                    started_at=now,
                    beat_at=now,
                    checks=0,
                    kind=kind,
                )
            )

    def heartbeat(self, daemon_id: str, *, now: datetime, checks: int) -> None:
        with self._transaction() as conn:
            conn.execute(
                update(daemons).where(daemons.c.id == daemon_id).values(beat_at=now, checks=checks)
            )

    def daemon_stopped(self, daemon_id: str, *, now: datetime, checks: int) -> None:
        with self._transaction() as conn:
            conn.execute(
                update(daemons)
                .where(daemons.c.id == daemon_id)
                .values(beat_at=now, stopped_at=now, checks=checks)
            )

    def daemons(self, *, running_only: bool = False) -> list[DaemonRecord]:
        query = select(daemons).order_by(daemons.c.started_at.desc())
        if running_only:
            query = query.where(daemons.c.stopped_at.is_(None))
        with self._transaction() as conn:
            return [
                DaemonRecord(
                    id=row.id,
                    host=row.host,
                    pid=row.pid,
                    started_at=row.started_at,
                    beat_at=row.beat_at,
                    stopped_at=row.stopped_at,
                    checks=row.checks,
                    kind=row.kind,
                )
                for row in conn.execute(query)
            ]

    def host_pacing(self, host: str) -> HostPacing:
        """What the last batch of ``host`` left: when its next request may go, and
        the pause it is in (nothing known: no wait, no pause)."""
        with self._transaction() as conn:
            row = conn.execute(select(host_pacing).where(host_pacing.c.host == host)).first()
        if row is None:
            return HostPacing()
        return HostPacing(
            next_request_at=row.next_request_at,
            paused_until=row.paused_until,
            failures=row.failures,
        )

    def save_host_pacing(self, host: str, pacing: HostPacing) -> None:
        values = {
            "next_request_at": pacing.next_request_at,
            "paused_until": pacing.paused_until,
            "failures": pacing.failures,
        }
        with self._transaction() as conn:
            done = conn.execute(
                update(host_pacing).where(host_pacing.c.host == host).values(**values)
            )
            if not done.rowcount:
                conn.execute(insert(host_pacing).values(host=host, **values))

    def prune(
        self,
        *,
        check_log_before: datetime | None,
        sent_alerts_before: datetime | None,
        dry_run: bool = False,
        chunk: int = PRUNE_CHUNK,
    ) -> PruneReport:
        """Delete check log rows and sent alerts older than the given times (None: keep),
        and records of daemons stopped before the check log limit; never versions or
        changes. Deletes a chunk per transaction, so daemons writing meanwhile never
        wait long. ``dry_run``: only count."""
        targets = []
        if check_log_before is not None:
            targets.append(("check_log", check_log, check_log.c.checked_at < check_log_before))
            targets.append(("daemons", daemons, daemons.c.stopped_at < check_log_before))
        if sent_alerts_before is not None:
            old_sent = and_(outbox.c.status == "sent", outbox.c.sent_at < sent_alerts_before)
            targets.append(("alerts", outbox, old_sent))
        counts = {name: self._prune(table, where, dry_run, chunk) for name, table, where in targets}
        return PruneReport(
            check_log=counts.get("check_log", 0),
            alerts=counts.get("alerts", 0),
            daemons=counts.get("daemons", 0),
        )

    def _prune(self, table: Any, where: Any, dry_run: bool, chunk: int) -> int:
        key = next(iter(table.primary_key.columns))
        if dry_run:
            with self._transaction() as conn:
                return int(conn.scalar(select(func.count()).select_from(table).where(where)) or 0)
        deleted = 0
        while True:
            with self._transaction() as conn:
                ids = list(conn.scalars(select(key).where(where).limit(chunk)))
                if ids:
                    conn.execute(delete(table).where(key.in_(ids)))
            deleted += len(ids)
            if len(ids) < chunk:
                return deleted

    def export_rows(self, what: str, *, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Every posting, version or change (``since``: first seen, captured or detected
        then or later) as flat rows for ``monitor.export``, streamed a thousand rows at
        a time, in posting order."""
        query = _export_query(what, since)
        with self._transaction() as conn:
            for row in conn.execution_options(yield_per=EXPORT_CHUNK).execute(query):
                yield _export_row(what, dict(row._mapping))

    def active_count(self) -> int:
        """Postings and boards that active watches check (not board members)."""
        query = (
            select(func.count())
            .select_from(postings.join(watches, watches.c.id == postings.c.watch_id))
            .where(watches.c.removed_at.is_(None), watches.c.paused_at.is_(None))
            .where(postings.c.role != "member")
        )
        with self._transaction() as conn:
            return int(conn.scalar(query) or 0)

    def due_count(self, *, now: datetime) -> int:
        """Active postings due and not leased (the queue a dispatcher has not reached)."""
        # Not a join with the active watches: at a million watches PostgreSQL hashes
        # them all; the removed ones are few and indexed.
        removed = select(watches.c.id).where(
            or_(watches.c.removed_at.is_not(None), watches.c.paused_at.is_not(None))
        )
        query = (
            select(func.count())
            .select_from(postings)
            .where(postings.c.role != "member", postings.c.watch_id.not_in(removed))
            .where(postings.c.next_check_at <= now)
            .where(or_(postings.c.lease_until.is_(None), postings.c.lease_until < now))
        )
        with self._transaction() as conn:
            return int(conn.scalar(query) or 0)

    def watch_status(self) -> list[WatchStatus]:
        """Every active watch with its last check, next check and failure streak."""
        members = (
            select(postings.c.board_id, func.count().label("n"))
            .where(postings.c.board_id.is_not(None))
            .group_by(postings.c.board_id)
            .subquery()
        )
        query = (
            select(
                watches.c.id.label("watch_id"),
                watches.c.url,
                postings.c.source_kind,
                postings.c.role,
                postings.c.title,
                postings.c.status,
                postings.c.last_checked_at,
                postings.c.last_outcome,
                postings.c.last_error,
                postings.c.next_check_at,
                postings.c.consecutive_failures,
                func.coalesce(members.c.n, 0).label("members"),
            )
            .select_from(
                watches.join(postings, postings.c.watch_id == watches.c.id).outerjoin(
                    members, members.c.board_id == postings.c.id
                )
            )
            .where(watches.c.removed_at.is_(None), postings.c.role != "member")
            .order_by(watches.c.id)
        )
        with self._transaction() as conn:
            return [
                WatchStatus(
                    watch_id=row.watch_id,
                    url=row.url,
                    source_kind=row.source_kind,
                    role=row.role,
                    title=row.title,
                    status=PostingStatus(row.status),
                    last_checked_at=row.last_checked_at,
                    last_outcome=row.last_outcome,
                    last_error=row.last_error,
                    next_check_at=row.next_check_at,
                    consecutive_failures=row.consecutive_failures,
                    members=int(row.members),
                )
                for row in conn.execute(query)
            ]

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
        tables = (watches, postings, snapshots, changes, outbox, check_log, daemons)
        table = {t.name: t for t in tables}[table_name]
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
        watches.c.cron,
        watches.c.channels,
        watches.c.filters,
        watches.c.url.label("watch_url"),
        watches.c.render,
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
        current_data=row.current_data,
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
        cron=row.cron,
        baselined_at=row.baselined_at,
        filters=BoardFilters.from_dict(row.filters),
        suspect_hash=row.suspect_hash,
        suspect_count=row.suspect_count,
        created_at=row.created_at,
        last_changed_at=row.last_changed_at,
        render=row.render,
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


def _is_light(write: CheckWrite) -> bool:
    return (
        write.result.outcome in NOTHING_NEW
        and write.result.snapshot is None
        and not write.deliveries
    )


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
        paused_at=row.paused_at,
        filters=BoardFilters.from_dict(row.filters) if row.filters is not None else None,
        cron=row.cron,
        render=row.render,
    )


def _export_query(what: str, since: datetime | None) -> Select[Any]:
    if what == "changes":
        query = (
            select(changes, postings.c.url)
            .join(postings, postings.c.id == changes.c.posting_id)
            .order_by(changes.c.posting_id, changes.c.detected_at, changes.c.id)
        )
        return query if since is None else query.where(changes.c.detected_at >= since)
    if what == "versions":
        number = func.row_number().over(
            partition_by=snapshots.c.posting_id, order_by=(snapshots.c.captured_at, snapshots.c.id)
        )
        numbered = (
            select(snapshots, postings.c.url, number.label("version"))
            .join(postings, postings.c.id == snapshots.c.posting_id)
            .subquery()
        )
        query = select(numbered).order_by(
            numbered.c.posting_id, numbered.c.captured_at, numbered.c.id
        )
        return query if since is None else query.where(numbered.c.captured_at >= since)
    if what == "postings":
        query = (
            select(postings, snapshots.c.data.label("current_data"))
            .outerjoin(snapshots, snapshots.c.id == postings.c.current_snapshot_id)
            .where(postings.c.role != "board")
            .order_by(postings.c.id)
        )
        return query if since is None else query.where(postings.c.created_at >= since)
    raise ValueError(f"cannot export {what!r}")


def _export_row(what: str, row: Mapping[str, Any]) -> dict[str, Any]:
    from monitor.export import read_columns

    if what == "changes":
        return {"change_id": row["id"], **{k: row[k] for k in (
            "posting_id", "url", "detected_at", "field", "kind", "old", "new", "summary")}}  # fmt: skip
    if what == "versions":
        return {
            "posting_id": row["posting_id"],
            "version": row["version"],
            "captured_at": row["captured_at"],
            "url": row["url"],
            **read_columns(row["data"]),
            "data": row["data"],
        }
    read = read_columns(row["current_data"])
    return {
        "posting_id": row["id"],
        "url": row["url"],
        "source_kind": row["source_kind"],
        "source_id": row["source_id"],
        **read,
        "title": row["title"] or read["title"],
        "status": row["status"],
        "first_seen": row["created_at"],
        "last_checked_at": row["last_checked_at"],
        "last_outcome": row["last_outcome"],
    }


def _lock_watches(conn: Connection) -> None:
    """Processes starting together each sync the same configured watches: one at a
    time, each reading what the one before wrote. SQLite's BEGIN IMMEDIATE already
    makes writers take turns; PostgreSQL takes an advisory lock until the commit."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WATCHES_LOCK})


_WATCHES_LOCK = 0x706D5F7761  # "pm_wa"


__all__ = [
    "BoardWrite",
    "CheckWrite",
    "PendingWrite",
    "Repository",
]


def _watch_values(spec: WatchSpec, origin: str) -> dict[str, Any]:
    return {
        "source_kind": spec.source_kind,
        "interval_seconds": int(spec.interval.total_seconds()),
        "cron": spec.cron,
        "channels": list(spec.channels),
        "origin": origin,
        "removed_at": None,
        "filters": spec.filters.to_dict() if spec.is_board else None,
        "render": spec.render,
    }


def _new_posting(watch_id: int, spec: WatchSpec, now: datetime, first: datetime) -> dict[str, Any]:
    return {
        "watch_id": watch_id,
        "source_kind": spec.source_kind,
        "source_id": spec.source_id,
        "url": spec.url,
        "title": "",
        "status": PostingStatus.OPEN.value,
        "next_check_at": first,
        "consecutive_failures": 0,
        "gone_count": 0,
        "created_at": now,
        "role": "board" if spec.is_board else "single",
    }


def _same_watch(row: Any, spec: WatchSpec, *, origin: str) -> bool:
    """The stored watch already says what ``spec`` says (nothing to write)."""
    return (
        row.removed_at is None
        and row.origin == origin
        and row.source_kind == spec.source_kind
        and row.interval_seconds == int(spec.interval.total_seconds())
        and row.cron == spec.cron
        and list(row.channels or []) == list(spec.channels)
        and row.filters == (spec.filters.to_dict() if spec.is_board else None)
        and row.render == spec.render
    )
