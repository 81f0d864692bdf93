"""The read side's SQL pieces: what its queries filter and sort by, the columns they
read, and their rows mapped to the values of ``readmodels``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CompoundSelect, Select, Text, case, cast, exists, func, or_, select, union
from sqlalchemy.engine import Connection, Row

from monitor.model import Posting
from monitor.store.readmodels import (
    ChangeQuery,
    ChangeRow,
    PostingQuery,
    PostingRow,
    VersionRow,
    WatchQuery,
    WatchRow,
)
from monitor.store.tables import WATCHED_ROLES, changes, outbox, postings, snapshots, watches

WATCH_SORTS: dict[str, Any] = {
    "id": watches.c.id,
    "title": postings.c.title,
    "company": postings.c.company,
    "status": postings.c.status,
    "last_change": postings.c.last_changed_at,
    "last_check": postings.c.last_checked_at,
    "next_check": postings.c.next_check_at,
    "failures": postings.c.consecutive_failures,
}

_found = postings.alias("found")
UNSEEN = exists(
    select(_found.c.id).where(
        _found.c.watch_id == watches.c.id,
        _found.c.last_changed_at > func.coalesce(watches.c.viewed_at, watches.c.created_at),
    )
)
"""A watch whose posting, or a posting on its board, changed since its page was last
viewed (or, never viewed, since it was added)."""

WATCH_COLUMNS = (
    watches.c.url,
    watches.c.interval_seconds,
    watches.c.cron,
    watches.c.paused_at,
    watches.c.members.label("member_reads"),
    watches.c.channels.label("watch_channels"),
    watches.c.render.label("watch_render"),
    watches.c.filters.label("watch_filters"),
    watches.c.origin.label("watch_origin"),
    watches.c.tags.label("watch_tags"),
    UNSEEN.label("unseen"),
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

CHANGE_POSTING_COLUMNS = (
    postings.c.title,
    postings.c.company,
    postings.c.url,
    postings.c.watch_id,
)

ALERT_COLUMNS = (
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


def watch_filter(query: WatchQuery) -> Select[Any]:
    base = (
        select(watches.c.id.label("watch_id"))
        .select_from(watches.join(postings, postings.c.watch_id == watches.c.id))
        .where(watches.c.removed_at.is_(None), postings.c.role.in_(WATCHED_ROLES))
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
        base = base.where(_same_company(query.company))
    if query.kind:
        base = base.where(watches.c.source_kind == query.kind)
    if query.tag:
        # Tags hold no quote (records.watch_tags): the quoted tag is found only whole,
        # in SQLite's JSON text and PostgreSQL's jsonb alike.
        tagged = cast(watches.c.tags, Text).contains(f'"{query.tag}"', autoescape=True)
        base = base.where(tagged)
    return base.where(*_watch_status(query.status))


def _watch_status(status: str) -> list[Any]:
    if status == "paused":
        return [watches.c.paused_at.is_not(None)]
    if status == "unseen":
        return [UNSEEN]
    if status == "failing":
        return [postings.c.consecutive_failures > 0]
    if status in ("open", "closed"):
        return [postings.c.status == status, watches.c.paused_at.is_(None)]
    return []


def _same_company(name: str) -> Any:
    """The company filter ignores case (both sides lowered by the database, so SQLite
    and PostgreSQL agree)."""
    return func.lower(postings.c.company) == func.lower(name)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def posting_conditions(query: PostingQuery) -> list[Any]:
    conditions: list[Any] = []
    if query.status:
        conditions.append(postings.c.status == query.status)
    if query.company:
        conditions.append(_same_company(query.company))
    if query.watch_id is not None:
        conditions.append(postings.c.id.in_(followed_ids(query.watch_id)))
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


def change_conditions(query: ChangeQuery, *, bound_since: bool = False) -> list[Any]:
    """The WHERE of a change list. ``bound_since`` (SQLite, whose planner cannot see it
    for itself) adds the id of the first change since ``query.since`` as a lower bound."""
    conditions: list[Any] = []
    if query.fields:
        conditions.append(changes.c.field.in_(query.fields))
    if query.kind:
        conditions.append(changes.c.kind == query.kind)
    if query.since is not None:
        conditions.append(changes.c.detected_at >= query.since)
        if bound_since:
            conditions.append(changes.c.id >= _first_change_since(query.since))
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
            changes.c.posting_id.in_(select(postings.c.id).where(_same_company(query.company)))
        )
    if query.watch_id is not None:
        conditions.append(changes.c.posting_id.in_(followed_ids(query.watch_id)))
    return conditions


_since_first = changes.alias("since_first")


def _first_change_since(since: Any) -> Any:
    """The smallest id of a change detected at or after ``since`` (NULL if none): every
    change since then has an id at least this, so a newest-first scan stops there
    instead of reading every older change when fewer than a page match. ``id + 0``
    makes SQLite read it from the (detected_at, id) index, in time proportional to the
    changes since then, rather than walking the table from its first row."""
    return (
        select(func.min(_since_first.c.id + 0))
        .where(_since_first.c.detected_at >= since)
        .scalar_subquery()
    )


def _boards_of(watch_id: int) -> Select[Any]:
    return select(postings.c.id).where(postings.c.watch_id == watch_id, postings.c.role == "board")


def followed_ids(watch_id: int) -> CompoundSelect[tuple[int]]:
    """The ids of the postings a watch follows: its own, and (a board) those listed on
    it, also those a job watch of their own reads. A union, not an OR: each half is read
    from its own index and estimated from it, where PostgreSQL guessed the OR at half
    the table and walked every change newest first to find the watch's (1.3 s at
    1,000,000 changes)."""
    own = select(postings.c.id).where(postings.c.watch_id == watch_id)
    members = select(postings.c.id).where(postings.c.board_id.in_(_boards_of(watch_id)))
    return union(own, members)


def current_postings(conn: Connection, snapshot_ids: Sequence[int | None]) -> dict[int, Posting]:
    wanted = [i for i in snapshot_ids if i is not None]
    if not wanted:
        return {}
    rows = conn.execute(select(snapshots.c.id, snapshots.c.data).where(snapshots.c.id.in_(wanted)))
    return {row.id: Posting.from_dict(row.data) for row in rows}


def board_members(conn: Connection, board_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
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


def watch_row(row: Row[Any], current: Posting | None, members: tuple[int, int] | None) -> WatchRow:
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
        member_reads=row.member_reads,
        channels=tuple(row.watch_channels or ()),
        render=row.watch_render,
        filters=row.watch_filters,
        origin=row.watch_origin,
        tags=tuple(row.watch_tags or ()),
        unseen=bool(row.unseen),
    )


def posting_row(row: Row[Any]) -> PostingRow:
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


def version_row(row: Any) -> VersionRow:
    return VersionRow(
        snapshot_id=row.id,
        captured_at=row.captured_at,
        posting=Posting.from_dict(row.data),
        data=dict(row.data),
    )


def change_row(row: Row[Any]) -> ChangeRow:
    # The query's columns are the row's fields (a change and its posting's title,
    # company, url and watch).
    return ChangeRow(**row._mapping)
