"""What the queue engine reads of procrastinate's tables, and the libpq URL its pool
connects with.

The counts are plain SQL on one connection rather than procrastinate's ``JobManager``
calls: it has no call that counts live workers, and its ``list_queues_async`` /
``list_locks_async`` aggregate every status through subqueries, which measured 3 to 5
times slower per dispatch round here and cost one worker about a fifth of its checks/s
(``bench.workers``, pass 2)."""

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


def live_workers_and_waiting(
    engine: Engine, *, queue: str, task: str, stalled_after: timedelta
) -> tuple[int, int]:
    """procrastinate workers whose last heartbeat is more recent than ``stalled_after``,
    and ``task`` jobs waiting (``todo``) in ``queue``."""
    with engine.connect() as conn:
        workers = conn.execute(
            text(
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - make_interval(secs => :stalled)"
            ),
            {"stalled": stalled_after.total_seconds()},
        ).scalar_one()
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = :queue "
                "AND task_name = :task AND status = 'todo'"
            ),
            {"queue": queue, "task": task},
        ).scalar_one()
    return int(workers), int(waiting)


def jobs_per_lock(engine: Engine, *, queue: str, task: str) -> dict[str, int]:
    """``task`` jobs queued or running in ``queue``, per lock (jobs without one left out)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT lock, count(*) FROM procrastinate_jobs WHERE queue_name = :queue "
                "AND task_name = :task AND status IN ('todo', 'doing') "
                "GROUP BY lock"
            ),
            {"queue": queue, "task": task},
        )
        return {str(lock): int(n) for lock, n in rows if lock}
