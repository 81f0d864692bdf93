"""Serving the web application with uvicorn inside our own event loop, stopped by the
same event that stops the daemon (uvicorn's own signal handling is left out)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn

from monitor.app import App
from monitor.config import host_port
from monitor.errors import ConfigError
from monitor.web.app import close_web_app, create_web_app
from monitor.web.security import check_exposure

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the caller's stop event handles SIGINT and SIGTERM


async def serve_web(app: App, listen: str, stop: asyncio.Event) -> None:
    """Serve the dashboard and API on ``listen`` (host:port) until ``stop`` is set."""
    host, port = host_port(listen)
    check_exposure(app.config.web, host)
    web = create_web_app(app)
    config = uvicorn.Config(
        web, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopped.cancel()
    try:
        await task
    finally:
        close_web_app(web)
    if not server.started:
        raise ConfigError(
            f"cannot listen on {listen} (in use, or not an address here)", source="web.listen"
        )
    log.info("dashboard stopped", extra={"action": "web_stop"})
