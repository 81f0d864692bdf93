"""Watches: what is watched, added one at a time, imported, or synced with the
configuration; the configuration digest and the database's instance id beside them
(the ``meta`` table). A new watch's posting (or board) row is written with it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from monitor.errors import NotFound
from monitor.model import PostingStatus
from monitor.records import WatchRecord, WatchSpec
from monitor.store.db import Database
from monitor.store.rows import ref_clause, watch_record
from monitor.store.tables import WATCHED_ROLES, meta, postings, snapshots, watches

NEW_WATCH_SPACING = timedelta(milliseconds=50)
CONFIG_DIGEST_KEY = "config_watches_digest"
INSTANCE_KEY = "instance_id"


class Watches:
    """The ``watches`` and ``meta`` tables, and the postings a new watch brings."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_watch(self, spec: WatchSpec, *, origin: str, now: datetime) -> WatchRecord:
        """Create a watch (or revive a removed one) with its posting, due now."""
        with self._db.transaction() as conn:
            return self._upsert_watch(conn, spec, origin=origin, now=now)

    def add_watches(
        self, specs: Sequence[WatchSpec], *, origin: str, now: datetime
    ) -> tuple[list[WatchRecord], list[WatchSpec]]:
        """Add, in one transaction, the watches not already active, whether by URL or by
        what the URL names (the same posting or board under another address); a removed
        watch is revived. New watches start spread out, not in the same second.
        Returns the watches added and the specs skipped as already watched."""
        skipped: list[WatchSpec] = []
        with self._db.transaction() as conn:
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
                [
                    watch_record(row)
                    for row in conn.execute(select(watches).where(watches.c.id.in_(ids)))
                ]
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
            .where(live, postings.c.role.in_(WATCHED_ROLES))
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
        with self._db.transaction() as conn:
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
                for watch_id in retired:
                    _give_back_to_boards(conn, watch_id)
                self._forget_config_digest(conn)
            if digest is not None:
                self._forget_config_digest(conn)
                conn.execute(insert(meta).values(key=CONFIG_DIGEST_KEY, value=digest))

    def config_digest(self) -> str | None:
        """The digest given with the last sync of the configuration's watches, or None
        when any watch was written since by other means (``watch add``, ``remove``,
        ``import``): equal to the configuration's own digest, nothing needs syncing."""
        with self._db.transaction() as conn:
            return conn.execute(
                select(meta.c.value).where(meta.c.key == CONFIG_DIGEST_KEY)
            ).scalar_one_or_none()

    def instance_id(self) -> str:
        """A random id made once per database: feed entry ids stay unique across
        databases and stable across restarts."""
        read = select(meta.c.value).where(meta.c.key == INSTANCE_KEY)
        with self._db.transaction() as conn:
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
            _take_from_board(conn, [m["posting_id"] for m in moved], now)
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
        return watch_record(conn.execute(select(watches).where(watches.c.id == watch_id)).one())

    def _ensure_posting(
        self, conn: Connection, watch_id: int, spec: WatchSpec, now: datetime, first: datetime
    ) -> None:
        key = and_(
            postings.c.source_kind == spec.source_kind, postings.c.source_id == spec.source_id
        )
        existing = conn.execute(select(postings.c.id).where(key)).first()
        if existing is not None:
            conn.execute(update(postings).where(key).values(watch_id=watch_id))
            _take_from_board(conn, [existing.id], first)
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
                postings.c.watch_id == watch_id, postings.c.role.in_(WATCHED_ROLES)
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
        with self._db.transaction() as conn:
            return [watch_record(row) for row in conn.execute(query)]

    def remove_watch(self, ref: str, *, now: datetime) -> WatchRecord:
        """Stop watching; history is kept and comes back if the URL is added again."""
        with self._db.transaction() as conn:
            row = conn.execute(
                select(watches).where(ref_clause(watches, ref), watches.c.removed_at.is_(None))
            ).first()
            if row is None:
                raise NotFound(f"no active watch {ref!r} (see 'posting-monitor watch list')")
            conn.execute(update(watches).where(watches.c.id == row.id).values(removed_at=now))
            _give_back_to_boards(conn, row.id)
            self._forget_config_digest(conn)
            return watch_record(row)

    def get_watch(self, watch_id: int) -> WatchRecord:
        """An active watch; NotFound otherwise."""
        with self._db.transaction() as conn:
            return watch_record(_active_row(conn, watch_id))

    def edit_watch(self, watch_id: int, spec: WatchSpec, *, now: datetime) -> WatchRecord:
        """Store an active watch's new settings (its URL stays). A shorter schedule
        brings its next check forward to at most one new interval from now."""
        with self._db.transaction() as conn:
            row = _active_row(conn, watch_id)
            self._forget_config_digest(conn)
            conn.execute(
                update(watches)
                .where(watches.c.id == watch_id)
                .values(**_watch_values(spec, row.origin))
            )
            self._ensure_posting(conn, watch_id, spec, now, now)
            watched = and_(postings.c.watch_id == watch_id, postings.c.role.in_(WATCHED_ROLES))
            soonest = now + spec.interval
            conn.execute(
                update(postings)
                .where(watched, postings.c.next_check_at > soonest)
                .values(next_check_at=soonest)
            )
            return watch_record(conn.execute(select(watches).where(watches.c.id == watch_id)).one())

    def mark_viewed(self, watch_ids: Sequence[int] | None, *, now: datetime) -> None:
        """The watches' changes so far have been seen (``None``: every watch's)."""
        seen = update(watches).where(watches.c.removed_at.is_(None)).values(viewed_at=now)
        if watch_ids is not None:
            seen = seen.where(watches.c.id.in_(list(watch_ids)))
        with self._db.transaction() as conn:
            conn.execute(seen)

    def pause_watch(self, watch_id: int, *, paused: bool, now: datetime) -> WatchRecord:
        """Stop checking a watch (its history stays), or start again: a resumed watch's
        postings are due at once."""
        with self._db.transaction() as conn:
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
                    .where(postings.c.watch_id == watch_id, postings.c.role.in_(WATCHED_ROLES))
                    .values(next_check_at=now)
                )
            return watch_record(conn.execute(select(watches).where(watches.c.id == watch_id)).one())


def _active_row(conn: Connection, watch_id: int) -> Any:
    row = conn.execute(
        select(watches).where(watches.c.id == watch_id, watches.c.removed_at.is_(None))
    ).first()
    if row is None:
        raise NotFound(f"no active watch {watch_id}")
    return row


def _take_from_board(conn: Connection, posting_ids: Sequence[int], first: datetime) -> None:
    """Postings a board follows, now also watched on their own: one posting, listed
    under both, read on the job watch's schedule (due at ``first``); the board's list
    now only says whether it is still there."""
    conn.execute(
        update(postings)
        .where(postings.c.id.in_(list(posting_ids)), postings.c.role.in_(("member", "detail")))
        .values(role="single", next_check_at=first)
    )


def _give_back_to_boards(conn: Connection, watch_id: int) -> None:
    """A removed job watch's posting that an active board lists goes back to the board
    (as a member; the board's next check reads its job again where it reads jobs)."""
    boards = postings.alias("boards")
    listed = conn.execute(
        select(postings.c.id, boards.c.watch_id.label("board_watch"))
        .join(boards, boards.c.id == postings.c.board_id)
        .join(watches, watches.c.id == boards.c.watch_id)
        .where(postings.c.watch_id == watch_id, postings.c.role == "single")
        .where(watches.c.removed_at.is_(None))
    ).all()
    if listed:
        conn.execute(
            update(postings)
            .where(postings.c.id == bindparam("pid"))
            .values(watch_id=bindparam("board_watch"), role="member"),
            [{"pid": row.id, "board_watch": row.board_watch} for row in listed],
        )


def _lock_watches(conn: Connection) -> None:
    """Processes starting together each sync the same configured watches: one at a
    time, each reading what the one before wrote. SQLite's BEGIN IMMEDIATE already
    makes writers take turns; PostgreSQL takes an advisory lock until the commit."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WATCHES_LOCK})


_WATCHES_LOCK = 0x706D5F7761  # "pm_wa"


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
        "members": spec.members,
        "tags": list(spec.tags),
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
        and row.members == spec.members
        and list(row.tags or []) == list(spec.tags)
    )
