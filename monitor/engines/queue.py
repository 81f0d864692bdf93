"""The procrastinate engine: any number of ``posting-monitor worker`` processes, on any
number of machines, sharing the work through one PostgreSQL database.

procrastinate (a task queue in PostgreSQL) carries it:

- ``monitor.dispatch`` is a periodic task: each tick, whichever worker takes it leases
  the due postings (as the local engine does) and defers them as ``monitor.check``
  jobs, a batch per host, each holding its host as procrastinate *lock*. Batches of
  one host therefore run one after another, whichever workers run them, and the
  per-host concurrency limit holds across all workers.
- ``monitor.check`` runs a batch with the same pool, fetcher, readers and pipeline as
  the local engine (``CheckRunner``). It first keeps only the postings still under
  the lease the dispatcher gave the batch: a batch that ran late (its lease ran out
  and its postings went to another batch) checks nothing twice.
- ``monitor.deliver`` is periodic too: the outbox, each alert claimed by the process
  that sends it (``monitor.notify.deliver``), so it is sent once.
- ``monitor.retry_stalled`` frees the jobs of a worker that stopped sending
  heartbeats (killed, its machine gone): its batches are queued again, its periodic
  ticks end (the next tick does their work).

A worker that dies loses nothing: its postings' leases run out and the dispatcher
leases them again; its batches run again and find those leases taken.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from monitor.app import App
from monitor.config import HostLimits
from monitor.engines.lifecycle import (
    check_runner,
    deliver_now,
    prune_now,
    record_stop,
    start_process,
    trouble_now,
)
from monitor.errors import StoreError
from monitor.net.hosts import host_of
from monitor.store.job_queue import jobs_per_lock, live_workers_and_waiting, queue_conninfo
from monitor.store.leases import DueURL

if TYPE_CHECKING:
    import procrastinate
    from procrastinate.types import JSONValue

log = logging.getLogger(__name__)
QUEUE = "posting-monitor"
CHECKS_PER_BATCH = 100
"""Postings per ``monitor.check`` job at most: big enough that a batch's own cost
(fetching the job, its leases, its host's pacing) is small beside its checks, small
enough that a killed worker's batch is soon checked by the others."""
HOST_BATCHES_AHEAD = 2
"""Batches of one host queued or running at most: one running, the next waiting."""
DUE_SEEN = 2000
"""Due postings the dispatcher looks at (the most overdue) to make whole batches of."""
DISPATCH_POLL = 0.05
"""Seconds the dispatcher waits for room in the queue within its tick."""
QUEUED_BATCHES_PER_SLOT = 2
"""The dispatcher stops leasing when this many batches per running batch slot (live
workers x ``scheduler.worker_batches``) are already waiting: postings wait unleased
in the database, where any worker can take them, rather than leased in a queue."""
STALLED_AFTER = timedelta(seconds=30)
HEARTBEAT_EVERY = timedelta(seconds=5)


def every_as_cron(every: timedelta) -> str:
    """A procrastinate cron (seconds in a sixth field) firing about every ``every``:
    the nearest divisor of a minute (or of an hour, in minutes) that is not longer."""
    seconds = max(int(every.total_seconds()), 1)
    if seconds < 60:
        step = max(d for d in _DIVISORS_OF_60 if d <= seconds)
        return "* * * * * *" if step == 1 else f"* * * * * */{step}"
    minutes = max(d for d in _DIVISORS_OF_60 if d <= seconds // 60)
    return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"


_DIVISORS_OF_60 = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)


def build_queue(app: App) -> procrastinate.App:
    """A procrastinate app on the monitor's database with the monitor's tasks; the
    worker's ``QueueEngine`` is handed to them in the job context."""
    import procrastinate

    settings = app.config.scheduler
    connector = procrastinate.PsycopgConnector(
        conninfo=queue_conninfo(app.config.database_url), min_size=1, max_size=4
    )
    queue = procrastinate.App(connector=connector, periodic_defaults={"max_delay": 60})

    @queue.periodic(cron=every_as_cron(settings.dispatch_every), periodic_id="dispatch")
    @queue.task(name="monitor.dispatch", queue=QUEUE, queueing_lock="monitor.dispatch",
                lock="monitor.dispatch", pass_context=True)  # fmt: skip
    async def dispatch(context: procrastinate.JobContext, timestamp: int) -> None:
        await _engine(context).dispatch()

    @queue.task(name="monitor.check", queue=QUEUE, pass_context=True)
    async def check(
        context: procrastinate.JobContext, host: str, ids: list[int], lease_until: str
    ) -> None:
        await _engine(context).check_batch(host, ids, datetime.fromisoformat(lease_until))

    @queue.periodic(cron=every_as_cron(settings.deliver_every), periodic_id="deliver")
    @queue.task(name="monitor.deliver", queue=QUEUE, queueing_lock="monitor.deliver",
                pass_context=True)  # fmt: skip
    async def deliver(context: procrastinate.JobContext, timestamp: int) -> None:
        await _engine(context).deliver()

    @queue.periodic(cron="* * * * * */15", periodic_id="retry_stalled")
    @queue.task(name="monitor.retry_stalled", queue=QUEUE, queueing_lock="monitor.retry_stalled",
                pass_context=True)  # fmt: skip
    async def retry_stalled(context: procrastinate.JobContext, timestamp: int) -> None:
        await _engine(context).retry_stalled()

    @queue.periodic(cron="17 * * * *", periodic_id="prune")
    @queue.task(name="monitor.prune", queue=QUEUE, queueing_lock="monitor.prune",
                pass_context=True)  # fmt: skip
    async def prune(context: procrastinate.JobContext, timestamp: int) -> None:
        await prune_now(_engine(context).app)

    return queue


def _engine(context: Any) -> QueueEngine:
    engine = context.additional_context["engine"]
    assert isinstance(engine, QueueEngine)
    return engine


def apply_queue_schema(database_url: str) -> bool:
    """Create procrastinate's tables if they are not there (True if it did), and the
    monitor's trigger on them (``LOCK_FREED_FUNCTION``) if it is missing. Workers starting
    together take turns (an advisory lock), so only one creates them."""
    import procrastinate
    import psycopg

    with psycopg.connect(queue_conninfo(database_url)) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        present = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
        created = not (present and present[0])
        if created:
            conn.execute(procrastinate.schema.SchemaManager.get_schema())
        trigger = conn.execute(
            "SELECT 1 FROM pg_trigger WHERE tgname = %s AND tgrelid = 'procrastinate_jobs'::regclass",
            (_LOCK_FREED_NAME,),
        ).fetchone()
        conn.execute(LOCK_FREED_FUNCTION)  # the current body, whatever was there
        if trigger is None:
            conn.execute(LOCK_FREED_TRIGGER)
    return created


_SCHEMA_LOCK = 0x706D5F7175  # "pm_qu": any number other programs are unlikely to use
_LOCK_FREED_NAME = "posting_monitor_lock_freed_v1"
LOCK_FREED_FUNCTION = """
CREATE OR REPLACE FUNCTION posting_monitor_lock_freed_v1() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    payload TEXT;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = 'doing' THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM procrastinate_jobs WHERE lock = OLD.lock AND status = 'todo') THEN
        payload := json_build_object('type', 'job_inserted', 'job_id', OLD.id)::text;
        PERFORM pg_notify('procrastinate_queue_v1#' || OLD.queue_name, payload);
        PERFORM pg_notify('procrastinate_any_queue_v1', payload);
    END IF;
    RETURN NULL;
END;
$$;
"""
LOCK_FREED_TRIGGER = """
CREATE TRIGGER posting_monitor_lock_freed_v1
    AFTER UPDATE OF status OR DELETE ON procrastinate_jobs
    FOR EACH ROW
    WHEN (OLD.status = 'doing' AND OLD.lock IS NOT NULL AND OLD.queue_name = 'posting-monitor')
    EXECUTE FUNCTION posting_monitor_lock_freed_v1();
"""
"""A job that ends (or goes back to wait) frees its lock, and the next batch of its
host can run; procrastinate notifies workers of new jobs only
(procrastinate-org/procrastinate#213), so a worker that found only locked jobs slept
until the next new batch or its poll (1 s) however soon the lock was free: a batch's
end now wakes the workers the same way a new job does, once its end is committed."""


class QueueEngine:
    """One worker: runs the monitor's procrastinate tasks until stopped."""

    def __init__(
        self,
        app: App,
        *,
        queue: procrastinate.App | None = None,
        checks_per_batch: int = CHECKS_PER_BATCH,
    ) -> None:
        self._app = self.app = app
        self.queue = queue or build_queue(app)
        self.checks_started = 0
        self._batches = app.config.scheduler.worker_batches
        self._checks_per_batch = checks_per_batch
        # The worker's batches share its places for checks.
        self._checks_at_once = max(app.config.scheduler.max_concurrent_checks // self._batches, 1)
        # procrastinate runs as many jobs as its concurrency (the batches and the three
        # periodic tasks), of any task: a batch beyond ``worker_batches`` waits here.
        self._batch_places = asyncio.Semaphore(self._batches)
        # The name it claims alerts under: host, pid and a random part.
        self.worker_id = app.claim.claimant

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; then let running batches finish (up to
        ``scheduler.shutdown_grace``) and return."""
        app = self._app
        await start_process(app, self.worker_id, kind="worker")
        async with self.queue.open_async():
            worker = asyncio.create_task(self._work(), name="monitor-worker")
            beating = asyncio.create_task(self._beat(), name="monitor-worker-heartbeat")
            stopped = asyncio.create_task(stop.wait())
            # pragma: no mutate start (a log line's wording and fields)
            log.info("worker started", extra={"action": "worker_start", "worker": self.worker_id})
            # pragma: no mutate end
            ended_alone = False
            try:
                await asyncio.wait({worker, stopped}, return_when=asyncio.FIRST_COMPLETED)
                # procrastinate stops by itself, without an error, when one of its side
                # tasks fails (its listener or heartbeat losing the database).
                ended_alone = worker.done() and not stop.is_set()
            finally:
                stopped.cancel()
                beating.cancel()
                if not worker.done():
                    worker.cancel()  # procrastinate stops gracefully on cancellation
                await asyncio.gather(worker, beating, return_exceptions=True)
                await self._record_stop()
                app.metrics.close()
                log.info("worker stopped", extra={"action": "worker_stop"})  # pragma: no mutate
        failure = None if worker.cancelled() else worker.exception()
        if failure is not None:  # the queue failed (the database went away): say why
            raise failure
        if ended_alone:  # not asked to stop: exit non-zero, so a supervisor restarts it
            raise StoreError(
                "the job queue stopped by itself (one of its tasks failed, see the log "
                "above: the database was lost?)"
            )

    async def _work(self) -> None:
        import procrastinate.exceptions
        import psycopg

        try:
            await self._run_worker()
        except (procrastinate.exceptions.ProcrastinateException, psycopg.Error) as exc:
            raise StoreError(f"the job queue failed: {exc.__class__.__name__}: {exc}") from exc

    async def _run_worker(self) -> None:
        await self.queue.run_worker_async(
            queues=[QUEUE],
            concurrency=self._batches + 3,  # the batches, and dispatch / deliver / retry
            name=self.worker_id,
            additional_context={"engine": self},
            install_signal_handlers=False,
            shutdown_graceful_timeout=self._app.config.scheduler.shutdown_grace.total_seconds(),
            delete_jobs="successful",
            update_heartbeat_interval=HEARTBEAT_EVERY.total_seconds(),
            stalled_worker_timeout=STALLED_AFTER.total_seconds(),
            fetch_job_polling_interval=1.0,
        )

    # -- tasks ---------------------------------------------------------------------------

    async def dispatch(self) -> int:
        """Lease due postings and defer them as batches, one host per batch, keeping
        enough batches queued for the workers until none is due or the tick is over
        (the next tick's dispatch waits for this one: one dispatcher at a time).
        Returns how many postings were deferred."""
        app = self._app
        loop = asyncio.get_running_loop()
        deadline = loop.time() + app.config.scheduler.dispatch_every.total_seconds()
        deferred = 0
        while True:
            room = await self._room_for_batches()
            if room <= 0:
                if loop.time() >= deadline:
                    break
                await asyncio.sleep(DISPATCH_POLL)
                continue
            now = app.clock.now()
            # Whole batches: a claim is split by host, so leasing only what the free
            # batches hold (200 postings on 8 hosts) made batches of 25 and fewer, whose
            # own cost (a job, its leases and pacing, a pool's ramp and tail) made a worker
            # 60% as fast as the local engine.
            plan = partial(
                plan_batches,
                room=room,
                waiting=await self._batches_waiting_per_host(),
                size_of=self._batch_size,
                leased_until=now + app.lease,
                lease=app.lease,
            )
            planned, lost = await app.store.run(
                app.store.leases.lease_due, now=now, limit=DUE_SEEN, plan=plan
            )
            batches = [batch.without(lost) for batch in planned] if lost else planned
            batches = [batch for batch in batches if batch.ids]
            if not batches:
                break
            deferred += await self._defer(batches)
        return deferred

    def _batch_size(self, host: str) -> int:
        return batch_size(self._app.gate.limits(host), self._app.lease, self._checks_per_batch)

    async def _defer(self, batches: Sequence[Batch]) -> int:
        task = self.queue.tasks["monitor.check"]
        for batch in batches:
            ids_json: list[JSONValue] = list(batch.ids)
            await task.configure(lock=f"host:{batch.host}").defer_async(  # the task's queue
                host=batch.host, ids=ids_json, lease_until=batch.until.isoformat()
            )
        return sum(len(batch.ids) for batch in batches)

    async def _room_for_batches(self) -> int:
        """Batches the dispatcher may still queue: ``QUEUED_BATCHES_PER_SLOT`` per batch
        slot of the live workers, less the batches already waiting."""
        app = self._app
        workers, waiting = await app.store.run(
            live_workers_and_waiting,
            app.engine,
            queue=QUEUE,
            task="monitor.check",
            stalled_after=STALLED_AFTER,
        )
        slots = max(workers, 1) * self._batches
        return slots * QUEUED_BATCHES_PER_SLOT - waiting

    async def _batches_waiting_per_host(self) -> dict[str, int]:
        """Check batches queued or running, per host (a batch's lock is its host)."""
        app = self._app
        locks = await app.store.run(jobs_per_lock, app.engine, queue=QUEUE, task="monitor.check")
        return {lock.removeprefix("host:"): n for lock, n in locks.items()}

    async def check_batch(self, host: str, ids: Sequence[int], lease_until: datetime) -> None:
        """Check the batch's postings still under its lease, at the pace (and with the
        pause) the host's previous batch left, on whichever worker that ran; one of
        ``worker_batches`` at once (its postings read once it has its place)."""
        async with self._batch_places:
            await self._check_batch(host, ids, lease_until)

    async def _check_batch(self, host: str, ids: Sequence[int], lease_until: datetime) -> None:
        app = self._app
        states = await app.store.run(app.store.leases.still_leased, ids, lease_until=lease_until)
        # pragma: no mutate start (a log line, its condition, wording and fields)
        if len(states) < len(ids):
            log.info(
                "batch ran late: %d of %d postings were leased again meanwhile",
                len(ids) - len(states),
                len(ids),
                extra={"action": "batch_late"},
            )
        # pragma: no mutate end
        if not states:
            return
        gate = app.gate
        gate.adopt(host, await app.store.run(app.store.processes.host_pacing, host))
        self.checks_started += len(states)
        runner = check_runner(app, limit=self._checks_at_once)
        try:
            await runner.run_all(states)
        except asyncio.CancelledError:
            # The worker stops and its grace ran out: end the checks still running and
            # write what the finished ones found; the rest are leased to this batch
            # until the lease runs out, then checked by another worker.
            running = runner.inflight
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await asyncio.shield(runner.writer.flush())
            raise
        finally:
            pacing = gate.pacing(host)
            await asyncio.shield(app.store.run(app.store.processes.save_host_pacing, host, pacing))

    async def deliver(self) -> None:
        await deliver_now(self._app)

    async def retry_stalled(self) -> int:
        """Free the jobs of workers that stopped sending heartbeats: their check
        batches are queued again; their periodic ticks end as failed, since the next
        tick does the same work (retrying one would collide with the tick already
        waiting under its queueing lock, and a dead dispatch tick holds the dispatch
        lock until it ends). Returns how many jobs were freed."""
        import procrastinate
        import psycopg

        manager = self.queue.job_manager
        stalled = await manager.get_stalled_jobs(
            queue=QUEUE, seconds_since_heartbeat=STALLED_AFTER.total_seconds()
        )
        freed = 0
        for job in stalled:
            assert job.id is not None
            batch = job.task_name == "monitor.check"
            try:
                if batch:
                    await manager.retry_job(job)
                else:
                    await manager.finish_job_by_id_async(
                        job.id, procrastinate.jobs.Status.FAILED, delete_job=False
                    )
            except (procrastinate.exceptions.ProcrastinateException, psycopg.Error) as exc:
                # another worker's retry_stalled freed it first
                log.info("stalled job %s left as it is: %s", job.id, exc)  # pragma: no mutate
                continue
            # pragma: no mutate start (a log line's wording and fields)
            log.warning(
                "job %s (%s) of a stalled worker %s",
                job.id,
                job.task_name,
                "queued again" if batch else "ended; the next tick does its work",
                extra={"action": "job_retried" if batch else "job_ended"},
            )
            # pragma: no mutate end
            freed += 1
        return freed

    # -- heartbeat -------------------------------------------------------------------------

    async def _beat(self) -> None:
        app = self._app
        while True:
            await asyncio.sleep(app.config.scheduler.heartbeat_every.total_seconds())
            now = app.clock.now()
            try:
                await app.store.run(
                    app.store.processes.heartbeat,
                    self.worker_id,
                    now=now,
                    checks=self.checks_started,
                    trouble=trouble_now(app),
                )
            except StoreError as exc:
                # pragma: no mutate start (a log line's wording and fields)
                log.error("heartbeat not recorded: %s", exc, extra={"action": "heartbeat"})
                # pragma: no mutate end
                continue
            app.metrics.heartbeat.set(now.timestamp())

    async def _record_stop(self) -> None:
        await record_stop(self._app, self.worker_id, checks=self.checks_started)


@dataclass(frozen=True)
class Batch:
    """Postings of one host checked by one ``monitor.check`` job, leased until ``until``."""

    host: str
    ids: tuple[int, ...]
    until: datetime

    def without(self, ids: set[int]) -> Batch:
        return replace(self, ids=tuple(i for i in self.ids if i not in ids))


def plan_batches(
    due: Sequence[DueURL],
    *,
    room: int,
    waiting: Mapping[str, int],
    size_of: Callable[[str], int],
    leased_until: datetime,
    lease: timedelta,
    seen: int = DUE_SEEN,
) -> list[Batch]:
    """At most ``room`` batches of one host each, most overdue first, from ``due`` (the
    most overdue, ``seen`` at most), a host's of ``size_of(host)`` postings at most.

    - A batch short of its size is made only when it holds all of its host's due
      postings (fewer than ``seen`` were due) or starts among the first of that size
      (it would otherwise wait behind a whole batch of others for more of its host).
    - A host has ``HOST_BATCHES_AHEAD`` batches queued or running at most: its batches
      run one after another (its lock), so more would only hold places other hosts'
      batches could run in.
    - A batch with ``n`` of its host's batches ahead of it (``waiting``, then this
      plan's) is leased ``n`` leases longer, so its postings are not leased again while
      it waits its turn.

    What no batch takes stays unleased for later ones."""
    position = {posting.id: n for n, posting in enumerate(due)}
    every_due = len(due) < seen
    chunks = sorted(
        (
            (position[chunk[0].id], host, chunk)
            for host, chunk in _chunks_by_host(due, size_of)
            if len(chunk) == size_of(host) or every_due or position[chunk[0].id] < size_of(host)
        ),
        key=lambda made: made[0],
    )
    ahead = Counter(waiting)
    batches: list[Batch] = []
    for _first, host, chunk in chunks:
        if len(batches) >= room:
            break
        if ahead[host] >= HOST_BATCHES_AHEAD:
            continue
        batches.append(Batch(host, tuple(d.id for d in chunk), leased_until + lease * ahead[host]))
        ahead[host] += 1
    return batches


def batch_size(limits: HostLimits, lease: timedelta, most: int = CHECKS_PER_BATCH) -> int:
    """Postings in a batch of a host with these limits: ``most``, or fewer where the
    host's request rate could not get through them in half a lease (the batches behind
    it are leased a lease each)."""
    if limits.rate <= 0:
        return most
    return max(min(most, int(limits.rate * lease.total_seconds() / 2)), 1)


def _chunks_by_host(
    due: Sequence[DueURL], size_of: Callable[[str], int]
) -> Iterator[tuple[str, list[DueURL]]]:
    by_host: dict[str, list[DueURL]] = defaultdict(list)
    for posting in due:
        by_host[host_of(posting.url)].append(posting)
    for host, group in by_host.items():
        size = size_of(host)
        for start in range(0, len(group), size):
            yield host, group[start : start + size]
