"""Politeness: per-host limits and pauses, Retry-After, backoff with jitter, the schedule."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import HttpConfig
from monitor.core.schedule import Schedule
from monitor.errors import HostPaused
from monitor.net.hosts import FAILURE_PAUSE_BASE, HostGate, retry_after_seconds
from monitor.testing import FrozenClock

URL = "https://jobs.example.com/postings/1"
OTHER = "https://careers.example.org/jobs/2"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def gate(**http: object) -> tuple[HostGate, FrozenClock]:
    clock = FrozenClock(NOW)
    return HostGate(HttpConfig.model_validate(http), clock=clock, rng=random.Random(1)), clock


async def take(g: HostGate, url: str = URL) -> None:
    async with g.slot(url):
        pass


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("Mon, 05 Jan 2026 09:05:00 GMT", 300.0),
        ("Mon, 05 Jan 2026 08:00:00 GMT", 0.0),  # in the past: go ahead
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_dates(header: str | None, expected: float | None) -> None:
    assert retry_after_seconds(header, now=NOW) == expected


def test_a_paused_host_is_refused_until_the_pause_ends_and_others_go_on() -> None:
    g, clock = gate()
    g.pause(URL, 120, reason="HTTP 429 Retry-After")
    with pytest.raises(HostPaused) as raised:
        asyncio.run(take(g))
    assert raised.value.host == "jobs.example.com"
    assert raised.value.seconds == pytest.approx(120)
    asyncio.run(take(g, OTHER))
    clock.advance(timedelta(seconds=121))
    asyncio.run(take(g))
    assert g.paused_hosts() == {}


def test_a_failing_host_is_paused_after_a_streak_with_growing_jittered_pauses() -> None:
    g, clock = gate(host_pause_after=3)
    g.failed(URL, reason="HTTP 503")
    g.failed(URL, reason="HTTP 503")
    assert g.paused_hosts() == {}
    pauses = []
    for _ in range(3):
        g.failed(URL, reason="HTTP 503")
        pauses.append(g.paused_hosts()["jobs.example.com"])
        clock.advance(timedelta(hours=1))
    for streak, pause in enumerate(pauses):
        full = FAILURE_PAUSE_BASE * 2**streak
        assert full * 0.5 <= pause <= full
    assert pauses[0] < pauses[1] < pauses[2]


def test_the_pause_for_failures_is_capped() -> None:
    g, _clock = gate(host_pause_after=1, max_host_pause="10m")
    for _ in range(30):
        g.failed(URL, reason="timeout")
    assert g.paused_hosts()["jobs.example.com"] <= 600


def test_a_success_ends_the_failure_streak() -> None:
    g, _clock = gate(host_pause_after=2)
    g.failed(URL, reason="HTTP 500")
    g.succeeded(URL)
    g.failed(URL, reason="HTTP 500")
    assert g.paused_hosts() == {}


def test_requests_beyond_the_hosts_rate_are_put_off_not_queued() -> None:
    g, _clock = gate(per_host_rate=0.1)  # one request per 10 s
    asyncio.run(take(g))
    with pytest.raises(HostPaused) as raised:
        asyncio.run(take(g))
    assert 5 < raised.value.seconds <= 10
    asyncio.run(take(g, OTHER))  # another host has its own pace


def test_named_hosts_get_their_own_limits() -> None:
    g, _clock = gate(per_host_rate=0.1, hosts={"jobs.example.com": {"concurrency": 8, "rate": 0}})
    for _ in range(20):
        asyncio.run(take(g))
    assert g.limits("jobs.example.com").concurrency == 8
    assert g.limits("careers.example.org").rate == 0.1


def test_at_most_the_per_host_concurrency_is_in_flight() -> None:
    g, _clock = gate(per_host_concurrency=2, per_host_rate=0)
    in_flight = peak = 0

    async def request() -> None:
        nonlocal in_flight, peak
        async with g.slot(URL):
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            in_flight -= 1

    async def many() -> None:
        await asyncio.gather(*(request() for _ in range(10)))

    asyncio.run(many())
    assert peak == 2


def test_next_checks_spread_around_the_interval() -> None:
    schedule = Schedule(jitter=0.1, rng=random.Random(7))
    hour = timedelta(hours=1)
    offsets = [(schedule.next_check(NOW, hour) - NOW) / hour for _ in range(500)]
    assert all(0.9 <= o <= 1.1 for o in offsets)
    assert max(offsets) - min(offsets) > 0.15  # spread, not one instant


def test_no_jitter_means_exact_intervals() -> None:
    schedule = Schedule(jitter=0)
    assert schedule.next_check(NOW, timedelta(hours=1)) == NOW + timedelta(hours=1)
    assert schedule.backoff_factor() == 1.0


def test_another_gate_takes_over_a_hosts_pace_pause_and_failures() -> None:
    """The queue engine runs a host's batches on any worker, one after another: the
    next worker's gate continues where the last one left the host."""
    first, clock = gate(per_host_rate=0.1)  # one request per 10 s
    asyncio.run(take(first))
    first.failed(URL, reason="timeout")
    pacing = first.pacing("jobs.example.com")
    assert pacing.failures == 1
    assert pacing.next_request_at is not None
    ahead = (pacing.next_request_at - datetime.now(UTC)).total_seconds()
    assert 9 < ahead <= 10

    second = HostGate(HttpConfig(per_host_rate=0.1), clock=clock, rng=random.Random(1))
    second.adopt("jobs.example.com", pacing)
    with pytest.raises(HostPaused):  # 10 s to wait is beyond what a request may queue
        asyncio.run(take(second))
    asyncio.run(take(second, OTHER))  # other hosts are not held back

    first.pause(URL, 600, reason="HTTP 429 Retry-After")
    third = HostGate(HttpConfig(), clock=clock, rng=random.Random(1))
    third.adopt("jobs.example.com", first.pacing("jobs.example.com"))
    assert third.paused_hosts() == {"jobs.example.com": pytest.approx(600)}
    assert third.pacing("jobs.example.com").failures == 1


def test_a_host_with_nothing_to_hand_over_has_an_empty_pacing() -> None:
    g, _clock = gate()
    pacing = g.pacing("jobs.example.com")
    assert (pacing.next_request_at, pacing.paused_until, pacing.failures) == (None, None, 0)
