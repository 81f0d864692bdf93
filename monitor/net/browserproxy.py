"""The forward proxy every request of the rendering browser goes through.

Chromium is started with ``--proxy-server`` pointing here and
``--proxy-bypass-list=<-loopback>``, so each connection it opens (the first URL of
a navigation, each redirect hop, sub-resources, WebSocket upgrades, https through
CONNECT) names its destination to this proxy, which resolves the name with the
address guard and connects only to an address the guard just allowed: what a
fetch may reach, the browser may reach, and a name that changes its answer after
the check (DNS rebinding) cannot move the connection. A refused destination gets
a 403 and nothing else.

In-process (asyncio), bound to 127.0.0.1 on a free port; one connection to the
proxy carries one destination (a plain HTTP request is sent with
``Connection: close`` unless it asks for an upgrade), so a browser that reuses a
proxy connection reaches only the host it was opened for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from monitor.errors import BlockedAddress, TransportError
from monitor.net.netguard import AddressGuard

log = logging.getLogger(__name__)
_HEAD_LIMIT = 64 * 1024
_CONNECT_TIMEOUT = 15.0
_HOP_HEADERS = ("proxy-connection", "proxy-authorization", "connection", "keep-alive")


class GuardingProxy:
    """``start()`` it, point Chromium at ``server``, ``aclose()`` it when done."""

    def __init__(self, guard: AddressGuard, *, on_refused: Callable[[str, str], None]) -> None:
        self._guard = guard
        self._on_refused = on_refused
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def server(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, host="127.0.0.1", port=0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _HEAD_LIMIT:
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = [line for line in lines[1:] if line]
        if method.upper() == "CONNECT":
            host, _, port_text = target.rpartition(":")
            host, port, shown = host.strip("[]"), int(port_text), target
        else:
            parts = urlsplit(target)
            if parts.scheme.lower() not in ("http", "ws") or not parts.hostname:
                await _answer(writer, 400, "Bad Request")
                return
            host, port, shown = parts.hostname, parts.port or 80, target
        upstream = await self._open(host, port, shown, writer)
        if upstream is None:
            return
        up_reader, up_writer = upstream
        try:
            if method.upper() == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                request, upgrade = _origin_request(method, target, version, headers)
                up_writer.write(request)
                await up_writer.drain()
                if not upgrade:  # the browser may not reuse this connection for another host
                    writer.write(_closing_response(await up_reader.readuntil(b"\r\n\r\n")))
            await _pipe_both(reader, writer, up_reader, up_writer)
        finally:
            up_writer.close()
            with contextlib.suppress(Exception):
                await up_writer.wait_closed()

    async def _open(
        self, host: str, port: int, shown: str, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            endpoints = await self._guard.endpoints(host, port, url=shown)
            if any(address == "127.0.0.1" and where == self.port for address, where in endpoints):
                raise BlockedAddress(
                    url=shown, host=host, address="127.0.0.1", reason="the browser's own proxy"
                )
        except BlockedAddress as exc:
            self._on_refused(shown, str(exc))
            await _answer(writer, 403, "Forbidden")
            return None
        except TransportError as exc:  # no such name (Chromium's own calls home, offline)
            log.debug("browser proxy: %s", exc)
            await _answer(writer, 502, "Bad Gateway")
            return None
        failure: Exception | None = None
        for address, where in endpoints:
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(address, where), _CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError) as exc:
                failure = exc
        log.debug("browser proxy: %s unreachable: %s", shown, failure)
        await _answer(writer, 502, "Bad Gateway")
        return None


def _origin_request(
    method: str, target: str, version: str, headers: list[str]
) -> tuple[bytes, bool]:
    """The request as the origin server expects it: path only, no proxy headers, and
    ``Connection: close`` unless it upgrades (a WebSocket); and whether it upgrades."""
    parts = urlsplit(target)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    upgrade = any(line.lower().startswith("upgrade:") for line in headers)
    kept = [line for line in headers if line.split(":", 1)[0].strip().lower() not in _HOP_HEADERS]
    kept.append("Connection: upgrade" if upgrade else "Connection: close")
    head = "\r\n".join([f"{method} {path} {version}", *kept]) + "\r\n\r\n"
    return head.encode("latin-1"), upgrade


def _closing_response(head: bytes) -> bytes:
    """The server's answer, saying the connection closes after it (whatever it said)."""
    if len(head) > _HEAD_LIMIT:
        raise ValueError("response head too long")
    lines = head.decode("latin-1").split("\r\n")
    kept = [
        line
        for line in lines[1:]
        if line and line.split(":", 1)[0].strip().lower() not in _HOP_HEADERS
    ]
    closing = [lines[0], *kept, "Connection: close", "Proxy-Connection: close"]
    return ("\r\n".join(closing) + "\r\n\r\n").encode("latin-1")


async def _answer(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
    )
    with contextlib.suppress(OSError):
        await writer.drain()


async def _pipe_both(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    forward = asyncio.ensure_future(_pipe(reader, up_writer))
    backward = asyncio.ensure_future(_pipe(up_reader, writer))
    try:
        # Either side closing ends the exchange (browsers do not half-close).
        await asyncio.wait({forward, backward}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (forward, backward):
            task.cancel()
        await asyncio.gather(forward, backward, return_exceptions=True)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except (OSError, RuntimeError):
        return
