"""How the procrastinate dispatcher makes batches of the due postings it sees (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.config import HostLimits
from monitor.engines.queue import Batch, batch_size, plan_batches
from monitor.store.leases import DueURL

START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)
END = START + LEASE


def _due(*hosts: str) -> list[DueURL]:
    """Due postings, most overdue first, on these hosts ("a": a.example)."""
    return [DueURL(n, f"https://{host}.example/jobs/{n}") for n, host in enumerate(hosts, 1)]


def _plan(due: list[DueURL], **given: Any) -> list[tuple[str, tuple[int, ...]]]:
    size = given.pop("size", 2)  # or each host's: {"a": 3, "b": 2}
    options: dict[str, Any] = {"room": 10, "waiting": {}, "seen": 100} | given
    options["size_of"] = lambda host: size[host.split(".")[0]] if isinstance(size, dict) else size
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
        due,
        room=10,
        waiting={"a.example": 1},
        size_of=lambda host: 2,
        leased_until=END,
        lease=LEASE,
    )
    assert batches == [
        Batch("a.example", (1, 2), END + LEASE),  # one of a's already queued or running
        Batch("b.example", (4,), END),  # a's third waits: a has two batches ahead
    ]


def test_nothing_due_makes_no_batch() -> None:
    assert _plan([], waiting={"a.example": 1}) == []


def test_a_host_has_two_batches_queued_or_running_at_most_the_room_going_to_others() -> None:
    due = _due("a", "a", "a", "a", "a", "a", "b", "b", "c")
    assert _plan(due, room=3) == [("a", (1, 2)), ("a", (3, 4)), ("b", (7, 8))]
    assert _plan(due, room=3, waiting={"a.example": 1}) == [
        ("a", (1, 2)),
        ("b", (7, 8)),
        ("c", (9,)),
    ]


def test_a_short_batch_is_made_when_it_starts_among_the_first_of_its_size() -> None:
    # more may be due than seen: a's fourth (at position 3) waits for more of a
    assert _plan(_due("a", "a", "a", "a", "b", "b", "b"), size=3, seen=7) == [
        ("a", (1, 2, 3)),
        ("b", (5, 6, 7)),
    ]
    # b's one, at position 1, would wait behind a whole batch for more: it goes now
    assert _plan(_due("a", "b", "a", "a", "a"), size=3, seen=5) == [("a", (1, 3, 4)), ("b", (2,))]


def test_a_batch_may_take_no_longer_than_half_a_lease_at_its_hosts_rate() -> None:
    lease = timedelta(seconds=60)
    assert batch_size(HostLimits(concurrency=2, rate=2), lease) == 60
    assert batch_size(HostLimits(concurrency=2, rate=10), lease) == 100  # at most 100
    assert batch_size(HostLimits(concurrency=2, rate=0.01), lease) == 1  # one at least
    assert batch_size(HostLimits(concurrency=2, rate=0), lease, most=7) == 7  # no rate limit


def test_each_host_has_batches_of_its_own_size() -> None:
    due = _due("a", "b", "a", "b", "a", "b", "b", "a")
    assert _plan(due, size={"a": 3, "b": 2}) == [("a", (1, 3, 5)), ("b", (2, 4)), ("b", (6, 7)),
                                                  ("a", (8,))]  # fmt: skip
    # more may be due than seen: b's whole batches (2) go, a's short one (2 of 3) waits
    due = _due("b", "b", "b", "b", "a", "a")
    assert _plan(due, size={"a": 3, "b": 2}, seen=6) == [("b", (1, 2)), ("b", (3, 4))]
    assert _plan(due, size={"a": 2, "b": 2}, seen=6)[-1] == ("a", (5, 6))  # whole for a


def test_a_batch_without_postings_leased_elsewhere_keeps_the_rest_in_order() -> None:
    batch = Batch("a.example", (3, 1, 2), END)
    assert batch.without({1, 7}) == Batch("a.example", (3, 2), END)
    assert batch.without(set()) == batch
