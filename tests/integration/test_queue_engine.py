"""The procrastinate engine in one process: several workers (each its own App, pool
and connections) on one PostgreSQL schema."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from procrastinate.jobs import Status
from sqlalchemy import func, select, text

from monitor.app import App
from monitor.config import ChannelConfig, MonitorConfig
from monitor.engines.queue import QueueEngine, apply_queue_schema, every_as_cron
from monitor.errors import ConfigError, StoreError
from monitor.model import HostPacing
from monitor.records import DaemonRecord, WatchSpec
from monitor.store.job_queue import queue_conninfo
from monitor.store.tables import check_log, postings
from monitor.testing import FakeBrowser, FrozenClock, RecordingNotifier
from tests.conftest import seed_text
from tests.harness import queue_alerts

PAGE = seed_text("stripe-backend-engineer.html")
HOSTS = ("jobs.alpha.example", "jobs.beta.example")
HOST_LIMIT = 2


class CountingSite:
    """Answers every page after a pause, counting requests in flight per host; with
    ``gather``, the first requests wait (5 s at most) until that many are in flight."""

    def __init__(self, pause: float = 0.02, gather: int = 0) -> None:
        self.pause = pause
        self.gathered = asyncio.Event()
        self.gather = gather
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.peak_of_all = 0
        self.hosts_at_once = 0
        self.hits: Counter[str] = Counter()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.in_flight[host] += 1
        self.peak[host] = max(self.peak[host], self.in_flight[host])
        self.peak_of_all = max(self.peak_of_all, self.in_flight.total())
        self.hosts_at_once = max(self.hosts_at_once, sum(1 for n in self.in_flight.values() if n))
        self.hits[str(request.url)] += 1
        if self.in_flight.total() >= self.gather:
            self.gathered.set()
        try:
            if not self.gathered.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.gathered.wait(), 5)
            await asyncio.sleep(self.pause)
        finally:
            self.in_flight[host] -= 1
        return httpx.Response(200, text=PAGE, headers={"Content-Type": "text/html"})


def make_app(
    db_url: str,
    site: CountingSite,
    clock: FrozenClock,
    *,
    scheduler: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
) -> App:
    limits = limits or {"concurrency": HOST_LIMIT, "rate": 0}
    config = MonitorConfig.model_validate(
        {
            "engine": "procrastinate",
            "database": {"url": db_url},
            "http": {"hosts": dict.fromkeys(HOSTS, limits)},
            "scheduler": {
                "dispatch_every": "1s",
                "deliver_every": "1s",
                "heartbeat_every": "1s",
                **(scheduler or {}),
            },
        }
    )
    return App(
        config,
        transport=httpx.MockTransport(site),
        notifier=RecordingNotifier(),
        clock=clock,
    )


def watch(app: App, count: int) -> list[str]:
    urls = [f"https://{HOSTS[n % 2]}/jobs/{n}" for n in range(count)]
    specs = [
        WatchSpec(url=url, source_kind="html", source_id=url, interval=timedelta(hours=1))
        for url in urls
    ]
    app.store.watches.sync_config_watches(specs, now=app.clock.now())
    app.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    return urls


def checks_logged(app: App) -> int:
    with app.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(check_log)) or 0)


async def run_workers(engines: list[QueueEngine], done: Any, timeout: float = 60) -> None:
    stop = asyncio.Event()
    running = [asyncio.create_task(engine.run(stop)) for engine in engines]
    deadline = time.monotonic() + timeout
    try:
        while not done():
            assert time.monotonic() < deadline, "the workers did not finish in time"
            for task in running:
                if task.done():
                    task.result()  # a worker that died says why
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(*running)


@pytest.mark.postgres
def test_three_workers_check_each_posting_once_within_each_hosts_limit(
    postgres_url: str,
) -> None:
    site, clock = CountingSite(), FrozenClock()
    apps = [make_app(postgres_url, site, clock) for _ in range(3)]
    apps[0].prepare()
    assert apply_queue_schema(postgres_url) is True
    assert apply_queue_schema(postgres_url) is False  # idempotent
    urls = watch(apps[0], 60)
    # Small batches: a host has six, and three workers would run them side by side
    # (3 x 2 requests in flight) if batches of one host did not wait for each other.
    engines = [QueueEngine(app, checks_per_batch=5) for app in apps]
    with apps[0].engine.begin() as conn:  # another program's job, on its own queue
        conn.execute(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args) "
                "VALUES ('someone-else', 'their.task', '{}')"
            )
        )
    try:
        asyncio.run(run_workers(engines, lambda: checks_logged(apps[0]) >= 60))
        logged = checks_logged(apps[0])
        workers = apps[0].store.processes.daemons()
        with apps[0].engine.connect() as conn:
            jobs = conn.execute(text("SELECT queue_name, status FROM procrastinate_jobs")).all()
    finally:
        for app in apps:
            asyncio.run(app.aclose())
    assert logged == 60
    assert sorted(site.hits) == sorted(urls)
    assert set(site.hits.values()) == {1}  # each page fetched once
    assert max(site.peak.values()) <= HOST_LIMIT, site.peak
    assert len(workers) == 3
    assert all(w.stopped_at is not None and w.kind == "worker" for w in workers)
    assert sum(engine.checks_started for engine in engines) == 60
    assert ("someone-else", "todo") in jobs  # left alone
    assert all(status != "succeeded" for _queue, status in jobs)  # done jobs are deleted


@pytest.mark.postgres
def test_a_batch_that_ran_late_checks_nothing_leased_again(postgres_url: str) -> None:
    site, clock = CountingSite(), FrozenClock()
    app = make_app(postgres_url, site, clock)
    app.prepare()
    apply_queue_schema(postgres_url)
    watch(app, 4)
    engine = QueueEngine(app)
    try:
        first = app.store.leases.claim_due(now=clock.now(), limit=10, lease=timedelta(minutes=1))
        old_lease = clock.now() + timedelta(minutes=1)
        clock.advance(timedelta(minutes=2))  # the lease ran out ...
        again = app.store.leases.claim_due(now=clock.now(), limit=2, lease=timedelta(minutes=1))
        assert len(again) == 2  # ... and two postings went to another batch
        asyncio.run(engine.check_batch(HOSTS[0], [s.id for s in first], old_lease))
    finally:
        asyncio.run(app.aclose())
    taken = {s.url for s in again}
    assert set(site.hits) == {s.url for s in first} - taken


def test_the_engine_needs_postgresql(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match=r"needs PostgreSQL: set database.url to a postgresql"):
        MonitorConfig.model_validate({"engine": "procrastinate", "database": {"url": sqlite_url}})
    with pytest.raises(ConfigError, match="needs PostgreSQL"):
        queue_conninfo(sqlite_url)


def test_queue_conninfo_keeps_options_and_drops_the_driver() -> None:
    url = "postgresql+psycopg://monitor:p%40ss@db:5432/monitor?options=-csearch_path%3Dx"
    assert queue_conninfo(url) == (
        "postgresql://monitor:p%40ss@db:5432/monitor?options=-csearch_path%3Dx"
    )


@pytest.mark.parametrize(
    ("every", "cron"),
    [
        (timedelta(seconds=1), "* * * * * *"),
        (timedelta(seconds=5), "* * * * * */5"),
        (timedelta(seconds=7), "* * * * * */6"),
        (timedelta(seconds=45), "* * * * * */30"),
        (timedelta(minutes=1), "* * * * *"),
        (timedelta(minutes=14), "*/12 * * * *"),
        (timedelta(hours=2), "*/30 * * * *"),
    ],
)
def test_intervals_become_crons_that_fire_at_least_as_often(every: timedelta, cron: str) -> None:
    assert every_as_cron(every) == cron


@pytest.mark.postgres
def test_a_batch_keeps_the_pause_another_workers_batch_left_for_its_host(
    postgres_url: str,
) -> None:
    site, clock = CountingSite(), FrozenClock()
    app = make_app(postgres_url, site, clock)
    app.prepare()
    apply_queue_schema(postgres_url)
    watch(app, 4)
    pause_end = clock.now() + timedelta(minutes=10)
    app.store.processes.save_host_pacing(HOSTS[0], HostPacing(paused_until=pause_end, failures=3))
    engine = QueueEngine(app)
    try:
        leased = app.store.leases.claim_due(now=clock.now(), limit=10, lease=timedelta(minutes=1))
        until = clock.now() + timedelta(minutes=1)
        paused = [s.id for s in leased if HOSTS[0] in s.url]
        free = [s.id for s in leased if HOSTS[1] in s.url]
        asyncio.run(engine.check_batch(HOSTS[0], paused, until))
        asyncio.run(engine.check_batch(HOSTS[1], free, until))
        left = {host: app.store.processes.host_pacing(host) for host in HOSTS}
    finally:
        asyncio.run(app.aclose())
    assert {url.split("/")[2] for url in site.hits} == {HOSTS[1]}  # the paused host: none
    assert left[HOSTS[0]].paused_until == pause_end
    assert left[HOSTS[0]].failures == 3
    assert left[HOSTS[1]].paused_until is None


def _notifications(conn: psycopg.Connection[Any], wait: float) -> list[dict[str, Any]]:
    return [json.loads(n.payload) for n in conn.notifies(timeout=wait)]


Ending = Callable[[Any, int], Awaitable[None]]


async def _succeeded(manager: Any, job_id: int) -> None:
    await manager.finish_job_by_id_async(job_id, Status.SUCCEEDED, delete_job=True)


async def _failed(manager: Any, job_id: int) -> None:
    await manager.finish_job_by_id_async(job_id, Status.FAILED, delete_job=False)


async def _retried(manager: Any, job_id: int) -> None:
    await manager.retry_job_by_id_async(job_id, retry_at=datetime.now(UTC))


@pytest.mark.postgres
@pytest.mark.parametrize("end", [_succeeded, _failed, _retried])
def test_a_batch_that_ends_wakes_the_workers_when_its_host_has_another_waiting(
    postgres_url: str, end: Ending
) -> None:
    """Workers that found only batches of busy hosts sleep until a job is inserted (or
    their 1 s poll): a batch's end (done and deleted, failed and kept, or put back to
    wait) must wake them as an insert does, on the queue's channel and on the one for
    every queue, when its host has a batch waiting, and only then."""
    app = make_app(postgres_url, CountingSite(), FrozenClock())
    app.prepare()
    apply_queue_schema(postgres_url)
    apply_queue_schema(postgres_url)  # the trigger is made once
    engine = QueueEngine(app)
    queue, manager = engine.queue, engine.queue.job_manager
    batch = {"ids": [1], "lease_until": "2026-01-01T00:00:00+00:00"}
    listener = psycopg.connect(queue_conninfo(postgres_url), autocommit=True)
    listener.execute('LISTEN "procrastinate_queue_v1#posting-monitor"')
    listener.execute("LISTEN procrastinate_any_queue_v1")

    async def defer_fetch_and_end(hosts: list[str]) -> list[int]:
        """Defer a batch per host, take each in turn and end it, returning the
        wake-ups each end caused."""
        woken = []
        async with queue.open_async():
            worker = await manager.register_worker()
            for host in hosts:
                await (
                    queue.tasks["monitor.check"]
                    .configure(lock=f"host:{host}", queue="posting-monitor")
                    .defer_async(host=host, **batch)
                )
            _notifications(listener, 0.2)  # the inserts' own
            for _ in hosts:
                job = await manager.fetch_job(queues=None, worker_id=worker)
                assert job is not None
                assert job.id is not None
                await end(manager, job.id)
                woken.append(len(_notifications(listener, 0.5)))
        return woken

    try:
        # alpha has a second batch waiting behind the first; beta has one alone
        woken = asyncio.run(defer_fetch_and_end([HOSTS[0], HOSTS[0], HOSTS[1]]))
    finally:
        listener.close()
        asyncio.run(app.aclose())
    if end is _retried:  # a batch put back waits itself: each end finds one waiting
        assert woken == [2, 2, 2]
    else:
        assert woken == [2, 0, 0]


async def stall(
    engine: QueueEngine, jobs: list[tuple[str, dict[str, Any], str | None]], queue_name: str = ""
) -> None:
    """Jobs taken by a worker that then died: each deferred (on ``queue_name``, else
    its task's), fetched as 'doing' by a registered worker whose heartbeat is then made
    a minute old."""
    queue = engine.queue
    manager = queue.job_manager
    async with queue.open_async():
        dead = await manager.register_worker()
        for name, kwargs, lock in jobs:
            task = queue.tasks[name].configure(lock=lock, queue=queue_name or None)
            await task.defer_async(**kwargs)
            assert await manager.fetch_job(queues=None, worker_id=dead) is not None
        await manager.connector.execute_query_async(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 minute' "
            f"WHERE id = {int(dead)}"
        )


async def job_states(engine: QueueEngine) -> list[tuple[str, str]]:
    async with engine.queue.open_async():
        rows = await engine.queue.job_manager.connector.execute_query_all_async(
            "SELECT task_name, status::text AS status FROM procrastinate_jobs ORDER BY id"
        )
    return [(row["task_name"], row["status"]) for row in rows]


@pytest.mark.postgres
def test_a_dead_workers_periodic_jobs_end_and_its_batches_run_again(postgres_url: str) -> None:
    """A worker killed while it ran a tick of dispatch or deliver (a newer tick of each
    already waiting) and a batch: retrying the ticks would collide with the waiting
    ones (one 'todo' job per queueing lock), and the dead dispatch would hold its lock
    for good. The ticks end as failed (the next tick does their work); the batch runs
    again; two workers freeing them at once free each job once and fail on none."""
    app = make_app(postgres_url, CountingSite(), FrozenClock())
    app.prepare()
    apply_queue_schema(postgres_url)
    engine = QueueEngine(app)
    tick = {"timestamp": 1}
    batch = {"host": HOSTS[0], "ids": [1], "lease_until": "2026-01-01T00:00:00+00:00"}
    try:
        asyncio.run(
            stall(
                engine,
                [
                    ("monitor.dispatch", tick, None),
                    ("monitor.deliver", tick, None),
                    ("monitor.check", batch, f"host:{HOSTS[0]}"),
                ],
            )
        )
        # Another program's job on its own queue, its worker dead too: not ours to free.
        asyncio.run(stall(engine, [("monitor.check", batch, None)], queue_name="someone-else"))

        async def next_ticks_then_retry() -> int:
            async with engine.queue.open_async():
                for name in ("monitor.dispatch", "monitor.deliver"):
                    await engine.queue.tasks[name].defer_async(timestamp=2)
                # two workers' retry ticks at once: each job is freed by one of them
                return sum(await asyncio.gather(engine.retry_stalled(), engine.retry_stalled()))

        handled = asyncio.run(next_ticks_then_retry())
        states = asyncio.run(job_states(engine))
    finally:
        asyncio.run(app.aclose())
    assert handled == 3
    assert states == [
        ("monitor.dispatch", "failed"),
        ("monitor.deliver", "failed"),
        ("monitor.check", "todo"),
        ("monitor.check", "doing"),  # someone else's, left as it is
        ("monitor.dispatch", "todo"),
        ("monitor.deliver", "todo"),
    ]


class Cuttable:
    """A TCP forwarder to PostgreSQL that can be cut, as a database restarted: open
    connections dropped, new ones refused until it is back."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()

    async def aclose(self) -> None:
        """Stop listening for good (its listening socket would leak into later tests)."""
        if self.server is not None:
            self.cut()
            await self.server.wait_closed()
            self.server = None


@pytest.mark.postgres
def test_a_worker_that_loses_the_database_stops_with_an_error(postgres_url: str) -> None:
    """procrastinate stops its worker without an error when its listener cannot reach
    the database for a moment (a database restart): the worker must still end with one
    (the CLI then exits non-zero), so a supervisor or ``restart: on-failure`` starts it
    again."""
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    proxy = Cuttable(url.host or "127.0.0.1", url.port or 5432)

    async def lose_the_database() -> None:
        port = await proxy.start()
        proxied = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        app = make_app(proxied, CountingSite(), FrozenClock())
        try:
            await asyncio.to_thread(app.prepare)
            await asyncio.to_thread(apply_queue_schema, proxied)
            engine = QueueEngine(app)
            stop = asyncio.Event()
            running = asyncio.create_task(engine.run(stop))
            await asyncio.sleep(3)  # started, listening
            assert not running.done(), running
            proxy.cut()
            await asyncio.sleep(1)  # the listener's reconnection refused
            await proxy.start(port)  # the database is back: the worker unregisters
            try:
                await asyncio.wait_for(running, timeout=60)
            finally:
                stop.set()
        finally:
            await app.aclose()
            await proxy.aclose()

    # Which of its connections notices first depends on timing: procrastinate's listener
    # (it then stops "by itself") or a job fetch (a connector error). Either way it ends
    # with an error.
    with pytest.raises(StoreError, match=r"job queue (stopped by itself|failed)"):
        asyncio.run(lose_the_database())


@pytest.mark.postgres
def test_batches_queued_behind_their_hosts_earlier_ones_are_leased_that_much_longer(
    postgres_url: str,
) -> None:
    """A host's batches run one after another (its lock): the n-th waiting batch gets n
    more leases, so its postings are not claimed again while it waits its turn."""
    site, clock = CountingSite(), FrozenClock()
    app = make_app(postgres_url, site, clock)
    app.prepare()
    apply_queue_schema(postgres_url)
    watch(app, 6)  # three postings on each host: batches of one
    engine = QueueEngine(app, checks_per_batch=1)

    async def dispatch_only() -> int:
        async with engine.queue.open_async():
            return await engine.dispatch()

    try:
        now = clock.now()
        deferred = asyncio.run(dispatch_only())
        with app.engine.connect() as conn:
            args = conn.scalars(
                text(
                    "SELECT args FROM procrastinate_jobs WHERE task_name = 'monitor.check' "
                    "ORDER BY id"
                )
            ).all()
            held = dict(conn.execute(select(postings.c.id, postings.c.lease_until)).all())
    finally:
        asyncio.run(app.aclose())
    assert deferred == 4  # two batches of a host at most; its third posting waits
    assert list(held.values()).count(None) == 2  # unleased, for a later batch
    for host in HOSTS:
        mine = [(a["ids"], a["lease_until"]) for a in args if a["host"] == host]
        assert len(mine) == 2, host
        for ahead, (ids, until) in enumerate(mine):
            wanted = now + app.lease * (ahead + 1)
            assert until == wanted.isoformat(), (host, ahead)
            assert [held[i] for i in ids] == [wanted], (host, ahead)  # the rows say so too


@pytest.mark.postgres
def test_the_dispatcher_fills_whole_batches_whatever_the_claim_size(postgres_url: str) -> None:
    """A claim is split by host, so claiming only ``scheduler.batch_size`` (here 4) at a
    time would queue batches of two; the dispatcher claims what fills its batches."""
    site, clock = CountingSite(), FrozenClock()
    app = make_app(postgres_url, site, clock, scheduler={"batch_size": 4})
    app.prepare()
    apply_queue_schema(postgres_url)
    watch(app, 50)  # 25 postings on each of two hosts
    engine = QueueEngine(app, checks_per_batch=10)

    async def dispatch_only() -> int:
        async with engine.queue.open_async():
            return await engine.dispatch()

    try:
        deferred = asyncio.run(dispatch_only())
        with app.engine.connect() as conn:
            args = conn.scalars(
                text("SELECT args FROM procrastinate_jobs WHERE task_name = 'monitor.check'")
            ).all()
    finally:
        asyncio.run(app.aclose())
    assert deferred == 40  # two batches a host at most queued or running; the rest wait
    for host in HOSTS:
        sizes = [len(a["ids"]) for a in args if a["host"] == host]
        assert sizes == [10, 10], host


class HangingSite:
    """Answers the pages ``answered`` (``/jobs/0``) and never the others: a batch's
    other checks hang until the worker ends them."""

    def __init__(self, answered: tuple[str, ...] = ("/jobs/0",)) -> None:
        self.answered = answered
        self.answered_count = 0
        self.entered = asyncio.Event()
        self.hanging = 0
        self.ended_at: float | None = None
        """When the first hanging request was ended (time.monotonic)."""

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path in self.answered:
            self.answered_count += 1
            return httpx.Response(200, text=PAGE, headers={"Content-Type": "text/html"})
        self.entered.set()
        self.hanging += 1
        try:
            await asyncio.sleep(3600)
        finally:
            self.hanging -= 1
            self.ended_at = self.ended_at or time.monotonic()
        raise AssertionError("unreachable")


@pytest.mark.postgres
def test_a_stopping_worker_waits_the_grace_for_its_batch_then_ends_it(postgres_url: str) -> None:
    """The checks of a running batch get ``scheduler.shutdown_grace`` (2 s) to finish,
    not less and not forever; cut off, they are ended, write nothing and stay leased to
    the batch (another worker checks them once the lease runs out). What the batch's
    finished check found is written."""
    site, clock = HangingSite(), FrozenClock()
    app = _app_on(postgres_url, site, clock, shutdown_grace=timedelta(seconds=2))
    watch(app, 4)  # jobs 0 and 2 on one host (one batch), 1 and 3 on the other
    engine = QueueEngine(app)

    async def stop_mid_batch() -> tuple[float, float, int]:
        stop = asyncio.Event()
        worker = asyncio.create_task(engine.run(stop))
        async with asyncio.timeout(30):
            await site.entered.wait()
        began = time.monotonic()
        stop.set()
        async with asyncio.timeout(30):  # a stop that waits forever fails here
            await worker
        assert site.hanging == 0  # the cut-off checks were ended, not left running
        assert site.ended_at is not None
        return site.ended_at - began, time.monotonic() - began, checks_logged(app)

    try:
        cut_after, took, logged = asyncio.run(stop_mid_batch())
        claimable = app.store.leases.claim_due(
            now=clock.now(), limit=10, lease=timedelta(minutes=1)
        )
    finally:
        asyncio.run(app.aclose())
    assert cut_after >= 1.8  # not before the grace
    assert took < 15
    assert logged == 1  # the finished check, written; nothing half-written
    assert claimable == []  # the others still leased to their batches


@pytest.mark.postgres
def test_a_batch_cut_off_writes_what_its_finished_checks_found_before_it_ends(
    postgres_url: str,
) -> None:
    """Four checks finished, their writes (one a transaction) held up by a lock on the
    check log, one check still running: cancelled, the batch ends that check and
    returns only once the four are written (the job's end frees its host's lock)."""
    site, clock = HangingSite(answered=("/jobs/0", "/jobs/2", "/jobs/4", "/jobs/6")), FrozenClock()
    app = _app_on(postgres_url, site, clock, write_batch_size=1)
    watch(app, 10)  # jobs 0, 2, ... 8 on one host: its batch
    engine = QueueEngine(app)
    ids, lease_until = _leased_as_a_batch(app, HOSTS[0])
    locker = psycopg.connect(queue_conninfo(postgres_url))
    locker.execute("LOCK TABLE check_log IN EXCLUSIVE MODE")  # reads pass, writes wait

    async def cut_off() -> int:
        batch = asyncio.create_task(engine.check_batch(HOSTS[0], ids, lease_until))
        checked = "posting_monitor_check_duration_seconds_count"
        async with asyncio.timeout(30):  # four checks done (read, their writes queued)
            while app.metrics.registry.get_sample_value(checked) != 4 or not site.entered.is_set():
                await asyncio.sleep(0.01)
        asyncio.get_running_loop().call_later(0.5, locker.rollback)
        batch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batch
        return checks_logged(app)  # before the loop runs anything else

    try:
        logged = asyncio.run(cut_off())
    finally:
        locker.close()
        asyncio.run(app.aclose())
    assert len(ids) == 5
    assert logged == 4
    assert site.hanging == 0


def _app_on(postgres_url: str, site: Any, clock: FrozenClock, **scheduler: Any) -> App:
    config = make_app(postgres_url, CountingSite(), clock, scheduler=scheduler).config
    app = App(config, transport=httpx.MockTransport(site), notifier=RecordingNotifier(),
              clock=clock)  # fmt: skip
    app.prepare()
    apply_queue_schema(postgres_url)
    return app


def _leased_as_a_batch(app: App, host: str) -> tuple[list[int], datetime]:
    """The due postings of ``host``, leased the way the dispatcher leases a batch."""
    lease_until = app.clock.now() + app.lease
    states = app.store.leases.claim_due(now=app.clock.now(), limit=100, lease=app.lease)
    ids = [s.id for s in states if host in s.url]
    with app.engine.begin() as conn:
        batch = postings.c.id.in_(ids)
        conn.execute(postings.update().where(batch).values(lease_until=lease_until))
    return ids, lease_until


def _dispatched(engine: QueueEngine) -> list[tuple[str, dict[str, Any]]]:
    async def dispatch_only() -> None:
        async with engine.queue.open_async():
            await engine.dispatch()

    asyncio.run(dispatch_only())
    with engine.app.engine.connect() as conn:
        jobs = conn.execute(
            text(
                "SELECT queue_name, args FROM procrastinate_jobs WHERE task_name = 'monitor.check'"
            )
        )
        return [(row.queue_name, row.args) for row in jobs]


@pytest.mark.postgres
def test_a_batch_holds_what_its_hosts_rate_gets_through_in_half_a_lease(postgres_url: str) -> None:
    clock = FrozenClock()
    probe = make_app(postgres_url, CountingSite(), clock)
    rate = 7 / probe.lease.total_seconds()  # 3.5 postings in half a lease: batches of 3
    asyncio.run(probe.aclose())
    app = make_app(postgres_url, CountingSite(), clock, limits={"concurrency": 2, "rate": rate})
    app.prepare()
    apply_queue_schema(postgres_url)
    watch(app, 8)  # four postings on each host
    try:
        jobs = _dispatched(QueueEngine(app, checks_per_batch=10))
    finally:
        asyncio.run(app.aclose())
    assert {queue for queue, _args in jobs} == {"posting-monitor"}  # the workers' queue
    assert sorted(len(args["ids"]) for _queue, args in jobs) == [1, 1, 3, 3]


@pytest.mark.postgres
def test_a_batch_runs_its_share_of_the_workers_places_for_checks_at_once(
    postgres_url: str,
) -> None:
    """``max_concurrent_checks`` (4) is shared by a worker's ``worker_batches`` (2): a
    batch checks 2 at once, though its host would take 8."""
    site, clock = CountingSite(pause=0.2), FrozenClock()
    scheduler = {"max_concurrent_checks": 4, "worker_batches": 2}
    app = make_app(postgres_url, site, clock, scheduler=scheduler,
                   limits={"concurrency": 8, "rate": 0})  # fmt: skip
    app.prepare()
    watch(app, 12)  # six postings on each host
    engine = QueueEngine(app)
    try:
        ids, lease_until = _leased_as_a_batch(app, HOSTS[0])
        asyncio.run(engine.check_batch(HOSTS[0], ids, lease_until))
        logged = checks_logged(app)
    finally:
        asyncio.run(app.aclose())
    assert len(ids) == 6
    assert logged == 6
    assert site.peak[HOSTS[0]] == 2


class _EndingEngine(QueueEngine):
    """A worker whose job queue ends at once: with ``failure``, or by itself."""

    def __init__(self, app: App, failure: Exception | None) -> None:
        super().__init__(app)
        self.failure = failure

    async def _run_worker(self) -> None:
        if self.failure is not None:
            raise self.failure


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (psycopg.OperationalError("server closed the connection (fake)"),
         "the job queue failed: OperationalError: server closed the connection (fake)"),
        (None, "the job queue stopped by itself (one of its tasks failed, see the log above: "
               "the database was lost?)"),
    ],
)  # fmt: skip
def test_a_worker_whose_queue_ends_unasked_exits_with_the_reason(
    postgres_url: str, failure: Exception | None, said: str
) -> None:
    app = make_app(postgres_url, CountingSite(), FrozenClock())
    app.prepare()
    apply_queue_schema(postgres_url)
    engine = _EndingEngine(app, failure)
    try:
        with pytest.raises(StoreError, match=re.escape(said)):
            asyncio.run(engine.run(asyncio.Event()))
        (process,) = app.store.processes.daemons()
    finally:
        asyncio.run(app.aclose())
    assert process.stopped_at is not None  # its stop recorded all the same


@pytest.mark.postgres
def test_one_worker_runs_its_batches_side_by_side(postgres_url: str) -> None:
    """``scheduler.worker_batches`` (2) batches at once in one worker, beside its
    dispatcher: both hosts' batches run together, each at its host's limit (2)."""
    site, clock = CountingSite(gather=2 * HOST_LIMIT), FrozenClock()
    app = make_app(postgres_url, site, clock, scheduler={"worker_batches": 2})
    app.prepare()
    apply_queue_schema(postgres_url)
    watch(app, 16)  # eight postings on each host
    engine = QueueEngine(app, checks_per_batch=8)
    ours = signal.getsignal(signal.SIGTERM)
    seen: set[object] = set()

    def done() -> bool:
        seen.add(signal.getsignal(signal.SIGTERM))
        return checks_logged(app) >= 16

    try:
        asyncio.run(run_workers([engine], done))
    finally:
        asyncio.run(app.aclose())
    assert site.peak_of_all == 2 * HOST_LIMIT, site.peak
    assert seen == {ours}  # procrastinate left the process's signals to the monitor


def _end_oldest_batch(app: App) -> None:
    """A batch done (its job deleted, as a worker's success does): a place is free."""
    with app.engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM procrastinate_jobs WHERE id = (SELECT min(id) FROM "
                "procrastinate_jobs WHERE task_name = 'monitor.check' AND status = 'todo')"
            )
        )


async def _end_a_batch_once_two_wait(app: App) -> None:
    async with asyncio.timeout(30):
        while await asyncio.to_thread(_waiting_batches, app) < 2:
            await asyncio.sleep(0.01)
    await asyncio.to_thread(_end_oldest_batch, app)


def _waiting_batches(app: App) -> int:
    with app.engine.connect() as conn:
        query = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'monitor.check'"
        return int(conn.scalar(text(query)) or 0)


@pytest.mark.postgres
def test_the_dispatcher_keeps_the_places_filled_until_its_tick_ends(postgres_url: str) -> None:
    """Two batches queued a batch slot (one slot here: no worker is live, one slot of
    ``worker_batches`` 1), less those waiting. With no room the dispatcher waits for
    a place until its tick (1 s) ends, and fills a place freed meanwhile."""
    site, clock = CountingSite(), FrozenClock()
    app = make_app(postgres_url, site, clock, scheduler={"worker_batches": 1})
    app.prepare()
    apply_queue_schema(postgres_url)
    watch(app, 8)  # four postings on each host: batches of one
    engine = QueueEngine(app, checks_per_batch=1)

    async def ticks() -> list[tuple[int, float]]:
        loop = asyncio.get_running_loop()
        made = []
        async with engine.queue.open_async():
            for free_meanwhile in (True, False, False):
                freeing = None
                if free_meanwhile:
                    freeing = asyncio.create_task(_end_a_batch_once_two_wait(app))
                began = loop.time()
                made.append((await engine.dispatch(), loop.time() - began))
                if freeing is not None:
                    await freeing
                    _end_oldest_batch(app)  # a place free for the second tick
        return made

    try:
        (first, first_took), (second, _), (third, third_took) = asyncio.run(ticks())
    finally:
        asyncio.run(app.aclose())
    assert first == 3  # two, then one in the place freed during the tick
    assert second == 1  # the one place free
    assert third == 0
    assert first_took >= 0.9  # waited its tick for places
    assert third_took >= 0.9


@pytest.mark.postgres
def test_a_worker_beats_with_its_checks_and_what_is_wrong_with_it(postgres_url: str) -> None:
    """Every ``heartbeat_every`` (1 s) a worker records the time, the checks it started
    and its trouble (a renderer stuck past its deadline), which ``health`` reads."""
    clock = FrozenClock()
    config = make_app(postgres_url, CountingSite(), clock).config
    browser = FakeBrowser(slots=1, deadline_seconds=30)
    app = App(config, transport=httpx.MockTransport(CountingSite()),
              notifier=RecordingNotifier(), clock=clock, browser=browser)  # fmt: skip
    app.prepare()
    apply_queue_schema(postgres_url)
    watch(app, 2)
    started = clock.now()
    browser.hang(95.0)
    beats: list[DaemonRecord] = []
    gauge: list[float | None] = []
    registry = app.metrics.registry

    def beaten() -> bool:
        clock.advance(timedelta(seconds=1))
        beats.extend(
            process
            for process in app.store.processes.daemons()
            if process.beat_at > started and process.checks == 2
        )
        gauge.append(registry.get_sample_value("posting_monitor_heartbeat_timestamp_seconds"))
        # the gauge is set once the beat is written: wait for it too
        return bool(beats) and (gauge[-1] or 0) >= beats[0].beat_at.timestamp()

    try:
        asyncio.run(run_workers([QueueEngine(app)], beaten, timeout=30))
    finally:
        asyncio.run(app.aclose())
    beat = beats[0]
    assert (beat.kind, beat.stopped_at) == ("worker", None)  # a beat, not the stop
    assert (beat.trouble or "").startswith("renderer stuck: 1 of 1 browser page slots held")
    assert (gauge[-1] or 0) >= beat.beat_at.timestamp()  # /metrics says it too


@pytest.mark.postgres
def test_a_workers_delivery_tick_sends_the_queued_alerts(postgres_url: str) -> None:
    clock = FrozenClock()
    config = make_app(postgres_url, CountingSite(), clock).config.model_copy(
        update={"channels": [ChannelConfig(name="hook", url="json://127.0.0.1:9/alerts")]}
    )
    notifier = RecordingNotifier()
    app = App(config, transport=httpx.MockTransport(CountingSite()), notifier=notifier,
              clock=clock)  # fmt: skip
    app.prepare()
    apply_queue_schema(postgres_url)
    queue_alerts(app.store, 2, now=clock.now() - timedelta(minutes=1))
    try:
        asyncio.run(QueueEngine(app).deliver())
    finally:
        asyncio.run(app.aclose())
    assert sorted(alert.title for _channel, alert in notifier.sent) == ["alert-1", "alert-2"]


@pytest.mark.postgres
def test_a_worker_runs_no_more_batches_at_once_than_worker_batches(postgres_url: str) -> None:
    """procrastinate runs any job in any of its places (the batches' and the periodic
    tasks'): with ``worker_batches`` 1, four hosts' batches still run one at a time."""
    hosts = [f"jobs.h{n}.example" for n in range(4)]
    site, clock = CountingSite(pause=0.1), FrozenClock()
    config = MonitorConfig.model_validate(
        {
            "engine": "procrastinate",
            "database": {"url": postgres_url},
            "http": {"hosts": {host: {"concurrency": 2, "rate": 0} for host in hosts}},
            "scheduler": {"dispatch_every": "1s", "deliver_every": "1s", "worker_batches": 1},
        }
    )
    app = App(config, transport=httpx.MockTransport(site), notifier=RecordingNotifier(),
              clock=clock)  # fmt: skip
    app.prepare()
    apply_queue_schema(postgres_url)
    urls = [f"https://{hosts[n % 4]}/jobs/{n}" for n in range(12)]
    app.store.watches.sync_config_watches(
        [WatchSpec(url=u, source_kind="html", source_id=u, interval=timedelta(hours=1))
         for u in urls], now=clock.now())  # fmt: skip
    clock.advance(timedelta(hours=1))
    try:
        asyncio.run(
            run_workers([QueueEngine(app, checks_per_batch=3)], lambda: checks_logged(app) >= 12)
        )
    finally:
        asyncio.run(app.aclose())
    assert site.hosts_at_once == 1
    assert sorted(site.hits) == sorted(urls)
