"""Running until stopped: the daemon (``posting-monitor run``: the configured engine)
and a worker (``posting-monitor worker``: the procrastinate engine), each with the
dashboard beside it when ``web.listen`` is set, until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from monitor.app import App
from monitor.engines.lifecycle import tune_gc
from monitor.errors import ConfigError
from monitor.logs import announce
from monitor.present import plural

if TYPE_CHECKING:
    from monitor.engines.local import Checkers

Listening = tuple[socket.socket, str]
"""A dashboard's socket, bound already, and the address it was asked for."""


async def run_daemon(app: App, *, dashboard: Listening | None = None) -> None:
    """The daemon on the configured engine: the local one, or with
    engine = "procrastinate" one worker, as ``posting-monitor worker``. ``dashboard``:
    serve it there (``posting-monitor web``), else where ``web.listen`` says, if set."""
    if app.config.engine == "procrastinate":
        await run_worker(app, dashboard=dashboard)
    else:
        await _run_local(app, dashboard=dashboard)


async def run_worker(app: App, *, dashboard: Listening | None = None) -> None:
    """One procrastinate worker (creating the queue's tables first if
    ``database.auto_migrate``)."""
    from monitor.engines.queue import QueueEngine

    stop = stop_on_signals()
    if app.config.database.auto_migrate:
        from monitor.engines.queue import apply_queue_schema

        await asyncio.to_thread(apply_queue_schema, app.config.database_url)
    engine = QueueEngine(app)
    _banner(app, f"posting-monitor worker {engine.worker_id} running. Ctrl-C stops.")
    tune_gc()
    await _with_dashboard(app, stop, engine.run(stop), dashboard)


async def _run_local(app: App, *, dashboard: Listening | None = None) -> None:
    """The local engine: APScheduler timers in this process."""
    from monitor.engines.local import LocalEngine

    stop = stop_on_signals()
    watching = plural(len(app.store.watches.list_watches()), "watch", "watches")
    count = app.config.checker_processes()
    processes = f", checked in {count} processes" if count > 1 else ""
    _banner(app, f"posting-monitor running; {watching}{processes}. Ctrl-C stops.")
    tune_gc()
    engine = LocalEngine(app, checkers=checker_pool(app, count - 1))
    await _with_dashboard(app, stop, engine.run(stop), dashboard)


def checker_pool(app: App, count: int) -> Checkers | None:
    """``count`` checker processes beside the daemon's own (none: None)."""
    if count < 1:
        return None
    from monitor.engines.checkers import CheckerPool

    return CheckerPool(app, count=count)


async def _with_dashboard(
    app: App, stop: asyncio.Event, work: Coroutine[Any, Any, None], dashboard: Listening | None
) -> None:
    """Run ``work``, and the dashboard beside it (on ``dashboard``, else when
    ``web.listen`` is set); a dashboard that cannot start stops the whole process (it
    is part of what was asked for)."""
    listen = dashboard[1] if dashboard else app.config.web.listen
    if listen is None:
        await work
        return
    from monitor.web.server import bind_web, serve_web

    try:
        sock = dashboard[0] if dashboard else bind_web(listen, app.config.web)
    except ConfigError:
        work.close()  # never started
        raise
    announce_web(app, listen)
    web = asyncio.create_task(serve_web(app, sock, stop))
    main = asyncio.create_task(work)
    await asyncio.wait({web, main}, return_when=asyncio.FIRST_COMPLETED)
    stop.set()  # either one ending ends both
    for result in await asyncio.gather(web, main, return_exceptions=True):
        if isinstance(result, BaseException):
            raise result


def announce_web(app: App, listen: str) -> None:
    """Say where the dashboard listens (in the configured log format)."""
    _banner(app, f"dashboard on http://{listen}/ (API: /api/v1/docs)")


def _banner(app: App, message: str) -> None:
    announce(message, fmt=app.config.log_format)


def stop_on_signals() -> asyncio.Event:
    """An event SIGINT and SIGTERM set: the daemon or worker then stops gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop
