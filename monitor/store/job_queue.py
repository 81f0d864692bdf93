"""What the queue engine needs of the database beyond procrastinate's own API: the
libpq URL procrastinate's pool connects with, and how many workers are alive
(procrastinate's ``JobManager`` can count jobs per queue and per lock, but has no call
that counts workers)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from monitor.errors import ConfigError


def queue_conninfo(database_url: str) -> str:
    """The libpq URL procrastinate's psycopg pool connects with (SQLAlchemy names its
    driver in the scheme; libpq does not)."""
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise ConfigError(
            f'engine = "procrastinate" needs PostgreSQL, not {url.drivername}',
            source="database.url",
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def live_workers(engine: Engine, *, stalled_after: timedelta) -> int:
    """procrastinate workers whose last heartbeat is more recent than ``stalled_after``."""
    with engine.connect() as conn:
        workers = conn.execute(
            text(
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - make_interval(secs => :stalled)"
            ),
            {"stalled": stalled_after.total_seconds()},
        ).scalar_one()
    return int(workers)
