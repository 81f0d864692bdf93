"""Dashboard sessions that were signed out: the session cookie names a random id, and
signing out keeps that id here until the cookie would have expired anyway, so a copy
of the cookie stops working too. Rows of the ``meta`` table; no table of their own."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from monitor.store.db import Database
from monitor.store.tables import meta

ENDED_PREFIX = "session-ended:"


class Sessions:
    def __init__(self, db: Database) -> None:
        self._db = db

    def end(self, session_id: str, *, expires: int, now: int) -> None:
        """Refuse ``session_id`` from now on (until ``expires``, a Unix time); the
        ended sessions whose cookies have expired are forgotten."""
        with self._db.transaction() as conn:
            ended = conn.execute(
                select(meta.c.key, meta.c.value).where(meta.c.key.startswith(ENDED_PREFIX))
            ).all()
            stale = [key for key, value in ended if not value.isdigit() or int(value) <= now]
            if stale:
                conn.execute(delete(meta).where(meta.c.key.in_(stale)))
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(meta).values(key=ENDED_PREFIX + session_id, value=str(expires))
                    )
            except IntegrityError:
                pass  # ended twice

    def ended(self, session_id: str) -> bool:
        with self._db.read() as conn:
            found = conn.execute(select(meta.c.key).where(meta.c.key == ENDED_PREFIX + session_id))
            return found.first() is not None
