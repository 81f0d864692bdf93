"""The local engine: APScheduler timers in the daemon's event loop.

Timers claim due postings from the database (``next_check_at <= now``, leased
so a running check is never started twice) and run them in a bounded pool of
asyncio tasks; another timer delivers the outbox. On stop, in-flight checks get
``shutdown_grace`` to finish; any still running are cancelled, and their leases
expire so the next start checks them again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.app import App
from monitor.store.repository import PostingState

log = logging.getLogger(__name__)


class LocalEngine:
    def __init__(self, app: App) -> None:
        self._app = app
        self._inflight: set[asyncio.Task[None]] = set()
        self._delivering: asyncio.Task[None] | None = None
        self._stopping = False
        self.checks_started = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then drain and return."""
        settings = self._app.config.scheduler
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = self._app.clock.now()
        for job, every in (
            (self.dispatch, settings.dispatch_every),
            (self.deliver, settings.deliver_every),
        ):
            scheduler.add_job(
                job,
                "interval",
                seconds=every.total_seconds(),
                next_run_time=now,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        scheduler.start()
        log.info("daemon started", extra={"action": "daemon_start"})
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            await self._drain()
            log.info("daemon stopped", extra={"action": "daemon_stop"})

    async def dispatch(self) -> None:
        """Claim as many due postings as there are free places in the pool."""
        if self._stopping:
            return
        settings = self._app.config.scheduler
        free = settings.max_concurrent_checks - len(self._inflight)
        if free <= 0:
            return
        app = self._app
        states = await app.db(
            lambda: app.repo.claim_due(
                now=app.clock.now(), limit=min(free, settings.batch_size), lease=app.lease
            )
        )
        for state in states:
            self._start(state)

    def _start(self, state: PostingState) -> None:
        task = asyncio.create_task(self._check(state), name=f"check-{state.id}")
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        self.checks_started += 1

    async def _check(self, state: PostingState) -> None:
        try:
            await self._app.check_one(state)
        except Exception:
            # A bug in one check must not stop the daemon; the lease expiry retries it.
            log.exception("check of %s crashed", state.url, extra={"action": "check_crashed"})

    async def deliver(self) -> None:
        if self._stopping:
            return
        self._delivering = asyncio.current_task()
        try:
            await self._deliver_now()
        finally:
            self._delivering = None

    async def _deliver_now(self) -> None:
        report = await self._app.deliver()
        if report.sent or report.failed:
            log.info(
                "delivered %d alerts, %d failed",
                report.sent,
                report.failed,
                extra={"action": "deliver"},
            )

    async def _drain(self) -> None:
        """Let running checks and a running delivery finish (within the grace period), then
        deliver what those checks queued, so a clean stop leaves nothing half-sent."""
        self._stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._app.config.scheduler.shutdown_grace.total_seconds()
        running = set(self._inflight)
        if self._delivering is not None:
            running.add(self._delivering)
        if running:
            log.info(
                "waiting for %d tasks before stopping", len(running), extra={"action": "drain"}
            )
            _done, pending = await asyncio.wait(running, timeout=max(deadline - loop.time(), 0))
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        try:
            await asyncio.wait_for(self._deliver_now(), timeout=max(deadline - loop.time(), 0.1))
        except TimeoutError:
            log.warning(
                "stopped before every alert was sent; they stay queued", extra={"action": "drain"}
            )
