"""Serving the web application with uvicorn inside our own event loop, stopped by the
same event that stops the daemon (uvicorn's own signal handling is left out).

Nobody has signed in while a request's headers arrive, so what a stranger can hold is
bounded here: ``web.max_connections`` open connections (one more is answered 503 and
closed at once), ``web.request_timeout`` for a request to arrive in full from its first
byte (or from the connection; 408 and closed), ``web.idle_timeout`` between requests.
Warnings about refused or broken requests, and the event loop's errors in accepting
connections ("accept() out of resources"), are logged at most once a minute each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from monitor.app import App
from monitor.config import WebConfig, host_port
from monitor.errors import ConfigError
from monitor.web.app import close_web_app, create_web_app
from monitor.web.security import check_exposure

log = logging.getLogger(__name__)
QUIET_SECONDS = 60.0
BACKLOG = 128  # also the most connections taken in one go before any is refused
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 21\r\nRetry-After: 5\r\nConnection: close\r\n\r\nToo many connections\n"
)
_LATE = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 16\r\nConnection: close\r\n\r\nRequest timeout\n"
)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the caller's stop event handles SIGINT and SIGTERM


class Throttle:
    """Lets one event of each kind through every ``seconds``, counting the rest."""

    def __init__(self, seconds: float = QUIET_SECONDS) -> None:
        self._seconds = seconds
        self._last: dict[str, float] = {}
        self._left_out: dict[str, int] = {}

    def allow(self, kind: str) -> int | None:
        """None to stay quiet; else how many were left out since the last one."""
        now = time.monotonic()
        if now - self._last.get(kind, -self._seconds) < self._seconds:
            self._left_out[kind] = self._left_out.get(kind, 0) + 1
            return None
        self._last[kind] = now
        return self._left_out.pop(kind, 0)


class _QuietFilter(logging.Filter):
    """uvicorn's warnings (a malformed request, ...) once a minute per message."""

    def __init__(self) -> None:
        super().__init__()
        self._throttle = Throttle()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.WARNING or self._throttle.allow(str(record.msg)) is not None


class _Connection(H11Protocol):
    """uvicorn's HTTP/1.1 connection, with a cap on open connections and a deadline for
    each request to arrive; the class attributes are set on a subclass per server
    (``_protocol``), which is how uvicorn takes a protocol."""

    max_connections: ClassVar[int]
    request_timeout: ClassVar[float]
    throttle: ClassVar[Throttle]
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections:
            self.transport = transport
            transport.write(_BUSY)
            transport.close()
            self._note("busy", f"refused a connection: {len(self.connections)} open already")
            return
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm()  # a new request: its clock starts with its first byte
        super().data_received(data)
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.request_timeout, self._late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _late(self) -> None:
        self._deadline = None
        answering = self.cycle is not None and self.cycle.response_started
        if self.transport.is_closing() or (answering and not self.cycle.response_complete):
            return
        self.transport.write(_LATE)
        self.transport.close()
        self._note("late", "closed a connection whose request did not arrive in time")

    def _note(self, kind: str, message: str) -> None:
        left_out = self.throttle.allow(kind)
        if left_out is not None:
            log.warning(
                "%s (%d more like it left out)", message, left_out, extra={"action": "web_refused"}
            )


def _protocol(settings: WebConfig) -> type[_Connection]:
    return type(
        "Connection",
        (_Connection,),
        {
            "max_connections": settings.max_connections,
            "request_timeout": settings.request_timeout.total_seconds(),
            "throttle": Throttle(),
        },
    )


# What to do about a taken address, by where the address came from ("": the default).
_LISTEN_HINTS = {
    "--listen": "",
    "web.listen": "; serve elsewhere with --listen HOST:PORT or another web.listen",
    "": "; neither --listen nor web.listen is set: serve elsewhere with --listen HOST:PORT "
    "or web.listen in the configuration",
}


def bind_web(listen: str, settings: WebConfig, *, setting: str = "web.listen") -> socket.socket:
    """The listening socket for ``listen`` (host:port), taken before anything else
    starts: a port in use or a foreign address is a clean configuration error naming
    where the address came from (``setting``: "--listen", "web.listen", or "" for the
    default) and how to pick another."""
    host, port = host_port(listen)
    check_exposure(settings, host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        hint = _LISTEN_HINTS.get(setting, "")
        where = f"{listen} (the default)" if not setting else listen
        raise ConfigError(f"cannot listen on {where}: {reason}{hint}", source=setting) from exc
    sock.set_inheritable(True)
    raise_open_file_limit()
    return sock


def raise_open_file_limit() -> None:
    """Open files up to the hard limit (systemd's soft 1024 is tight for a daemon that
    also serves the dashboard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


async def serve_web(app: App, sock: socket.socket, stop: asyncio.Event) -> None:
    """Serve the dashboard and API on ``sock`` until ``stop`` is set."""
    settings = app.config.web
    listen_host = str(sock.getsockname()[0])
    web = create_web_app(app, listen_host=listen_host)
    # Our logging (text or JSON) for uvicorn's warnings too; no access log, whose
    # lines could carry a feed's ?token= (and which a stranger could flood).
    config = uvicorn.Config(
        web,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        # Whose X-Forwarded-Proto/-For count: https for Secure cookies, the throttle's client.
        forwarded_allow_ips=list(app.config.web.trusted_proxies),
        http=_protocol(settings),
        timeout_keep_alive=max(1, round(settings.idle_timeout.total_seconds())),
        backlog=BACKLOG,  # asyncio accepts up to this many at once: open files stay bounded
    )
    _quiet_uvicorn()
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    stopped = asyncio.create_task(stop.wait())
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(_quiet_accept_errors(previous))
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        stopped.cancel()
        await task
    finally:
        loop.set_exception_handler(previous)
        sock.close()
        close_web_app(web)
    log.info("dashboard stopped", extra={"action": "web_stop"})


def _quiet_uvicorn() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietFilter) for f in logger.filters):
        logger.addFilter(_QuietFilter())


_Handler = Any  # asyncio's exception handler: (loop, context) -> None


def _quiet_accept_errors(previous: _Handler | None) -> _Handler:
    """The loop's exception handler, saying once a minute that accepting connections
    failed (out of open files, asyncio reports every failed accept and every retry)."""
    throttle = Throttle()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        accepting = "accept" in message or "_start_serving" in message
        if accepting and throttle.allow(message.split("(", 1)[0]) is None:
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    return handle
