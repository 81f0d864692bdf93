"""Upkeep and overviews across the tables: pruning what retention no longer keeps,
exports and counts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, delete, func, or_, select

from monitor.records import PruneReport
from monitor.store.db import Database
from monitor.store.tables import (
    changes,
    check_log,
    daemons,
    outbox,
    postings,
    snapshots,
    watches,
)

PRUNE_CHUNK = 5_000
EXPORT_CHUNK = 1_000


class Maintenance:
    """Prune, export, count: reads and deletes over every table."""

    def __init__(self, db: Database) -> None:
        self._db = db

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
            with self._db.transaction() as conn:
                return int(conn.scalar(select(func.count()).select_from(table).where(where)) or 0)
        deleted = 0
        while True:
            with self._db.transaction() as conn:
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
        with self._db.transaction() as conn:
            for row in conn.execution_options(yield_per=EXPORT_CHUNK).execute(query):
                yield _export_row(what, dict(row._mapping))

    def export_stamp(
        self, what: str, *, since: datetime | None = None
    ) -> tuple[tuple[object, ...], datetime | None]:
        """What an export's content depends on, cheaply (row count, newest id, newest
        time), and when it last changed: the export's ETag and Last-Modified."""
        table, moment = {
            "changes": (changes, changes.c.detected_at),
            "versions": (snapshots, snapshots.c.captured_at),
            "postings": (
                postings,
                func.coalesce(postings.c.last_checked_at, postings.c.created_at),
            ),
        }[what]
        key = next(iter(table.primary_key.columns))
        start = table.c.created_at if what == "postings" else moment
        query = select(func.count(), func.max(key), func.max(moment)).select_from(table)
        if since is not None:
            query = query.where(start >= since)
        with self._db.transaction() as conn:
            count, newest, last = conn.execute(query).one()
        return (what, since, count, newest, last), last

    def active_count(self) -> int:
        """Postings, boards and members' jobs that active watches check (not members
        read through their board's list only)."""
        query = (
            select(func.count())
            .select_from(postings.join(watches, watches.c.id == postings.c.watch_id))
            .where(watches.c.removed_at.is_(None), watches.c.paused_at.is_(None))
            .where(postings.c.role != "member")
        )
        with self._db.transaction() as conn:
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
            .where(or_(postings.c.role != "detail", postings.c.status != "closed"))
            .where(postings.c.next_check_at <= now)
            .where(or_(postings.c.lease_until.is_(None), postings.c.lease_until < now))
        )
        with self._db.transaction() as conn:
            return int(conn.scalar(query) or 0)

    def count(self, table_name: str) -> int:
        tables = (watches, postings, snapshots, changes, outbox, check_log, daemons)
        table = {t.name: t for t in tables}[table_name]
        with self._db.transaction() as conn:
            return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def _export_query(what: str, since: datetime | None) -> Select[Any]:
    if what == "changes":
        query = (
            select(changes, postings.c.url, *_pay_versions())
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


def _pay_versions() -> tuple[Any, Any]:
    """A pay change's version and the one before it (their stored postings), for the
    pay numbers of the changes export; null for other changes."""
    after, this, before = (snapshots.alias(name) for name in ("after", "this", "before"))
    is_pay = changes.c.field == "salary"
    new_data = (
        select(after.c.data)
        .where(after.c.id == changes.c.snapshot_id)
        .correlate(changes)
        .scalar_subquery()
    )
    captured = (
        select(this.c.captured_at)
        .where(this.c.id == changes.c.snapshot_id)
        .correlate(changes)
        .scalar_subquery()
    )
    old_data = (
        select(before.c.data)
        .where(before.c.posting_id == changes.c.posting_id, before.c.captured_at < captured)
        .order_by(before.c.captured_at.desc(), before.c.id.desc())
        .limit(1)
        .correlate(changes)
        .scalar_subquery()
    )
    return (
        case((is_pay, new_data), else_=None).label("pay_after"),
        case((is_pay, old_data), else_=None).label("pay_before"),
    )


def _export_row(what: str, row: Mapping[str, Any]) -> dict[str, Any]:
    from monitor.export import change_pay_columns, read_columns

    if what == "changes":
        return {"change_id": row["id"], **{k: row[k] for k in (
            "posting_id", "url", "detected_at", "field", "kind", "old", "new", "summary")},
            **change_pay_columns(row["percent"], row["pay_before"], row["pay_after"])}  # fmt: skip
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
