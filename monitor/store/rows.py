"""Rows to records: the query a ``PostingState`` is read with, and the mappers from
rows to the values of ``monitor.records`` that more than one aggregate reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Row, select

from monitor.model import BoardFilters, PostingStatus
from monitor.records import DaemonRecord, PostingState, WatchRecord
from monitor.store.tables import postings, snapshots, watches


def states_where(conn: Connection, *where: Any) -> list[PostingState]:
    """The active postings that match ``where``, due first, on the caller's connection."""
    rows = conn.execute(
        state_query().where(*where).order_by(postings.c.next_check_at, postings.c.id)
    ).all()
    return [posting_state(conn, row) for row in rows]


def ref_clause(table: Any, ref: str) -> Any:
    return table.c.id == int(ref) if ref.isdigit() else table.c.url == ref


_boards = postings.alias("boards")


def state_query(*, active_only: bool = True) -> Any:
    query = select(
        postings,
        watches.c.interval_seconds,
        watches.c.cron,
        watches.c.channels,
        watches.c.filters,
        watches.c.url.label("watch_url"),
        watches.c.render,
        watches.c.members,
        snapshots.c.data.label("current_data"),
        _boards.c.suspect_hash.label("board_marker"),
    ).select_from(
        postings.join(watches, watches.c.id == postings.c.watch_id)
        .outerjoin(snapshots, snapshots.c.id == postings.c.current_snapshot_id)
        .outerjoin(_boards, _boards.c.id == postings.c.board_id)
    )
    return query.where(watches.c.removed_at.is_(None)) if active_only else query


def posting_state(conn: Connection, row: Row[Any]) -> PostingState:
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
        members=row.members,
        board_marker=row.board_marker,
    )


def watch_record(row: Row[Any]) -> WatchRecord:
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
        members=row.members,
        tags=tuple(row.tags or ()),
    )


def daemon_record(row: Row[Any]) -> DaemonRecord:
    return DaemonRecord(
        id=row.id,
        host=row.host,
        pid=row.pid,
        started_at=row.started_at,
        beat_at=row.beat_at,
        stopped_at=row.stopped_at,
        checks=row.checks,
        kind=row.kind,
        trouble=row.trouble,
    )
