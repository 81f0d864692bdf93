"""Real local protocol peers for tests: an SMTP server, an HTTP webhook receiver and
an HTTP(S) server that plays faults."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import socket
import ssl
import struct
import threading
import time
import zlib
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpInbox:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[tuple[SmtpInbox, int]]:
    inbox = SmtpInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@dataclass
class WebhookReceiver:
    """Records JSON POSTs; answers ``status`` (set it to 500 to play a channel that is down)."""

    posts: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    status: int = 200
    fail_first: int = 0
    """Answer 500 to this many requests first (a channel that is down, then back)."""
    delay: float = 0.0
    """Seconds to wait before answering (so a test can kill a sender mid-delivery)."""
    attempts: int = 0
    reply: bytes = b""
    """Response body (Slack's webhook answers "ok", and Apprise checks for it)."""
    port: int = 0


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            receiver.attempts += 1
            status = 500 if receiver.attempts <= receiver.fail_first else receiver.status
            if receiver.delay:
                time.sleep(receiver.delay)  # a slow peer, on the server's own thread
            if status == 200:
                receiver.posts.append(json.loads(body))
                receiver.paths.append(self.path)
            self.send_response(status)
            self.send_header("Content-Length", str(len(receiver.reply)))
            self.end_headers()
            self.wfile.write(receiver.reply)

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


CAPTCHA_PAGE = (
    "<html><head><title>Just a moment...</title></head><body><h1>Checking your browser"
    "</h1><p>Please enable JavaScript and cookies to continue.</p></body></html>"
)
LOGIN_PAGE = "<html><head><title>Sign in | Careers</title></head><body><form></form></body></html>"
SERVER_FAULTS = frozenset(
    {
        "500",
        "502",
        "503",
        "429",
        "timeout",
        "reset",
        "truncated",
        "empty",
        "captcha",
        "login",
        "no-jobs",
        "tls",
        "huge",
        "gzip-bomb",
        "nested-gzip-bomb",
    }
)


class FaultServer:
    """A real HTTP(S) server on 127.0.0.1 (asyncio, on its own thread) that serves
    pages and plays faults on demand: ``play("503", "reset")`` makes the next two
    requests fail that way, in order, then pages are served again.

    Faults: ``500``/``502``/``503``/``429`` (the last two with ``Retry-After: 1``),
    ``timeout`` (no answer for ``hold`` seconds), ``reset`` (TCP RST after the
    request), ``truncated`` (half the declared body, then close), ``empty`` (an
    empty 200), ``captcha`` and ``login`` (a block page with 200; a 302 to a login
    page), ``no-jobs`` (a board API answering zero jobs), ``tls`` (a certificate
    the client does not trust; only with ``tls``), ``huge`` (6 MB of HTML) and
    ``gzip-bomb`` (60 KB of gzip that expand to 60 MB), ``nested-gzip-bomb`` (under
    1 KB of ``gzip, gzip`` that expand to 256 MiB). Every answer closes the
    connection, so each request connects (and resolves) afresh. Pages carry an
    ETag and ``If-None-Match`` gets a 304.
    """

    def __init__(
        self,
        *,
        tls: ssl.SSLContext | None = None,
        untrusted_tls: ssl.SSLContext | None = None,
        hold: float = 3.0,
    ) -> None:
        self._tls = tls
        self._untrusted = untrusted_tls
        self._hold = hold
        self._pages: dict[str, tuple[bytes, str]] = {}
        self._faults: deque[str] = deque()
        self._lock = threading.Lock()
        self.served: Counter[tuple[str, str]] = Counter()
        """Good answers (200 or 304) by (path, ETag)."""
        self.played: Counter[str] = Counter()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # -- the test's side -------------------------------------------------------------

    def publish(self, path: str, body: str, content_type: str = "text/html; charset=utf-8") -> str:
        """Serve ``body`` at ``path`` from now on; returns its ETag."""
        data = body.encode("utf-8")
        with self._lock:
            self._pages[path] = (data, content_type)
        return _etag(data)

    def play(self, *faults: str) -> None:
        unknown = set(faults) - SERVER_FAULTS
        if unknown or ("tls" in faults and self._untrusted is None):
            raise ValueError(f"this server cannot play {sorted(unknown) or ['tls']}")
        with self._lock:
            self._faults.extend(faults)

    def pending(self) -> int:
        with self._lock:
            return len(self._faults)

    def etag(self, path: str) -> str:
        with self._lock:
            return _etag(self._pages[path][0])

    def start(self) -> FaultServer:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        ).result()
        self._server = server
        self.port = int(server.sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            current = asyncio.current_task()
            handlers = [task for task in asyncio.all_tasks() if task is not current]
            for task in handlers:
                task.cancel()
            if handlers:  # let each close its connection before the loop stops
                await asyncio.wait(handlers, timeout=2)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the server's side -----------------------------------------------------------

    def _next_fault(self, *, connecting: bool) -> str | None:
        with self._lock:
            if not self._faults or (connecting and self._faults[0] != "tls"):
                return None
            fault = self._faults.popleft()
            self.played[fault] += 1
            return fault

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self._tls is not None:
                if self._next_fault(connecting=True) == "tls":
                    assert self._untrusted is not None
                    with contextlib.suppress(ssl.SSLError, OSError):
                        await writer.start_tls(self._untrusted)
                    return
                await writer.start_tls(self._tls)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1].split("?")[0]
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            fault = None if path == "/login" else self._next_fault(connecting=False)
            await self._answer(writer, path, headers, fault)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client gave up (a timeout it was played, or its own)
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                writer.close()

    async def _answer(
        self, writer: asyncio.StreamWriter, path: str, headers: dict[str, str], fault: str | None
    ) -> None:
        if fault == "timeout":
            await asyncio.sleep(self._hold)
            return
        if fault == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        if fault in ("500", "502", "503", "429"):
            extra = {"Retry-After": "1"} if fault in ("503", "429") else {}
            await _send(writer, int(fault), b"server trouble", "text/plain", extra)
            return
        if fault == "empty":
            await _send(writer, 200, b"", "text/html")
            return
        if fault == "captcha":
            await _send(writer, 200, CAPTCHA_PAGE.encode(), "text/html; charset=utf-8")
            return
        if fault == "login":
            await _send(writer, 302, b"", "text/html", {"Location": f"/login?next={path}"})
            return
        if fault == "huge":
            await _send(writer, 200, b"<p>" + b"x" * 6_000_000, "text/html")
            return
        if fault == "gzip-bomb":
            bomb = gzip.compress(b"\0" * 60_000_000, compresslevel=9)
            await _send(writer, 200, bomb, "text/html", {"Content-Encoding": "gzip"})
            return
        if fault == "nested-gzip-bomb":
            headers = {"Content-Encoding": "gzip, gzip"}
            await _send(writer, 200, gzip.compress(_gzip_of_zeros(256 << 20)), "text/html", headers)
            return
        if fault == "no-jobs":
            await _send(writer, 200, b'{"jobs": [], "meta": {"total": 0}}', "application/json")
            return
        if path == "/login":
            await _send(writer, 200, LOGIN_PAGE.encode(), "text/html; charset=utf-8")
            return
        with self._lock:
            page = self._pages.get(path)
        if page is None:
            await _send(writer, 404, b"not found", "text/plain")
            return
        body, content_type = page
        etag = _etag(body)
        if fault == "truncated":
            head = _head(200, len(body), content_type, {"ETag": etag})
            writer.write(head + body[: len(body) // 2])
            await writer.drain()
            return
        if headers.get("if-none-match") == etag:
            await _send(writer, 304, b"", content_type, {"ETag": etag}, length=False)
        else:
            await _send(writer, 200, body, content_type, {"ETag": etag})
        with self._lock:
            self.served[(path, etag)] += 1


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def _head(status: int, length: int | None, content_type: str, extra: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", "Connection: close"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += [f"{name}: {value}" for name, value in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _gzip_of_zeros(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    return b"".join([*(packer.compress(block) for _ in range(size >> 20)), packer.flush()])


async def _send(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    content_type: str,
    extra: dict[str, str] | None = None,
    *,
    length: bool = True,
) -> None:
    writer.write(_head(status, len(body) if length else None, content_type, extra or {}) + body)
    await writer.drain()
