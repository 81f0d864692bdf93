"""Several processes on one database: each alert is claimed by one of them and sent
once; claims run out, are given back, and never outlive a send."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.errors import NotifyError
from monitor.model import Alert
from monitor.store import Store
from monitor.store.engine import create_db_engine, upgrade
from monitor.testing import FrozenClock
from tests.harness import outbox_rows as rows
from tests.harness import queue_alerts

LEASE = timedelta(minutes=2)


@dataclass
class SlowNotifier:
    """Takes ``delay`` seconds per send (a webhook far away); records who sent what."""

    delay: float = 0.01
    sent: list[tuple[str, str]] = field(default_factory=list)
    clock: FrozenClock | None = None
    advance: timedelta = timedelta(0)

    async def send(self, channel: str, alert: Alert) -> None:
        await asyncio.sleep(self.delay)
        if self.clock is not None:
            self.clock.advance(self.advance)
        self.sent.append((channel, alert.title))


def make_store(db_url: str) -> Store:
    engine = create_db_engine(db_url)
    upgrade(engine)
    return Store(engine)


def make_app(db_url: str, notifier: Any, clock: FrozenClock, **settings: Any) -> App:
    config = MonitorConfig.model_validate(
        {
            "database": {"url": db_url},
            "channels": [{"name": "hook", "url": "json://127.0.0.1:9/alerts", **settings}],
            "alerts": {"send_timeout": "30s"},
        }
    )
    return App(config, notifier=notifier, clock=clock)


def test_claims_are_exclusive_until_they_run_out(db_url: str) -> None:
    store = make_store(db_url)
    clock = FrozenClock()
    queue_alerts(store, 5, now=clock.now())
    first = store.outbox.claim_alerts(now=clock.now(), lease=LEASE, claimant="a", limit=3)
    second = store.outbox.claim_alerts(now=clock.now(), lease=LEASE, claimant="b", limit=3)
    assert len(first) == 3
    assert len(second) == 2
    assert not {q.id for q in first} & {q.id for q in second}
    assert store.outbox.claim_alerts(now=clock.now(), lease=LEASE, claimant="c") == []
    assert store.outbox.due_alerts(now=clock.now()) == []

    assert store.outbox.mark_sent(first[0].id, now=clock.now(), claimant="a") is True
    later = clock.now() + LEASE
    taken_over = store.outbox.claim_alerts(now=later, lease=LEASE, claimant="c")
    # a's two unsent and b's two come back to whoever claims next; a's sent one does not
    assert sorted(q.id for q in taken_over) == sorted(q.id for q in [*first[1:], *second])
    assert store.outbox.mark_sent(first[1].id, now=later, claimant="a") is False  # c holds it now
    assert {a.status for a in store.outbox.alerts() if a.id == first[1].id} == {"sent"}
    store.engine.dispose()


def test_released_alerts_can_be_claimed_at_once_and_only_by_their_claimant(db_url: str) -> None:
    store = make_store(db_url)
    clock = FrozenClock()
    queue_alerts(store, 2, now=clock.now())
    claimed = store.outbox.claim_alerts(now=clock.now(), lease=LEASE, claimant="a")
    store.outbox.release_alerts([q.id for q in claimed], claimant="someone else")
    assert store.outbox.claim_alerts(now=clock.now(), lease=LEASE, claimant="b") == []
    store.outbox.release_alerts([q.id for q in claimed], claimant="a")
    assert len(store.outbox.claim_alerts(now=clock.now(), lease=LEASE, claimant="b")) == 2
    store.engine.dispose()


def test_three_processes_delivering_together_send_each_alert_once(db_url: str) -> None:
    clock = FrozenClock()
    notifier = SlowNotifier(delay=0.005)
    apps = [make_app(db_url, notifier, clock) for _ in range(3)]
    apps[0].prepare()
    queue_alerts(apps[0].store, 60, now=clock.now())

    async def deliver_together() -> list[int]:
        reports = await asyncio.gather(*(app.deliver(drain=True) for app in apps))
        return [r.sent for r in reports]

    try:
        sent = asyncio.run(deliver_together())
    finally:
        for app in apps:
            asyncio.run(app.aclose())
    titles = Counter(title for _channel, title in notifier.sent)
    assert len(titles) == 60
    assert max(titles.values()) == 1, f"sent twice: {[t for t, n in titles.items() if n > 1]}"
    assert sum(sent) == 60


def test_a_claim_with_no_time_left_for_a_send_is_given_back(db_url: str) -> None:
    clock = FrozenClock()
    # Each send takes 45 s of the claim's 2 minutes (4 x 30 s): after two sends there
    # is no room for a third, which would end after the claim.
    notifier = SlowNotifier(delay=0, clock=clock, advance=timedelta(seconds=45))
    app = make_app(db_url, notifier, clock)
    app.prepare()
    queue_alerts(app.store, 5, now=clock.now())
    try:
        report = asyncio.run(app.deliver())
        assert report.sent == 2
        waiting = app.store.outbox.due_alerts(now=clock.now())
        assert len(waiting) == 3  # unclaimed now: any process may take them
        assert asyncio.run(app.deliver()).sent == 2
    finally:
        asyncio.run(app.aclose())


def test_a_send_that_hangs_fails_after_the_send_timeout(db_url: str) -> None:
    clock = FrozenClock()
    config = MonitorConfig.model_validate(
        {
            "database": {"url": db_url},
            "channels": [{"name": "hook", "url": "json://127.0.0.1:9/alerts"}],
            "alerts": {"send_timeout": 0.2},
        }
    )
    app = App(config, notifier=SlowNotifier(delay=30), clock=clock)
    app.prepare()
    queue_alerts(app.store, 1, now=clock.now())
    try:
        report = asyncio.run(app.deliver())
        (alert,) = app.store.outbox.alerts()
    finally:
        asyncio.run(app.aclose())
    assert report.retrying == 1
    assert alert.status == "pending"
    assert alert.attempts == 1
    assert alert.last_error == "channel 'hook' did not answer within 0.2 s"


def test_a_stop_in_the_middle_of_a_batch_gives_back_what_was_not_sent(db_url: str) -> None:
    clock = FrozenClock()
    notifier = SlowNotifier(delay=0.05)
    app = make_app(db_url, notifier, clock)
    app.prepare()
    queue_alerts(app.store, 20, now=clock.now())

    async def stop_after_a_few() -> None:
        task = asyncio.create_task(app.deliver())
        while len(notifier.sent) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        asyncio.run(stop_after_a_few())
        pending = app.store.outbox.due_alerts(now=clock.now())
    finally:
        asyncio.run(app.aclose())
    sent = len(notifier.sent)
    # Nothing held by the stopped process, and what it sent is marked sent (stopped
    # while marking it, too): given back, it would go out twice.
    assert len(pending) == 20 - sent


def test_a_stop_as_a_send_ends_still_marks_that_alert_sent(db_url: str) -> None:
    clock = FrozenClock()

    class StopAfterThirdSend(SlowNotifier):
        async def send(self, channel: str, alert: Alert) -> None:
            await super().send(channel, alert)
            if len(self.sent) == 3:  # the stop arrives as the channel says yes
                task = asyncio.current_task()
                assert task is not None
                task.cancel()

    notifier = StopAfterThirdSend(delay=0)
    app = make_app(db_url, notifier, clock)
    app.prepare()
    queue_alerts(app.store, 5, now=clock.now())
    try:
        with pytest.raises(asyncio.CancelledError):
            asyncio.run(app.deliver())
        statuses = Counter(a.status for a in app.store.outbox.alerts())
        due = app.store.outbox.due_alerts(now=clock.now())
    finally:
        asyncio.run(app.aclose())
    assert statuses == {"sent": 3, "pending": 2}
    assert len(due) == 2


def test_a_digest_goes_out_once_when_several_processes_are_due(db_url: str) -> None:
    clock = FrozenClock()
    notifier = SlowNotifier(delay=0.02)
    apps = [make_app(db_url, notifier, clock, digest="1h") for _ in range(3)]
    apps[0].prepare()
    queue_alerts(apps[0].store, 7, now=clock.now())
    clock.advance(timedelta(hours=1, minutes=1))

    async def deliver_together() -> None:
        await asyncio.gather(*(app.deliver() for app in apps))

    try:
        asyncio.run(deliver_together())
        statuses = Counter(a.status for a in apps[0].store.outbox.alerts())
    finally:
        for app in apps:
            asyncio.run(app.aclose())
    assert len(notifier.sent) == 1
    assert statuses == {"sent": 7}


def test_a_digest_that_fails_gives_its_claim_back_with_the_failure(db_url: str) -> None:
    clock = FrozenClock()

    class Down:
        async def send(self, channel: str, alert: Alert) -> None:
            raise NotifyError("down (fake)")

    app = make_app(db_url, Down(), clock, digest="1h")
    app.prepare()
    queue_alerts(app.store, 2, now=clock.now())
    clock.advance(timedelta(hours=2))
    try:
        report = asyncio.run(app.deliver())
        clock.advance(timedelta(minutes=1))
        again = app.store.outbox.due_alerts(now=clock.now())
    finally:
        asyncio.run(app.aclose())
    assert report.retrying == 2
    assert len(again) == 2  # due at the retry time, and held by nobody


def test_a_failing_digest_backs_off_doubling_then_gives_up(db_url: str) -> None:
    clock = FrozenClock()
    tries: list[int] = []

    class Down:
        async def send(self, channel: str, alert: Alert) -> None:
            tries.append(1)
            raise NotifyError("down (fake)")

    config = MonitorConfig.model_validate(
        {
            "database": {"url": db_url},
            "channels": [{"name": "hook", "url": "json://127.0.0.1:9/alerts", "digest": "1h"}],
            "alerts": {"send_timeout": "30s", "max_attempts": 3, "retry_base": "1m"},
        }
    )
    app = App(config, notifier=Down(), clock=clock)
    app.prepare()
    queue_alerts(app.store, 2, now=clock.now())

    def deliver_after(wait: timedelta) -> Any:
        clock.advance(wait)
        return asyncio.run(app.deliver())

    try:
        assert deliver_after(timedelta(hours=1)).retrying == 2  # attempt 1
        assert deliver_after(timedelta(seconds=59)).retrying == 0  # 1 min not yet up
        assert len(tries) == 1
        assert deliver_after(timedelta(seconds=1)).retrying == 2  # attempt 2, 1 min on
        assert deliver_after(timedelta(seconds=119)).retrying == 0  # the wait doubled: 2 min
        assert len(tries) == 2
        gave_up = deliver_after(timedelta(seconds=1))  # attempt 3 of 3: given up
        assert (gave_up.failed, gave_up.retrying) == (2, 0)
        assert deliver_after(timedelta(days=1)).failed == 0  # never tried again
        alerts = app.store.outbox.alerts()
    finally:
        asyncio.run(app.aclose())
    assert len(tries) == 3
    assert [(a.status, a.attempts, a.last_error) for a in alerts] == [
        ("failed", 3, "down (fake)"),
        ("failed", 3, "down (fake)"),
    ]


def test_each_digest_channel_goes_by_its_own_oldest_alert(db_url: str) -> None:
    clock = FrozenClock()
    sent: list[tuple[str, str]] = []

    class Recording:
        async def send(self, channel: str, alert: Alert) -> None:
            sent.append((channel, alert.title))

    config = MonitorConfig.model_validate(
        {
            "database": {"url": db_url},
            "channels": [
                {"name": "hook", "url": "json://127.0.0.1:9/a", "digest": "1h"},
                {"name": "mail", "url": "json://127.0.0.1:9/b", "digest": "1d"},
            ],
        }
    )
    app = App(config, notifier=Recording(), clock=clock)
    app.prepare()
    start = clock.now()
    queue_alerts(app.store, 1, channel="mail", now=start)
    queue_alerts(app.store, 2, channel="hook", now=start + timedelta(minutes=50), first=1)
    try:
        clock.advance(timedelta(minutes=61))  # mail's alert is older, but mail is daily
        asyncio.run(app.deliver())
        assert sent == []
        clock.advance(timedelta(minutes=50))  # an hour after hook's oldest
        asyncio.run(app.deliver())
        assert [channel for channel, _title in sent] == ["hook"]
        clock.advance(timedelta(days=1))
        asyncio.run(app.deliver())
        assert [channel for channel, _title in sent] == ["hook", "mail"]
        statuses = Counter(a.status for a in app.store.outbox.alerts())
    finally:
        asyncio.run(app.aclose())
    assert statuses == {"sent": 3}


def test_a_digest_send_that_breaks_gives_its_claim_back_at_once(db_url: str) -> None:
    clock = FrozenClock()

    class Broken:
        async def send(self, channel: str, alert: Alert) -> None:
            raise RuntimeError("a bug in a channel plugin (fake)")

    app = make_app(db_url, Broken(), clock, digest="1h")
    app.prepare()
    queue_alerts(app.store, 2, now=clock.now())
    clock.advance(timedelta(hours=2))
    try:
        with pytest.raises(RuntimeError, match="a bug"):
            asyncio.run(app.deliver())
        due = app.store.outbox.due_alerts(now=clock.now())  # no claim left on them
        statuses = Counter(a.status for a in app.store.outbox.alerts())
    finally:
        asyncio.run(app.aclose())
    assert len(due) == 2
    assert statuses == {"pending": 2}


def test_a_digest_holds_at_most_500_alerts_and_the_rest_go_in_the_next(db_url: str) -> None:
    clock = FrozenClock()
    notifier = SlowNotifier(delay=0)
    app = make_app(db_url, notifier, clock, digest="1h")
    app.prepare()
    queue_alerts(app.store, 501, now=clock.now())
    clock.advance(timedelta(hours=1))
    try:
        first = asyncio.run(app.deliver())
        second = asyncio.run(app.deliver())  # the one left is as old: due as well
        sent_at = {r["sent_at"] for r in rows(app.store)}
    finally:
        asyncio.run(app.aclose())
    assert (first.sent, second.sent) == (500, 1)
    assert len(notifier.sent) == 2
    assert sent_at == {clock.now()}
