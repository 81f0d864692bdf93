"""Fakes for tests, shipped with the package so plugins can use them too.

- ``FrozenClock``: a clock that moves only when told.
- ``RecordingNotifier``: a notifier that keeps what it was asked to send and can
  be told to fail.
- ``PageServer``: an ``httpx.MockTransport`` that serves pages from a dict,
  honours ETag/If-None-Match, and can play errors.
- ``EdgeRandom``: a random source whose every draw is the top (or bottom) of its
  range, so jittered delays are exact in a test.
- ``FakeDns``: a resolver from a table that can play DNS outages.
- ``HostileSource``: a page source that plays pages costly or fatal to read, to test
  the reader processes (it must live in an importable module to reach them).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx

from monitor.errors import NotifyError
from monitor.model import Alert, Posting
from monitor.sources.base import FetchedPage
from monitor.sources.page import WebPageSource

if TYPE_CHECKING:
    from monitor.core.renders import RenderState
    from monitor.sources.base import FetchResponse


class FrozenClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


class EdgeRandom(random.Random):
    """Every ``uniform(a, b)`` is ``b`` (``top=True``) or ``a``: the largest or smallest
    jitter, so a test can tell a delay multiplied by its factor from one divided."""

    def __init__(self, *, top: bool = True) -> None:
        super().__init__(0)
        self.top = top

    def uniform(self, a: float, b: float) -> float:
        return b if self.top else a


@dataclass
class RecordingNotifier:
    sent: list[tuple[str, Alert]] = field(default_factory=list)
    failures_left: int = 0
    """Refuse this many sends before accepting again (a channel that is down)."""

    async def send(self, channel: str, alert: Alert) -> None:
        if self.failures_left > 0:
            self.failures_left -= 1
            raise NotifyError(f"channel {channel!r} is down (fake)")
        self.sent.append((channel, alert))


Responder = Callable[[httpx.Request], httpx.Response]


class PageServer:
    """Serves ``pages[url]`` as HTML; ``errors[url]`` overrides with a responder."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, str]] = {}
        self.errors: dict[str, Responder] = {}
        self.requests: list[httpx.Request] = []

    def publish(self, url: str, body: str, content_type: str = "text/html; charset=utf-8") -> None:
        self.pages[url] = (body, content_type)
        self.errors.pop(url, None)

    def fail(self, url: str, responder: Responder) -> None:
        self.errors[url] = responder

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if url in self.errors:
            return self.errors[url](request)
        if url not in self.pages:
            return httpx.Response(404, text="not found")
        body, content_type = self.pages[url]
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, text=body, headers={"Content-Type": content_type, "ETag": etag})


class FakeBrowser:
    """A ``PageRenderer`` serving pages as a browser would leave them after their
    scripts ran (``draw``); ``fail`` makes a URL's next renders raise. Records each
    URL rendered. ``hang`` plays renders whose ending hung, as ``state()`` reports
    them."""

    def __init__(self, *, slots: int = 2, deadline_seconds: float = 30.0) -> None:
        self.drawn: dict[str, str] = {}
        self.failures: dict[str, Exception] = {}
        self.rendered: list[str] = []
        self.slots = slots
        self.deadline_seconds = deadline_seconds
        self.hung: list[float] = []
        self.ended: dict[str, int] = {}

    def hang(self, *seconds: float) -> None:
        """Renders in flight for these many seconds each (none: all done)."""
        self.hung = list(seconds)

    def state(self) -> RenderState:
        from monitor.core.renders import RenderState

        return RenderState(
            slots=self.slots,
            rendering=tuple(self.hung),
            ended=dict(self.ended),
            deadline_seconds=self.deadline_seconds,
        )

    def draw(self, url: str, html: str) -> None:
        self.drawn[url] = html

    def fail(self, url: str, error: Exception) -> None:
        self.failures[url] = error

    def ensure_available(self) -> None:
        return None

    async def render(self, url: str) -> FetchResponse:
        from monitor.sources.base import FetchResponse

        self.rendered.append(url)
        if url in self.failures:
            raise self.failures[url]
        body = self.drawn[url].encode()
        page = FetchedPage(url=url, status=200, content_type="text/html", body=body)
        return FetchResponse(
            page=page, not_modified=False, etag=None, last_modified=None, latency_ms=1
        )

    async def aclose(self) -> None:
        return None


class FakeDns:
    """A resolver (``monitor.net.netguard.Resolver``) answering from a table; names not
    in it fail as unknown names do. Like curl's ``--connect-to``, an entry may send
    a name's port elsewhere, so ``boards-api.greenhouse.io:443`` can be a local
    server. ``fail_next`` plays an outage for a name's next lookups. Safe to drive
    from another thread than the one resolving."""

    def __init__(self) -> None:
        self._table: dict[tuple[str, int], list[tuple[str, int]]] = {}
        self._failures: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.lookups: Counter[str] = Counter()

    def add(self, host: str, port: int, *endpoints: tuple[str, int]) -> None:
        with self._lock:
            self._table[(host, port)] = list(endpoints)

    def fail_next(self, host: str, times: int = 1) -> None:
        with self._lock:
            self._failures[host] += times

    def pending_failures(self) -> int:
        with self._lock:
            return sum(self._failures.values())

    async def resolve(self, host: str, port: int) -> list[tuple[str, int]]:
        with self._lock:
            self.lookups[host] += 1
            if self._failures[host] > 0:
                self._failures[host] -= 1
                raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
            endpoints = self._table.get((host, port))
        if endpoints is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(endpoints)


class HostileSource(WebPageSource):
    """Reads pages on hosts ending in ``.hostile.test`` like any web page, except a body
    that starts with a command: ``spin:SECONDS`` burns CPU that long first (a page a
    parser chokes on), ``die`` kills the reading process, ``bug`` raises a plain
    exception (a parser bug)."""

    kind = "hostile"
    title = "Test pages that are costly or fatal to read"

    def matches(self, url: str) -> bool:
        return super().matches(url) and url.split("/")[2].endswith(".hostile.test")

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        command = page.body[:32].split(b"\n", 1)[0]
        if command.startswith(b"spin:"):
            until = time.monotonic() + float(command[5:])
            while time.monotonic() < until:
                pass
        elif command == b"die":
            os.kill(os.getpid(), signal.SIGKILL)
        elif command == b"bug":
            raise ZeroDivisionError("a parser bug")
        return super().parse(page, url=url)


@contextmanager
def postgres_schema(base_url: str, prefix: str = "pm_test") -> Iterator[str]:
    """A URL to a new, empty schema on the PostgreSQL at ``base_url`` (every table
    the monitor and procrastinate create goes there); dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
