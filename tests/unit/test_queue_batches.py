"""How the procrastinate dispatcher makes batches of the due postings it sees (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.engines.queue import Batch, plan_batches
from monitor.store.leases import DueURL

START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)
END = START + LEASE


def _due(*hosts: str) -> list[DueURL]:
    """Due postings, most overdue first, on these hosts ("a": a.example)."""
    return [DueURL(n, f"https://{host}.example/jobs/{n}") for n, host in enumerate(hosts, 1)]


def _plan(due: list[DueURL], **given: Any) -> list[tuple[str, tuple[int, ...]]]:
    options: dict[str, Any] = {"room": 10, "waiting": {}, "size": 2, "seen": 100} | given
    batches = plan_batches(due, leased_until=END, lease=LEASE, **options)
    return [(b.host.split(".")[0], b.ids) for b in batches]


def test_every_due_posting_seen_goes_in_batches_of_one_host_and_at_most_size() -> None:
    due = _due("a", "b", "a", "a", "b")
    assert _plan(due) == [("a", (1, 3)), ("b", (2, 5)), ("a", (4,))]


def test_more_due_than_seen_short_batches_wait_unless_among_the_most_overdue() -> None:
    due = _due("a", "b", "c", "a", "c", "c")  # seen = 6: more may be due
    # a's two and c's first two make whole batches; b's one is among the first `size`
    # (it would wait behind a whole batch for more); c's third waits for more of c.
    assert _plan(due, seen=6) == [("a", (1, 4)), ("b", (2,)), ("c", (3, 5))]
    assert _plan(due, seen=7) == [("a", (1, 4)), ("b", (2,)), ("c", (3, 5)), ("c", (6,))]


def test_no_more_batches_than_room_the_most_overdue_first() -> None:
    due = _due("a", "b", "a", "b", "a", "b")
    assert _plan(due, room=2) == [("a", (1, 3)), ("b", (2, 4))]
    assert _plan(due, room=0) == []


def test_a_batch_waiting_behind_its_hosts_others_is_leased_a_lease_longer_for_each() -> None:
    due = _due("a", "a", "a", "b")
    batches = plan_batches(
        due, room=10, waiting={"a.example": 2}, size=2, leased_until=END, lease=LEASE
    )
    assert batches == [
        Batch("a.example", (1, 2), END + 2 * LEASE),  # two of a's already queued or running
        Batch("a.example", (3,), END + 3 * LEASE),
        Batch("b.example", (4,), END),
    ]


def test_nothing_due_makes_no_batch() -> None:
    assert _plan([], waiting={"a.example": 1}) == []
