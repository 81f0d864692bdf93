"""health's verdict from heartbeat rows: every live daemon or worker on this host."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.health import judge_daemons
from monitor.records import DaemonRecord

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MAX_AGE = timedelta(minutes=1)


def row(pid: int, beat_ago: int, *, host: str = "box", kind: str = "worker") -> DaemonRecord:
    return DaemonRecord(
        id=f"{host}:{pid}",
        host=host,
        pid=pid,
        started_at=NOW - timedelta(hours=1, seconds=pid),
        beat_at=NOW - timedelta(seconds=beat_ago),
        stopped_at=None,
        checks=pid * 10,
        kind=kind,
    )


def judge(rows: list[DaemonRecord], alive: set[int]) -> tuple[bool, str]:
    verdict = judge_daemons(
        rows, host="box", now=NOW, max_age=MAX_AGE, require_daemon=True, alive=alive.__contains__
    )
    return verdict.healthy, verdict.message


def test_every_live_worker_on_the_host_is_listed() -> None:
    healthy, message = judge([row(1, 5), row(2, 3), row(3, 1, host="elsewhere")], alive={1, 2})
    assert healthy
    assert message == "worker pid 2 beat 3s ago, 20 checks; worker pid 1 beat 5s ago, 10 checks"


def test_one_stuck_worker_of_several_makes_the_host_unhealthy() -> None:
    healthy, message = judge([row(1, 5), row(2, 600)], alive={1, 2})
    assert not healthy
    assert message == "worker pid 2 last beat 10m ago (more than 1m): stuck or killed"


def test_rows_of_killed_workers_are_history_beside_live_ones() -> None:
    healthy, message = judge([row(1, 5), row(9, 3600)], alive={1})
    assert healthy
    assert message == "worker pid 1 beat 5s ago, 10 checks"


def test_with_no_live_process_the_newest_row_says_stuck_or_killed() -> None:
    healthy, message = judge([row(1, 600, kind="daemon"), row(2, 7200)], alive=set())
    assert not healthy
    assert message == "daemon pid 1 last beat 10m ago (more than 1m): stuck or killed"


def test_a_restarted_container_s_earlier_pid_1_is_not_judged_as_the_live_one() -> None:
    """Every restart of a container is pid 1 of the same host: the rows of earlier
    incarnations whose stop was never written are not the process running now."""
    from dataclasses import replace

    killed = replace(row(1, 600, kind="daemon"), id="box:1:a", started_at=NOW - timedelta(hours=2))
    again = replace(row(1, 4, kind="daemon"), id="box:1:b", started_at=NOW - timedelta(minutes=3))
    healthy, message = judge([killed, again], alive={1})
    assert healthy
    assert message == "daemon pid 1 beat 4s ago, 10 checks"
    stuck = replace(again, beat_at=NOW - timedelta(minutes=5))
    assert judge([killed, stuck], alive={1})[0] is False  # the newest one still counts


def test_a_process_without_a_beat_for_longer_than_the_limit_is_not_beating() -> None:
    from monitor.health import not_beating

    assert not_beating(row(1, 61), now=NOW, max_age=MAX_AGE)
    assert not not_beating(row(1, 59), now=NOW, max_age=MAX_AGE)
    assert not not_beating(row(1, 60), now=NOW, max_age=MAX_AGE)  # at the limit: still beating


STUCK = "renderer stuck: 2 of 2 browser page slots held for 95 s, past the 30 s deadline"


def test_a_beating_process_that_says_its_renderer_is_stuck_is_unhealthy() -> None:
    healthy, message = judge([row(1, 5), replace(row(2, 3), trouble=STUCK)], alive={1, 2})
    assert not healthy
    assert message == f"worker pid 2: {STUCK}"


def test_the_trouble_of_a_dead_process_s_row_is_history() -> None:
    healthy, message = judge([row(1, 5), replace(row(2, 3), trouble=STUCK)], alive={1})
    assert healthy
    assert "stuck" not in message


def test_a_stale_beat_is_reported_before_the_trouble_its_last_beat_said() -> None:
    healthy, message = judge([replace(row(1, 300), trouble=STUCK)], alive={1})
    assert not healthy
    assert message.endswith("stuck or killed")
