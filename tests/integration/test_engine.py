"""The local engine over many postings: claims, leases, batched writes, politeness,
metrics and a graceful stop, against an in-process server."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.engines.local import LocalEngine
from monitor.engines.oneshot import _claimed_in_parts, check_all
from monitor.model import CheckOutcome
from monitor.records import WatchSpec
from monitor.store.tables import postings
from monitor.testing import FrozenClock, RecordingNotifier
from tests.conftest import seed_text
from tests.harness import outbox_rows

PAGE = seed_text("stripe-backend-engineer.html")
HOST = "https://jobs.example.com"


def page_for(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text=PAGE, headers={"Content-Type": "text/html", "ETag": '"v1"'})


class Site:
    """Counts requests per path; ``respond`` decides the answer."""

    def __init__(self, respond: Any = page_for) -> None:
        self.respond = respond
        self.hits: Counter[str] = Counter()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.hits[request.url.path] += 1
        return self.respond(request)  # type: ignore[no-any-return]


def make_app(db_url: str, site: Site, clock: FrozenClock | None = None, **config: Any) -> App:
    data = {
        "database": {"url": db_url},
        "http": {"hosts": {"jobs.example.com": {"concurrency": 16, "rate": 0}}},
        **config,
    }
    return App(
        MonitorConfig.model_validate(data),
        transport=httpx.MockTransport(site),
        notifier=RecordingNotifier(),
        clock=clock or FrozenClock(),
    )


def watch_many(app: App, count: int) -> None:
    app.prepare()
    specs = [
        WatchSpec(
            url=f"{HOST}/jobs/{n}",
            source_kind="html",
            source_id=f"{HOST}/jobs/{n}",
            interval=timedelta(hours=1),
        )
        for n in range(count)
    ]
    app.store.watches.sync_config_watches(specs, now=app.clock.now())
    # Everything due now, not spread (see test_watches_added_together_start_spread_out).
    app.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]


def test_two_engines_on_one_database_never_check_a_posting_twice(db_url: str) -> None:
    site = Site()
    first, second = make_app(db_url, site), make_app(db_url, site)
    watch_many(first, 120)
    second.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]

    async def both() -> list[Any]:
        return await asyncio.gather(LocalEngine(first).run_due(), LocalEngine(second).run_due())

    reports = asyncio.run(both())
    assert sum(r.checked for r in reports) == 120
    assert set(site.hits.values()) == {1}
    assert len(site.hits) == 120
    for app in (first, second):
        asyncio.run(app.aclose())


def test_checks_are_written_many_per_transaction(db_url: str) -> None:
    # Pages read on the event loop: checks then finish in bursts, as they do on a busy
    # daemon; with reader processes on an idle machine they may trickle in one by one,
    # and writing each at once is then right.
    app = make_app(db_url, Site(), scheduler={"max_concurrent_checks": 32}, reading={"workers": 0})
    watch_many(app, 200)
    report = asyncio.run(LocalEngine(app).run_due())
    assert report.outcomes == {CheckOutcome.BASELINE: 200}
    registry = app.metrics.registry
    batches = registry.get_sample_value("posting_monitor_write_batch_checks_count")
    written = registry.get_sample_value("posting_monitor_write_batch_checks_sum")
    assert written == 200
    assert batches is not None
    assert batches < 100  # well under one transaction per check
    assert app.store.maintenance.count("snapshots") == 200
    asyncio.run(app.aclose())


def test_a_host_that_says_retry_after_defers_its_other_postings(db_url: str) -> None:
    site = Site(lambda _r: httpx.Response(429, headers={"Retry-After": "900"}))
    app = make_app(
        db_url,
        site,
        http={"hosts": {"jobs.example.com": {"concurrency": 1, "rate": 0}}},
    )
    watch_many(app, 5)
    report = asyncio.run(LocalEngine(app).run_due())
    assert report.outcomes == {CheckOutcome.ERROR: 1, CheckOutcome.DEFERRED: 4}
    assert sum(site.hits.values()) == 1
    now = app.clock.now()
    states = [app.store.postings.get_posting(f"{HOST}/jobs/{n}") for n in range(5)]
    failed = [s for s in states if s.consecutive_failures]
    deferred = [s for s in states if not s.consecutive_failures]
    assert len(failed) == 1
    assert failed[0].next_check_at - now >= timedelta(seconds=900)  # Retry-After is a floor
    for state in deferred:
        assert state.last_outcome is None  # never checked: no failure, no log row
        assert timedelta(seconds=600) < state.next_check_at - now < timedelta(seconds=1200)
    assert app.store.maintenance.count("check_log") == 1
    asyncio.run(app.aclose())


def test_watches_added_together_start_spread_out(sqlite_url: str) -> None:
    app = make_app(sqlite_url, Site())
    app.prepare()
    now = app.clock.now()
    specs = [
        WatchSpec(url=f"{HOST}/jobs/{n}", source_kind="html", source_id=str(n),
                  interval=timedelta(hours=1))
        for n in range(100)
    ]  # fmt: skip
    app.store.watches.sync_config_watches(specs, now=now)
    due = sorted(
        s.next_check_at for s in app.store.leases.claim_all(now=now, lease=timedelta(minutes=1))
    )
    assert len(set(due)) == 100
    assert due[-1] - due[0] >= timedelta(seconds=4)
    assert app.store.maintenance.due_count(now=now) == 0  # all leased now
    asyncio.run(app.aclose())


def test_the_daemon_serves_prometheus_metrics(sqlite_url: str) -> None:
    app = make_app(
        sqlite_url,
        Site(),
        scheduler={"metrics_listen": "127.0.0.1:0", "dispatch_every": 1, "heartbeat_every": 1},
    )
    watch_many(app, 3)
    engine = LocalEngine(app)

    async def run_and_scrape() -> str:
        stop = asyncio.Event()
        daemon = asyncio.create_task(engine.run(stop))
        for _ in range(200):
            await asyncio.sleep(0.05)
            if app.metrics.registry.get_sample_value(
                "posting_monitor_checks_total", {"outcome": "baseline"}
            ) == 3 and app.metrics.registry.get_sample_value(
                "posting_monitor_heartbeat_timestamp_seconds"
            ):
                break
        port = app.metrics.port
        assert port is not None
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        stop.set()
        await daemon
        return text

    text = asyncio.run(run_and_scrape())
    assert 'posting_monitor_checks_total{outcome="baseline"} 3.0' in text
    assert "posting_monitor_check_duration_seconds_bucket" in text
    assert "posting_monitor_queue_lag_seconds_count 3.0" in text
    assert "posting_monitor_due_postings" in text
    (record,) = app.store.processes.daemons()
    assert record.stopped_at is not None
    assert record.checks == 3
    assert app.metrics.port is None  # closed with the app
    asyncio.run(app.aclose())


def test_stop_lets_running_checks_finish_and_writes_them(sqlite_url: str) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    class SlowTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            started.set()
            await release.wait()
            return page_for(request)

    app = App(
        MonitorConfig.model_validate(
            {"database": {"url": sqlite_url}, "scheduler": {"dispatch_every": 1}}
        ),
        transport=SlowTransport(),
        notifier=RecordingNotifier(),
        clock=FrozenClock(),
    )
    watch_many(app, 4)

    async def stop_mid_check() -> None:
        stop = asyncio.Event()
        daemon = asyncio.create_task(LocalEngine(app).run(stop))
        await started.wait()
        stop.set()
        await asyncio.sleep(0.1)
        release.set()
        await daemon

    asyncio.run(stop_mid_check())
    states = [app.store.postings.get_posting(f"{HOST}/jobs/{n}") for n in range(4)]
    assert all(s.last_outcome == "baseline" for s in states)
    assert app.store.maintenance.count("snapshots") == 4
    asyncio.run(app.aclose())


@pytest.mark.parametrize("grace", ["1s"])
def test_checks_past_the_grace_are_cancelled_and_left_for_the_next_start(
    sqlite_url: str, grace: str
) -> None:
    entered: list[str] = []

    class HangingTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            entered.append(str(request.url))
            await asyncio.sleep(3600)
            raise AssertionError("unreachable")

    app = App(
        MonitorConfig.model_validate(
            {"database": {"url": sqlite_url}, "scheduler": {"shutdown_grace": grace}}
        ),
        transport=HangingTransport(),
        notifier=RecordingNotifier(),
        clock=FrozenClock(),
    )
    watch_many(app, 2)

    async def stop_mid_checks() -> None:
        stop = asyncio.Event()
        daemon = asyncio.create_task(LocalEngine(app).run(stop))
        async with asyncio.timeout(30):
            while len(entered) < 2:  # both checks are in flight, hanging
                await asyncio.sleep(0.01)
        stop.set()
        await daemon

    asyncio.run(stop_mid_checks())
    assert len(entered) == 2
    states = [app.store.postings.get_posting(f"{HOST}/jobs/{n}") for n in range(2)]
    assert all(s.last_checked_at is None for s in states)  # nothing half-written
    assert app.store.maintenance.count("snapshots") == 0
    # Left for the next start: nothing holds them.
    again = app.store.leases.claim_due(now=app.clock.now(), limit=10, lease=timedelta(minutes=5))
    assert sorted(s.url for s in again) == sorted(f"{HOST}/jobs/{n}" for n in range(2))
    asyncio.run(app.aclose())


class SlowNotifier(RecordingNotifier):
    """A channel that takes its time: holds each send until released."""

    def __init__(self) -> None:
        super().__init__()
        self.sending = asyncio.Event()
        self.release = asyncio.Event()
        self.attempts = 0

    async def send(self, channel: str, alert: Any) -> None:
        self.attempts += 1
        self.sending.set()
        await self.release.wait()
        await super().send(channel, alert)


def test_a_stop_during_a_delivery_finishes_it_without_a_traceback(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """APScheduler cancels its running jobs at shutdown and would log that as an error
    with a traceback; the delivery in flight must still finish, once, and no error be
    logged."""
    revised = seed_text("stripe-backend-engineer.v2.html")
    site = Site()
    notifier = SlowNotifier()
    clock = FrozenClock()
    app = App(
        MonitorConfig.model_validate(
            {"database": {"url": sqlite_url}, "scheduler": {"deliver_every": "1s"}}
        ),
        transport=httpx.MockTransport(site),
        notifier=notifier,
        clock=clock,
    )
    watch_many(app, 1)
    asyncio.run(check_all(app))  # the baseline
    site.respond = lambda _r: httpx.Response(
        200, text=revised, headers={"Content-Type": "text/html"}
    )
    clock.advance(timedelta(days=1))

    async def stop_mid_delivery() -> None:
        stop = asyncio.Event()
        daemon = asyncio.create_task(LocalEngine(app).run(stop))
        await notifier.sending.wait()
        stop.set()
        await asyncio.sleep(0.2)  # the scheduler has shut down and cancelled its jobs
        notifier.release.set()
        await daemon

    with caplog.at_level(logging.INFO):
        asyncio.run(stop_mid_delivery())
    assert len(notifier.sent) == 1
    assert notifier.attempts == 1  # the send in flight was waited for, not cut and redone
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not any(r.exc_info for r in caplog.records)
    asyncio.run(app.aclose())


def test_a_delivery_hanging_past_the_grace_is_cut_off_there_and_its_alert_stays_queued(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A channel that never answers: the stop waits for it until the grace ends (not
    less, not forever), then gives up; the alert is neither lost nor marked sent."""
    revised = seed_text("stripe-backend-engineer.v2.html")
    site = Site()
    notifier = SlowNotifier()  # never released
    clock = FrozenClock()
    app = App(
        MonitorConfig.model_validate(
            {
                "database": {"url": sqlite_url},
                "scheduler": {"deliver_every": "1s", "shutdown_grace": "2s"},
            }
        ),
        transport=httpx.MockTransport(site),
        notifier=notifier,
        clock=clock,
    )
    watch_many(app, 1)
    asyncio.run(check_all(app))  # the baseline
    site.respond = lambda _r: httpx.Response(
        200, text=revised, headers={"Content-Type": "text/html"}
    )
    clock.advance(timedelta(days=1))
    took: list[float] = []

    async def stop_mid_delivery() -> None:
        stop = asyncio.Event()
        daemon = asyncio.create_task(LocalEngine(app).run(stop))
        async with asyncio.timeout(30):
            await notifier.sending.wait()
        loop = asyncio.get_running_loop()
        began = loop.time()
        stop.set()
        async with asyncio.timeout(20):  # a stop that waits forever fails here
            await daemon
        took.append(loop.time() - began)

    with caplog.at_level(logging.INFO):
        asyncio.run(stop_mid_delivery())
    assert 1.8 <= took[0] < 10, took  # it waited out the 2 s grace, then stopped
    assert notifier.sent == []
    assert any("stay queued" in r.getMessage() for r in caplog.records)
    (row,) = outbox_rows(app.store)
    assert row["sent_at"] is None
    assert row["status"] != "sent"
    asyncio.run(app.aclose())


def test_a_one_shot_pass_in_parts_checks_each_posting_once(db_url: str) -> None:
    """`check` leases the pass a part at a time; postings due in an order other than
    their ids must still each be checked exactly once."""
    site = Site()
    app = make_app(db_url, site, scheduler={"batch_size": 7})
    watch_many(app, 40)
    with app.engine.begin() as conn:  # due in reverse order of id
        for posting_id in conn.scalars(select(postings.c.id)).all():
            conn.execute(
                update(postings)
                .where(postings.c.id == posting_id)
                .values(next_check_at=app.clock.now() - timedelta(seconds=posting_id))
            )

    async def claimed() -> list[int]:
        ids = []
        async for state in _claimed_in_parts(app):
            ids.append(state.id)
            # Written at once, as a fast check is: its lease ends before the pass does.
            await app.store.run(app.store.leases.release_leases, [state.id])
        return ids

    ids = asyncio.run(claimed())
    assert len(ids) == 40
    assert len(set(ids)) == 40
    report = asyncio.run(check_all(app))
    assert report.checked == 40
    assert set(site.hits.values()) == {1}
    asyncio.run(app.aclose())
