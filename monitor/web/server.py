"""Serving the web application with uvicorn inside our own event loop, stopped by the
same event that stops the daemon (uvicorn's own signal handling is left out)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn

from monitor.app import App
from monitor.config import WebConfig, host_port
from monitor.errors import ConfigError
from monitor.web.app import close_web_app, create_web_app
from monitor.web.security import check_exposure

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the caller's stop event handles SIGINT and SIGTERM


def bind_web(listen: str, settings: WebConfig, *, setting: str = "web.listen") -> socket.socket:
    """The listening socket for ``listen`` (host:port), taken before anything else
    starts: a port in use or a foreign address is a clean configuration error."""
    host, port = host_port(listen)
    check_exposure(settings, host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot listen on {listen}: {reason}", source=setting) from exc
    sock.set_inheritable(True)
    return sock


async def serve_web(app: App, sock: socket.socket, stop: asyncio.Event) -> None:
    """Serve the dashboard and API on ``sock`` until ``stop`` is set."""
    web = create_web_app(app)
    # Our logging (text or JSON) for uvicorn's warnings too; no access log, whose
    # lines could carry a feed's ?token=.
    config = uvicorn.Config(
        web,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        # Whose X-Forwarded-Proto/-For count: https for Secure cookies, the throttle's client.
        forwarded_allow_ips=list(app.config.web.trusted_proxies),
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        stopped.cancel()
        await task
    finally:
        sock.close()
        close_web_app(web)
    log.info("dashboard stopped", extra={"action": "web_stop"})
