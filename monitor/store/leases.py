"""Leases: who checks a posting. A due posting is leased to one process
(``claim_due``): however many processes share the database, none gets a posting
another holds. Part of the code the mutation run covers (README, "Mutation testing")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import Connection, Select, or_, select, update

from monitor.errors import NotFound
from monitor.records import PostingState
from monitor.store.db import Database
from monitor.store.rows import states_where
from monitor.store.tables import WATCHED_ROLES, postings, watches


class DueURL(NamedTuple):
    """A due posting as a dispatcher sees it: its id and where it is read."""

    id: int
    url: str


class LeasedBatch(Protocol):
    """Postings leased together (``Leases.lease_due``) until ``until``."""

    @property
    def ids(self) -> Sequence[int]: ...

    @property
    def until(self) -> datetime: ...


_Batch = TypeVar("_Batch", bound=LeasedBatch)


class Leases:
    """Leases on postings (``postings.lease_until``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def claim_due(
        self, *, now: datetime, limit: int, lease: timedelta, owner: str | None = None
    ) -> list[PostingState]:
        """Lease up to ``limit`` due postings so no other worker checks them meanwhile;
        ``owner`` (the claimant's ``daemons`` row id) lets them be given back at once
        if it dies (``release_leases_of``)."""
        return self._claim(now=now, lease=lease, limit=limit, due_only=True, owner=owner)

    def claim_all(
        self, *, now: datetime, lease: timedelta, limit: int | None = None, after_id: int = 0
    ) -> list[PostingState]:
        """Lease every active posting not already leased (for one full pass), in order of
        id; a pass taken in parts passes the last id it got as ``after_id``."""
        return self._claim(now=now, lease=lease, limit=limit, due_only=False, after_id=after_id)

    def _claim(
        self,
        *,
        now: datetime,
        lease: timedelta,
        limit: int | None,
        due_only: bool,
        after_id: int = 0,
        owner: str | None = None,
    ) -> list[PostingState]:
        # Pick (and lock) ids first: sorting narrow rows stays in memory, where sorting
        # whole states with their stored versions spilled to disk on every claim.
        pick = _claimable(now, limit)
        if due_only:
            pick = _due_first(pick, now)
        else:
            pick = pick.where(postings.c.id > after_id).order_by(postings.c.id)
        with self._db.transaction() as conn:
            ids = pick_and_mark(conn, pick, postings, lease_until=now + lease, lease_owner=owner)
            return states_where(conn, postings.c.id.in_(ids)) if ids else []

    def lease_due(
        self, *, now: datetime, limit: int, plan: Callable[[list[DueURL]], Sequence[_Batch]]
    ) -> tuple[Sequence[_Batch], set[int]]:
        """Lease due postings in batches: ``plan`` groups the ``limit`` most overdue
        (their ids and URLs) into batches, each with the end of its lease, and each
        posting in a batch is leased until that end, in one write. Returns the batches
        and the ids among them another process leased meanwhile (left out of them).

        The due postings are read without locking them (a read of 2,000 locked rows
        wrote more WAL than the checks it fed); the write takes only those still free.
        Whoever checks a batch reads its states then (``still_leased``)."""
        pick = _due_first(_claimable(now, limit).add_columns(postings.c.url), now)
        with self._db.transaction() as conn:
            due = [DueURL(row.id, row.url) for row in conn.execute(pick)]
            batches = plan(due) if due else []
            by_end: dict[datetime, list[int]] = defaultdict(list)
            for batch in batches:
                by_end[batch.until].extend(batch.ids)
            lost: set[int] = set()
            for until, ids in by_end.items():
                leased = conn.scalars(
                    update(postings)
                    .where(postings.c.id.in_(ids), _free(now))
                    .values(lease_until=until, lease_owner=None)
                    .returning(postings.c.id)
                )
                lost |= set(ids) - set(leased)
            return batches, lost

    def claim_watch(self, watch_id: int, *, now: datetime, lease: timedelta) -> list[PostingState]:
        """Lease an active watch's own posting (or board), due or not, paused or not;
        [] while another process holds it. NotFound for no active watch."""
        with self._db.transaction() as conn:
            active = select(watches.c.id).where(
                watches.c.id == watch_id, watches.c.removed_at.is_(None)
            )
            if conn.execute(active).first() is None:
                raise NotFound(f"no active watch {watch_id}")
            pick = select(postings.c.id).where(
                postings.c.watch_id == watch_id,
                postings.c.role.in_(WATCHED_ROLES),
                or_(postings.c.lease_until.is_(None), postings.c.lease_until < now),
            )
            ids = pick_and_mark(conn, pick, postings, lease_until=now + lease, lease_owner=None)
            return states_where(conn, postings.c.id.in_(ids)) if ids else []

    def still_leased(
        self, posting_ids: Sequence[int], *, lease_until: datetime
    ) -> list[PostingState]:
        """Those of ``posting_ids`` still under the lease that ends at ``lease_until``.
        A queued batch that ran late (its lease ran out and the posting was leased
        again, for another batch) gets none of them, so no posting is checked twice."""
        if not posting_ids:
            return []
        with self._db.transaction() as conn:
            return states_where(
                conn,
                postings.c.id.in_(list(posting_ids)),
                postings.c.lease_until == lease_until,
            )

    def release_leases_of(self, owners: Sequence[str]) -> int:
        """Give back every posting leased by processes known to be dead; how many."""
        if not owners:
            return 0
        with self._db.transaction() as conn:
            released = conn.execute(
                update(postings)
                .where(postings.c.lease_owner.in_(list(owners)))
                .where(postings.c.lease_until.is_not(None))
                .values(lease_until=None, lease_owner=None)
            )
            return int(released.rowcount or 0)

    def release_leases(self, posting_ids: Sequence[int]) -> None:
        """Unlease postings claimed but not checked (a stopping daemon's queue)."""
        with self._db.transaction() as conn:
            conn.execute(
                update(postings)
                .where(postings.c.id.in_(list(posting_ids)))
                .values(lease_until=None)
            )


def _claimable(now: datetime, limit: int | None) -> Select[Any]:
    """Ids of the postings a check may lease now: active, not a board's member read
    through its list, not leased."""
    return (
        select(postings.c.id)
        .join(watches, watches.c.id == postings.c.watch_id)
        .where(watches.c.removed_at.is_(None), watches.c.paused_at.is_(None))
        .where(postings.c.role != "member")
        # A closed member's job is not read: the board's list says if it comes back.
        .where(or_(postings.c.role != "detail", postings.c.status != "closed"))
        .where(_free(now))
        .limit(limit)
    )


def _free(now: datetime) -> Any:
    return or_(postings.c.lease_until.is_(None), postings.c.lease_until < now)


def _due_first(pick: Select[Any], now: datetime) -> Select[Any]:
    return pick.where(postings.c.next_check_at <= now).order_by(
        postings.c.next_check_at, postings.c.id
    )


def pick_and_mark(conn: Connection, pick: Select[Any], table: Any, **values: Any) -> list[int]:
    """The ids ``pick`` selects, marked with ``values`` in the same transaction. On
    PostgreSQL the picked rows are locked and rows other processes are picking are
    skipped, so that two never get the same row; SQLite's writer lock (BEGIN
    IMMEDIATE) makes the pick and the mark one step."""
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(of=table, skip_locked=True)
    ids = list(conn.scalars(pick))
    if ids:
        conn.execute(update(table).where(table.c.id.in_(ids)).values(**values))
    return ids
