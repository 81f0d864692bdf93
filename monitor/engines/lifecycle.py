"""What every engine's process does around its checks: start (``/metrics``, the page
readers, its row for ``status`` and ``health``), build its pool of checks, record its
stop, deliver the outbox, prune, and tune the garbage collector. The local engine and
the queue's workers share them; the one-shot ``check`` builds its pool and tunes the
collector too."""

from __future__ import annotations

import gc
import logging
import os
import socket

from monitor.app import App
from monitor.core.renders import renderer_trouble
from monitor.engines.runner import CheckRunner
from monitor.errors import StoreError
from monitor.pids import process_exists
from monitor.progress import Progress

log = logging.getLogger(__name__)


async def start_process(app: App, process_id: str, *, kind: str) -> None:
    """What a daemon or worker does before its first claim: serve /metrics (if set),
    start the page readers (a posting leased while they start would wait out its lease
    if the process died meanwhile), and record the process for ``status`` and
    ``health``."""
    address = app.config.scheduler.metrics_address()
    if address is not None:
        app.metrics.serve(*address)
    await app.reader.start()
    host = socket.gethostname()
    await app.store.run(
        app.store.processes.daemon_started,
        process_id,
        host=host,
        pid=os.getpid(),
        now=app.clock.now(),
        kind=kind,
    )
    await _end_the_dead(app, host)


async def _end_the_dead(app: App, host: str) -> None:
    """Processes of this host whose stop was never written and whose pid no longer
    exists died (killed, or the host restarted): their rows end and the postings they
    leased are checked at once, not when the leases run out."""
    running = await app.store.run(app.store.processes.daemons, running_only=True)
    dead = [d.id for d in running if d.host == host and not process_exists(d.pid)]
    ended = await app.store.run(app.store.processes.dead_ended, dead)
    if ended:
        log.info(
            "processes found dead, their leases given back: %s",
            ", ".join(ended),
            extra={"action": "daemon_start"},
        )


def trouble_now(app: App) -> str | None:
    """What this process must say at its heartbeat is wrong with it and that it cannot
    fix itself (``health`` then fails, so the process is restarted): a renderer stuck
    past its deadline."""
    trouble = renderer_trouble(app.browser.state())
    if trouble is not None:
        log.error(trouble, extra={"action": "heartbeat"})
    return trouble


def check_runner(
    app: App, *, limit: int | None = None, progress: Progress | None = None
) -> CheckRunner:
    """A pool of at most ``limit`` checks (``scheduler.max_concurrent_checks`` unless
    given) on the app's check path, clock and metrics."""
    settings = app.config.scheduler
    return CheckRunner(
        app.checker,
        clock=app.clock,
        metrics=app.metrics,
        limit=limit or settings.max_concurrent_checks,
        write_batch_size=settings.write_batch_size,
        progress=progress,
    )


async def record_stop(app: App, process_id: str, *, checks: int) -> None:
    """Mark a daemon's or worker's row stopped (``status`` and ``health`` read it)."""
    try:
        await app.store.run(
            app.store.processes.daemon_stopped, process_id, now=app.clock.now(), checks=checks
        )
    except StoreError as exc:
        log.error("could not record the stop: %s", exc, extra={"action": "stop"})


async def deliver_now(app: App) -> None:
    """One delivery round (see ``App.deliver``), logged when it sent or lost something."""
    report = await app.deliver()
    if report.sent or report.failed:
        log.info(
            "delivered %d alerts, %d failed",
            report.sent,
            report.failed,
            extra={"action": "deliver"},
        )


async def prune_now(app: App) -> None:
    """Retention (``database.keep_*``), off the event loop; a failure waits an hour."""
    try:
        report = await app.store.run(app.prune)
    except StoreError as exc:
        log.error("pruning failed: %s", exc, extra={"action": "prune"})
        return
    if report.check_log or report.alerts or report.daemons:
        log.info(
            "pruned %d check log rows, %d sent alerts, %d stopped daemon records",
            report.check_log,
            report.alerts,
            report.daemons,
            extra={"action": "prune"},
        )


def tune_gc() -> None:
    """Collect garbage less often: a check allocates many short-lived objects (parse
    trees, rows) and CPython's default (every 700 allocations) spends a tenth of a
    busy daemon's CPU in the collector. Objects alive at start are frozen out of it."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
