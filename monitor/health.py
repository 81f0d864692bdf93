"""Is the daemon alive? Judged from the heartbeats daemons record in the database.

Pure: takes the daemon records and returns a verdict, so the rules are tested
without processes or clocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.present import duration
from monitor.store.repository import DaemonRecord


@dataclass(frozen=True, slots=True)
class Verdict:
    healthy: bool
    message: str


def judge_daemons(
    daemons: Sequence[DaemonRecord],
    *,
    host: str,
    now: datetime,
    max_age: timedelta,
    require_daemon: bool,
) -> Verdict:
    """The newest running daemon on ``host`` must have beaten within ``max_age``.

    Only this host's daemons count: in a container the health check runs beside its
    own daemon, and a daemon killed elsewhere (its row never marked stopped) must not
    make this one look ill.
    """
    running = [d for d in daemons if d.stopped_at is None and d.host == host]
    if not running:
        if require_daemon:
            return Verdict(False, f"no daemon is running on {host}")
        return Verdict(True, "no daemon running here (database only)")
    newest = max(running, key=lambda d: d.started_at)
    age = max(now - newest.beat_at, timedelta(0))
    if age > max_age:
        return Verdict(
            False,
            f"daemon pid {newest.pid} last beat {duration(_whole(age))} ago "
            f"(more than {duration(max_age)}): stuck or killed",
        )
    return Verdict(
        True, f"daemon pid {newest.pid} beat {duration(_whole(age))} ago, {newest.checks} checks"
    )


def _whole(span: timedelta) -> timedelta:
    return timedelta(seconds=int(span.total_seconds()))
