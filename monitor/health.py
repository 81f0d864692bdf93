"""Are the daemons and workers alive? Judged from the heartbeats they record in the
database.

Pure: takes the daemon records and returns a verdict, so the rules are tested
without processes or clocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.present import duration
from monitor.records import DaemonRecord


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
    alive: Callable[[int], bool] = lambda _pid: False,
) -> Verdict:
    """Every daemon or worker running on ``host`` must have beaten within ``max_age``.

    Only this host's processes count: in a container the health check runs beside its
    own daemon, and one killed elsewhere (its row never marked stopped) must not make
    this one look ill. On this host, rows of processes that no longer exist (``alive``
    says which do) are history, unless no process of the rows exists: then the newest
    is judged, and a stale beat says it is stuck or was killed. A process that beats
    but said at its beat that it is in trouble it cannot fix (a stuck renderer) is
    unhealthy too: restarting it is the cure.
    """
    running = _newest_per_process(d for d in daemons if d.stopped_at is None and d.host == host)
    if not running:
        if require_daemon:
            return Verdict(False, f"no daemon is running on {host}")
        return Verdict(True, "no daemon running here (database only)")
    judged = [d for d in running if alive(d.pid)] or [max(running, key=lambda d: d.started_at)]
    judged.sort(key=lambda d: d.started_at)
    stale = [d for d in judged if now - d.beat_at > max_age]
    if stale:
        return Verdict(
            False,
            "; ".join(
                f"{d.kind} pid {d.pid} last beat {duration(_age(d, now))} ago "
                f"(more than {duration(max_age)}): stuck or killed"
                for d in stale
            ),
        )
    troubled = [d for d in judged if d.trouble]
    if troubled:
        return Verdict(False, "; ".join(f"{d.kind} pid {d.pid}: {d.trouble}" for d in troubled))
    return Verdict(
        True,
        "; ".join(
            f"{d.kind} pid {d.pid} beat {duration(_age(d, now))} ago, {d.checks} checks"
            for d in judged
        ),
    )


def _newest_per_process(daemons: Iterable[DaemonRecord]) -> list[DaemonRecord]:
    """One row per (host, pid): an older row of the same pid is an earlier incarnation
    (a container restarted as pid 1 again) whose stop was never written."""
    newest: dict[tuple[str, int], DaemonRecord] = {}
    for daemon in daemons:
        key = (daemon.host, daemon.pid)
        if key not in newest or daemon.started_at > newest[key].started_at:
            newest[key] = daemon
    return list(newest.values())


def not_beating(daemon: DaemonRecord, *, now: datetime, max_age: timedelta) -> bool:
    """A process with no stop written whose beat is older than ``max_age``: stopped
    uncleanly (killed, or its database was down), or stuck."""
    return daemon.stopped_at is None and now - daemon.beat_at > max_age


def _age(daemon: DaemonRecord, now: datetime) -> timedelta:
    return _whole(max(now - daemon.beat_at, timedelta(0)))


def _whole(span: timedelta) -> timedelta:
    return timedelta(seconds=int(span.total_seconds()))
