"""The local engine: APScheduler timers in the daemon's event loop.

Timers claim due postings from the database (``next_check_at <= now``, leased
so a running check is never started twice) in batches, as places free up in a
bounded pool of asyncio tasks; results are written in batches (see
``monitor.engines.runner``). Other timers deliver the outbox and record a heartbeat for
``posting-monitor health``. On stop, in-flight checks get ``shutdown_grace`` to
finish and be written; any still running are cancelled, and their leases expire
so the next start checks them again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.app import App
from monitor.engines.lifecycle import (
    check_runner,
    deliver_now,
    prune_now,
    record_stop,
    start_process,
    trouble_now,
)
from monitor.engines.runner import PassReport
from monitor.errors import StoreError
from monitor.metrics import Family
from monitor.records import PostingState

log = logging.getLogger(__name__)
PRUNE_EVERY = timedelta(hours=1)
PRUNE_FIRST_AFTER = timedelta(minutes=1)
LAST_DELIVERY = 5.0
"""Seconds at least for the last delivery after checker processes stopped (their
stop may take the whole grace)."""


class Checkers(Protocol):
    """The checker processes beside the daemon's own (``monitor.engines.checkers``)."""

    count: int
    """Processes, the daemon's own not included."""

    @property
    def checks(self) -> int: ...

    def metric_families(self) -> list[Family]: ...

    def trouble(self) -> str | None:
        """What a checker reports wrong with it that it cannot fix (health fails)."""
        ...

    async def start(self, owner: str) -> None: ...

    async def stop(self, grace: float) -> None: ...


class LocalEngine:
    """The daemon's engine: its timers, its own checks, and (``checkers``: with
    ``scheduler.processes`` above one) the checker processes beside it."""

    def __init__(self, app: App, *, checkers: Checkers | None = None) -> None:
        self._app = app
        self._runner = check_runner(app)
        self._queue: deque[PostingState] = deque()
        self._delivering: asyncio.Task[None] | None = None
        self._stopping = False
        self._checkers = checkers
        self.checks_started = 0
        started = app.clock.now()
        self.daemon_id = f"{socket.gethostname()}:{os.getpid()}:{started:%Y%m%dT%H%M%S.%f}"

    @property
    def owner(self) -> str:
        """Whose leases this process's claims are (its ``daemons`` row)."""
        return self.daemon_id

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then drain and return."""
        await self._start()
        scheduler = AsyncIOScheduler(timezone=UTC)
        # Timers run in real time even when the app's clock is a test's frozen one.
        now = datetime.now(UTC)
        for job, every, first in self._timers():
            scheduler.add_job(
                partial(self._timer, job),
                "interval",
                seconds=every.total_seconds(),
                next_run_time=now + first,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        scheduler.start()
        self._started()
        try:
            await stop.wait()
        finally:
            # Set before the scheduler cancels its running jobs, so that they know the
            # cancellation is the stop, not a fault.
            self._stopping = True
            scheduler.shutdown(wait=False)
            await self._drain()
            await self._finish()

    def _timers(self) -> list[tuple[Callable[[], Awaitable[None]], timedelta, timedelta]]:
        """What runs how often, and when first."""
        settings = self._app.config.scheduler
        at_once = timedelta(0)
        return [
            (self.dispatch, settings.dispatch_every, at_once),
            (self.deliver, settings.deliver_every, at_once),
            (self.heartbeat, settings.heartbeat_every, at_once),
            (self.prune, PRUNE_EVERY, PRUNE_FIRST_AFTER),
        ]

    async def _start(self) -> None:
        app = self._app
        await start_process(app, self.daemon_id, kind="daemon")
        if self._checkers is not None:
            app.metrics.add_peers(self._checkers.metric_families)
            await self._checkers.start(self.daemon_id)

    def _started(self) -> None:
        log.info(
            "daemon started",
            extra={
                "action": "daemon_start",
                "daemon": self.daemon_id,
                "processes": 1 + (self._checkers.count if self._checkers else 0),
            },
        )

    async def _finish(self) -> None:
        await self._record_stop()
        self._app.metrics.close()
        log.info("daemon stopped", extra={"action": "daemon_stop"})

    @property
    def all_checks_started(self) -> int:
        """Checks started by this daemon's processes, checkers included."""
        return self.checks_started + (self._checkers.checks if self._checkers else 0)

    async def _timer(self, job: Callable[[], Awaitable[None]]) -> None:
        """One run of a timer. APScheduler cancels running jobs when it shuts down and
        logs that as an error with a traceback; a cancellation while the daemon stops is
        normal, so it ends the job quietly (``_drain`` finishes what must be finished)."""
        try:
            await job()
        except asyncio.CancelledError:
            if not self._stopping:
                raise

    async def dispatch(self) -> None:
        """Claim due postings a batch at a time and start them as places free up in the
        pool, until none is due. Claiming a whole batch (not one per free place) keeps
        database round trips to one per ``batch_size`` checks."""
        batch = self._app.config.scheduler.batch_size
        while not self._stopping:
            if not self._queue:
                claimed = await self._app.store.run(self._claim, batch)
                if not claimed:
                    return
                self._queue.extend(claimed)
            while self._queue and self._runner.free > 0 and not self._stopping:
                self._runner.start(self._queue.popleft())
                self.checks_started += 1
            if self._queue:
                await self._runner.wait_for_room()
        await self._release_queue()

    async def _release_queue(self) -> None:
        """Give back claimed postings that were never started, so they are due at once."""
        if not self._queue:
            return
        ids = [state.id for state in self._queue]
        self._queue.clear()
        await self._release(ids)

    async def _release(self, ids: list[int]) -> None:
        """Give back claimed postings (never started, or cancelled at the grace limit) so
        the next start checks them at once rather than when their lease runs out."""
        if not ids:
            return
        try:
            await self._app.store.run(self._app.store.leases.release_leases, ids)
        except StoreError as exc:
            log.warning("leases not released (they expire): %s", exc, extra={"action": "drain"})

    def _claim(self, limit: int) -> list[PostingState]:
        app = self._app
        return app.store.leases.claim_due(
            now=app.clock.now(), limit=limit, lease=app.lease, owner=self.owner
        )

    async def run_due(self) -> PassReport:
        """Check everything due now and write the results (one pass; benchmarks, tests)."""
        await self.dispatch()
        await self._runner.settle()
        return self._runner.report

    async def _publish_pauses(self, hosts: list[str]) -> None:
        """Hosts this daemon pauses, where the dashboard's health page (and any other
        process) can see them; the procrastinate engine keeps them there already."""
        gate, store = self._app.gate, self._app.store
        pacings = {host: gate.pacing(host) for host in hosts}

        def save() -> None:
            for host, pacing in pacings.items():
                store.processes.save_host_pacing(host, pacing)

        try:
            await self._app.store.run(save)
        except StoreError as exc:
            log.warning("host pauses not recorded: %s", exc, extra={"action": "heartbeat"})

    async def heartbeat(self) -> None:
        """Record that this daemon lives (``health`` reads it) and refresh queue gauges."""
        app = self._app
        now = app.clock.now()
        try:
            due = await app.store.run(app.store.maintenance.due_count, now=now)
            await app.store.run(
                app.store.processes.heartbeat,
                self.daemon_id,
                now=now,
                checks=self.all_checks_started,
                trouble=self._trouble(),
            )
        except StoreError as exc:
            log.error("heartbeat not recorded: %s", exc, extra={"action": "heartbeat"})
            return
        paused = app.gate.paused_hosts()
        if paused:
            await self._publish_pauses(list(paused))
        app.metrics.due.set(due)
        app.metrics.paused_hosts.set(len(paused))
        app.metrics.heartbeat.set(now.timestamp())

    def _trouble(self) -> str | None:
        """This process's trouble, else its checkers' (``health`` fails on either)."""
        return trouble_now(self._app) or (self._checkers.trouble() if self._checkers else None)

    async def prune(self) -> None:
        await prune_now(self._app)

    async def deliver(self) -> None:
        """Deliver what is due. The delivery runs in a task of its own, shielded from the
        scheduler's cancellation at stop, so an alert being sent is finished, not cut
        off (``_drain`` waits for it within the grace period)."""
        if self._stopping:
            return
        task = asyncio.ensure_future(self._deliver_now())
        self._delivering = task
        try:
            await asyncio.shield(task)
        finally:
            if task.done():
                self._delivering = None

    async def _deliver_now(self) -> None:
        await deliver_now(self._app)

    async def _drain(self) -> None:
        """Let running checks and a running delivery finish (within the grace period),
        write what the checks found, then deliver what they queued, so a clean stop
        leaves nothing half-sent."""
        self._stopping = True
        await self._release_queue()
        loop = asyncio.get_running_loop()
        grace = self._app.config.scheduler.shutdown_grace.total_seconds()
        deadline = loop.time() + grace
        checkers = self._checkers
        stopping = asyncio.create_task(checkers.stop(grace)) if checkers else None
        running = len(self._runner.inflight) + (self._delivering is not None)
        if running:
            log.info("waiting for %d tasks before stopping", running, extra={"action": "drain"})
        delivering = {self._delivering} if self._delivering is not None else set()
        late = await self._runner.settle(timeout=max(deadline - loop.time(), 0))
        if delivering:
            _done, slow = await asyncio.wait(delivering, timeout=max(deadline - loop.time(), 0))
            late |= slow
        cancelled = [p for task in late if (p := self._runner.posting_of(task)) is not None]
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
            await self._release(cancelled)
            log.warning(
                "cancelled %d checks at the grace limit; they run again at the next start",
                len(late),
                extra={"action": "drain"},
            )
        await self._runner.writer.flush()
        if stopping is not None:
            # The checkers' alerts are queued once they have written their checks.
            await stopping
            deadline = max(deadline, loop.time() + LAST_DELIVERY)
        await self._deliver_last(deadline)

    async def _deliver_last(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(self._deliver_now(), timeout=max(deadline - loop.time(), 0.1))
        except TimeoutError:
            log.warning(
                "stopped before every alert was sent; they stay queued", extra={"action": "drain"}
            )

    async def _record_stop(self) -> None:
        await record_stop(self._app, self.daemon_id, checks=self.all_checks_started)
