"""Processes that check: local-engine daemons and queue workers (start, heartbeat,
stop), and the pacing each host's last batch left for the next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from monitor.model import HostPacing
from monitor.records import DaemonRecord
from monitor.store.db import Database
from monitor.store.rows import daemon_record
from monitor.store.tables import daemons, host_pacing, postings


class Processes:
    """The ``daemons`` and ``host_pacing`` tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def daemon_started(
        self, daemon_id: str, *, host: str, pid: int, now: datetime, kind: str = "daemon"
    ) -> None:
        """A process that checks started: a local-engine ``daemon`` or a ``worker``.

        An earlier process of the same host and pid whose stop was never written (it
        was killed, or its database was down when it stopped; in a container every
        restart is pid 1 of the same host) cannot be running any more: it is marked
        stopped at its last beat."""
        with self._db.transaction() as conn:
            _end(conn, [host_pid_clause(host, pid)])
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

    def dead_ended(self, daemon_ids: Sequence[str]) -> list[str]:
        """Processes found dead (their pid no longer exists on their host) are marked
        stopped at their last beat and their leases given back; the ids ended."""
        if not daemon_ids:
            return []
        with self._db.transaction() as conn:
            return _end(conn, [daemons.c.id.in_(list(daemon_ids))])

    def heartbeat(
        self, daemon_id: str, *, now: datetime, checks: int, trouble: str | None = None
    ) -> None:
        """The process lives; ``trouble`` is what it says is wrong with it now (or
        ``None``: nothing, which clears what an earlier beat said)."""
        with self._db.transaction() as conn:
            conn.execute(
                update(daemons)
                .where(daemons.c.id == daemon_id)
                .values(beat_at=now, checks=checks, trouble=trouble)
            )

    def daemon_stopped(self, daemon_id: str, *, now: datetime, checks: int) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                update(daemons)
                .where(daemons.c.id == daemon_id)
                .values(beat_at=now, stopped_at=now, checks=checks)
            )

    def daemons(self, *, running_only: bool = False) -> list[DaemonRecord]:
        query = select(daemons).order_by(daemons.c.started_at.desc())
        if running_only:
            query = query.where(daemons.c.stopped_at.is_(None))
        with self._db.transaction() as conn:
            return [daemon_record(row) for row in conn.execute(query)]

    def host_pacing(self, host: str) -> HostPacing:
        """What the last batch of ``host`` left: when its next request may go, and
        the pause it is in (nothing known: no wait, no pause)."""
        with self._db.transaction() as conn:
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
        with self._db.transaction() as conn:
            done = conn.execute(
                update(host_pacing).where(host_pacing.c.host == host).values(**values)
            )
            if not done.rowcount:
                conn.execute(insert(host_pacing).values(host=host, **values))


def host_pid_clause(host: str, pid: int) -> Any:
    return and_(daemons.c.host == host, daemons.c.pid == pid)


def _end(conn: Connection, where: Sequence[Any]) -> list[str]:
    """Mark the unstopped processes ``where`` selects stopped at their last beat, and
    give back the postings they leased; their ids."""
    ended = list(conn.scalars(select(daemons.c.id).where(*where, daemons.c.stopped_at.is_(None))))
    if ended:
        conn.execute(
            update(daemons).where(daemons.c.id.in_(ended)).values(stopped_at=daemons.c.beat_at)
        )
        # A daemon's checker processes lease as "<daemon id>/<n>".
        owners = or_(
            postings.c.lease_owner.in_(ended),
            *(postings.c.lease_owner.startswith(f"{id_}/", autoescape=True) for id_ in ended),
        )
        conn.execute(
            update(postings)
            .where(owners, postings.c.lease_until.is_not(None))
            .values(lease_until=None, lease_owner=None)
        )
    return ended
