"""Fetching pages: one shared client, conditional GET, size limits, politeness,
error translation.

One ``httpx.AsyncClient`` (connection reuse, HTTP/2 where an https server offers
it) behind a ``HostGate`` (per-host concurrency, rate, pauses). httpx errors never
leave this module; callers see the ``FetchError`` tree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import aiohttp
import certifi
import httpcore
import httpx
from httpx_aiohttp import AiohttpTransport

from monitor.config import HttpConfig
from monitor.errors import (
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    HttpStatusError,
    RobotsDisallowed,
    TransportError,
)
from monitor.net.decoding import BodyDecoder, content_codings
from monitor.net.hosts import HostGate, retry_after_seconds
from monitor.net.netguard import (
    AddressGuard,
    GuardedBackend,
    GuardedResolver,
    GuardedTransport,
    Resolver,
)
from monitor.net.sharedgate import Gate
from monitor.sources.base import FetchedPage, FetchRequest, FetchResponse

log = logging.getLogger(__name__)


MAX_PAGES = 500
"""Pages of one board at most (a Workday board of 10,000 postings, 20 a page)."""


class Fetcher:
    """Owns the HTTP transports; inject ``transport`` to fetch without a network.

    Requests go straight to an httpx transport (no ``AsyncClient``): redirects are
    followed here, hop by hop, so each hop passes the same checks, and no cookie
    jar carries one site's cookies to another or grows for months. ``resolver``
    replaces the system's DNS for the real transports (tests play DNS faults).
    """

    def __init__(
        self,
        config: HttpConfig,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        gate: Gate | None = None,
        resolver: Resolver | None = None,
    ):
        self._config = config
        self.gate: Gate = gate or HostGate(config)
        self._robots = RobotsRules(config.user_agent) if config.respect_robots_txt else None
        if transport is not None:
            self._transports: dict[str, httpx.AsyncBaseTransport] = {
                "http": transport,
                "https": transport,
            }
        else:
            self._transports = _transports(config, resolver)
        seconds = config.timeout.total_seconds()
        self._timeout = {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}
        self._headers = {
            "User-Agent": config.user_agent,
            "Accept": "text/html,application/json;q=0.9,*/*;q=0.5",
            "Accept-Encoding": "gzip, deflate",
        }

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResponse:
        """GET ``url`` politely; 304 comes back as ``not_modified``, other non-2xx raise."""
        return await self.request(FetchRequest(url=url), etag=etag, last_modified=last_modified)

    async def request(
        self, request: FetchRequest, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResponse:
        """Make ``request`` (a GET, or a POST of JSON) politely, with the same host
        limits, guards and size limit as every fetch."""
        url = request.url
        if self._robots is not None:
            await self._robots.check(url, self._fetch_robots)
        async with self.gate.slot(url):
            try:
                response = await self._get(request, etag=etag, last_modified=last_modified)
            except (TransportError, FetchTimeout) as exc:
                self.gate.failed(url, reason=str(exc))
                raise
        self._judge_host(url, response)
        return response

    async def fetch_source(
        self,
        source: object,
        url: str,
        *,
        fetch_url: str,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResponse:
        """What a check of ``url`` reads: one GET of ``fetch_url``, or for a paged
        source's board every page (each a request of its own, paced like any other),
        made one page by the source."""
        first = getattr(source, "first_request", None)
        if first is None:
            return await self.get(fetch_url, etag=etag, last_modified=last_modified)
        request: FetchRequest | None = first(url)
        assert request is not None
        if not request.conditional:
            etag = last_modified = None
        response = await self.request(request, etag=etag, last_modified=last_modified)
        if response.not_modified:
            return response
        pages, latency = [response.page], response.latency_ms
        following = source.next_request  # type: ignore[attr-defined]
        while (request := following(url, request, pages[-1])) is not None:
            if len(pages) >= MAX_PAGES:
                # A board that states no total pages on while its pages are full.
                log.warning(
                    "%s: stopped after %d pages, the board says more remain",
                    url,
                    MAX_PAGES,
                    extra={"action": "pages_capped"},
                )
                break
            more = await self.request(request)
            pages.append(more.page)
            latency += more.latency_ms
        merged = source.merge(url, pages)  # type: ignore[attr-defined]
        return dataclasses.replace(response, page=merged, latency_ms=latency)

    def _judge_host(self, url: str, response: FetchResponse | HttpStatusError) -> None:
        status = response.status if isinstance(response, HttpStatusError) else 200
        if status in (429, 503) and isinstance(response, HttpStatusError):
            wanted = response.retry_after
            if wanted is not None:
                longest = self._config.max_retry_after.total_seconds()
                self.gate.pause(url, min(wanted, longest), reason=f"HTTP {status} Retry-After")
                return
        if status == 429 or status >= 500:
            self.gate.failed(url, reason=f"HTTP {status}")
        else:
            self.gate.succeeded(url)

    async def _get(
        self, request: FetchRequest, *, etag: str | None, last_modified: str | None
    ) -> FetchResponse:
        url = request.url
        headers = {**self._headers, **_conditional_headers(etag, last_modified)}
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._config.timeout.total_seconds()):
                final_url, response, body = await self._follow(url, headers, request)
        except (httpx.TransportError, httpx.InvalidURL, aiohttp.ClientError, TimeoutError) as exc:
            raise _translate(exc, url) from exc
        latency_ms = round((time.perf_counter() - started) * 1000)
        try:
            return _response(url, final_url, response, body, latency_ms)
        except HttpStatusError as exc:
            self._judge_host(url, exc)
            raise

    async def _follow(
        self, url: str, headers: dict[str, str], request: FetchRequest | None = None
    ) -> tuple[str, httpx.Response, bytes]:
        """Send the request, following up to ``max_redirects`` redirects. Headers the
        source adds (a widget's access token) go to the origin it asked only: a redirect
        elsewhere is followed without them."""
        current = url
        for _hop in range(self._config.max_redirects + 1):
            response = await self._send(current, headers, request)
            location = response.headers.get("Location")
            if response.status_code in _REDIRECTS and location:
                await response.aclose()
                current = str(httpx.URL(current).join(location))
                if request is not None and request.headers and not _same_origin(url, current):
                    request = dataclasses.replace(request, headers={})
                continue
            try:
                if response.status_code == 304 or not 200 <= response.status_code < 300:
                    return current, response, b""
                return current, response, await self._read_limited(response, url)
            finally:
                await response.aclose()
        raise TransportError(f"more than {self._config.max_redirects} redirects", url=url)

    async def _send(
        self, url: str, headers: dict[str, str], wanted: FetchRequest | None = None
    ) -> httpx.Response:
        method, content = "GET", None
        if wanted is not None and wanted.headers:
            headers = {**headers, **wanted.headers}
        if wanted is not None and wanted.method == "POST":
            method = "POST"
            content = json.dumps(wanted.json or {}).encode()
            headers = {**headers, "Content-Type": "application/json", "Accept": "application/json"}
        request = httpx.Request(
            method, url, headers=headers, content=content, extensions={"timeout": self._timeout}
        )
        transport = self._transports.get(request.url.scheme)
        if transport is None:
            raise httpx.UnsupportedProtocol(f"not an http(s) URL: {request.url.scheme}")
        return await transport.handle_async_request(request)

    async def _fetch_robots(self, url: str) -> tuple[int, str]:
        try:
            async with self.gate.slot(url):
                _final, response, body = await self._follow(url, dict(self._headers))
        except (httpx.HTTPError, aiohttp.ClientError, TimeoutError, BodyTooLarge) as exc:
            raise TransportError(
                f"robots.txt: {_what_happened(exc, _first_words(exc))}", url=url
            ) from exc
        return response.status_code, body.decode("utf-8", "replace")

    async def _read_limited(self, response: httpx.Response, url: str) -> bytes:
        limit = self._config.max_body_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(url=url, limit=limit)
        # Decoded here, not by httpx, so the limit holds for what a body expands to
        # while it expands (a gzip of a gzip of zeros never reaches memory).
        codings = content_codings(response.headers.get_list("Content-Encoding"), url=url)
        decoder = BodyDecoder(codings, url=url, limit=limit)
        stream = response.stream  # the raw bytes, also of a response made in memory
        assert isinstance(stream, httpx.AsyncByteStream)
        async for chunk in stream:
            decoder.feed(chunk)
        return decoder.finish()

    async def aclose(self) -> None:
        for transport in set(self._transports.values()):
            await transport.aclose()


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _translate(exc: Exception, url: str) -> FetchError:
    """A timeout or a transport error, judged by the error that happened: httpx-aiohttp
    maps every aiohttp connection error (refused, reset, DNS, TLS) to httpx's
    ``ConnectTimeout``, so its cause decides."""
    cause = exc.__cause__ if isinstance(exc.__cause__, aiohttp.ClientError) else exc
    if isinstance(cause, TimeoutError | httpx.TimeoutException):
        return FetchTimeout("timed out", url=url)
    detail = _first_words(cause)
    return TransportError(f"{_what_happened(cause, detail)}: {detail}", url=url)


# What a person reads instead of a library's class name, judged on the error's chain.
_HAPPENED: tuple[tuple[type[BaseException] | str, str], ...] = (
    (ssl.SSLCertVerificationError, "the site's certificate is not trusted"),
    ("CERTIFICATE_VERIFY_FAILED", "the site's certificate is not trusted"),
    (ssl.SSLError, "the secure connection failed"),
    (ConnectionRefusedError, "connection refused"),
    ("Connect call failed", "connection refused"),
    (ConnectionResetError, "connection reset"),
    ("without sending complete message body", "the server closed the connection mid-response"),
    (aiohttp.ClientPayloadError, "the server closed the connection mid-response"),
    (httpx.RemoteProtocolError, "the server broke the HTTP protocol"),
    (httpx.InvalidURL, "not a valid URL"),
    (httpx.UnsupportedProtocol, "not an http or https URL"),
    (httpx.ReadError, "reading the response failed"),
)


def _what_happened(exc: BaseException, detail: str) -> str:
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 6:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for kind, words in _HAPPENED:
        if isinstance(kind, str):
            if kind in detail or any(kind in str(e) for e in chain):
                return words
        elif any(isinstance(e, kind) for e in chain):
            return words
    return "the connection failed"


def _first_words(exc: BaseException) -> str:
    """The error's message, or the first one down its chain (httpx's ReadError for a
    reset says nothing; the ConnectionResetError under it does)."""
    seen: BaseException | None = exc
    for _depth in range(6):
        if seen is None:
            break
        if str(seen):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return "no details"


def tls_context(config: HttpConfig) -> ssl.SSLContext:
    """Certificates are verified against ``http.ca_bundle``, else certifi's bundle
    (as httpx does), the same for both transports."""
    return ssl.create_default_context(cafile=str(config.ca_bundle or certifi.where()))


def _transports(
    config: HttpConfig, resolver: Resolver | None = None
) -> dict[str, httpx.AsyncBaseTransport]:
    """Plain HTTP/1.1 over aiohttp, several times cheaper per request than httpcore;
    https over httpcore with HTTP/2 when ``http2`` is on (servers that offer it keep
    one multiplexed connection), else over aiohttp too."""
    guard = AddressGuard(config.allowed_networks, resolver)
    tls = tls_context(config)
    fast: httpx.AsyncBaseTransport = GuardedTransport(LoopBoundTransport(config, guard, tls), guard)
    secure = fast
    if config.http2:
        h2 = httpx.AsyncHTTPTransport(http2=True, verify=tls)
        # httpx takes no network backend, and the pool is where it goes: ours connects
        # only to addresses the guard has just judged (tests/integration/test_netguard).
        h2._pool = httpcore.AsyncConnectionPool(
            ssl_context=tls,
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_connections,
            http1=True,
            http2=True,
            network_backend=GuardedBackend(guard),
        )
        secure = GuardedTransport(h2, guard)
    return {"http": fast, "https": secure}


class LoopBoundTransport(httpx.AsyncBaseTransport):
    """httpx over aiohttp (httpx-aiohttp), with one aiohttp session per event loop:
    an aiohttp session cannot outlive the loop it was made in."""

    def __init__(
        self,
        config: HttpConfig,
        guard: AddressGuard | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._config = config
        self._guard = guard or AddressGuard(config.allowed_networks)
        self._ssl = tls or tls_context(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inner: AiohttpTransport | None = None

    def _session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._config.max_connections,
            ssl=self._ssl,
            use_dns_cache=False,  # the guard's resolver keeps answers itself
            keepalive_timeout=30,
            resolver=GuardedResolver(self._guard),
        )
        return aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        loop = asyncio.get_running_loop()
        if self._inner is None or self._loop is not loop:
            self._inner, self._loop = AiohttpTransport(client=self._session), loop
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        inner, self._inner = self._inner, None
        if inner is not None and self._loop is asyncio.get_running_loop():
            await inner.aclose()


def _same_origin(first: str, second: str) -> bool:
    a, b = httpx.URL(first), httpx.URL(second)
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _response(
    url: str, final_url: str, response: httpx.Response, body: bytes, latency_ms: int
) -> FetchResponse:
    if response.status_code == 304:
        return FetchResponse(
            page=FetchedPage(url=url, status=304, content_type="", body=b""),
            not_modified=True,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            latency_ms=latency_ms,
        )
    if not 200 <= response.status_code < 300:
        raise HttpStatusError(
            url=url,
            status=response.status_code,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    page = FetchedPage(
        url=final_url,
        status=response.status_code,
        content_type=content_type,
        body=body,
        encoding=response.charset_encoding,
    )
    return FetchResponse(
        page=page,
        not_modified=False,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        latency_ms=latency_ms,
    )


class RobotsRules:
    """robots.txt per site, read once a day (RFC 9309: a 4xx means no rules,
    a 5xx or no answer means keep out for now and ask again in ten minutes)."""

    FRESH_FOR = 24 * 3600.0
    RETRY_AFTER_ERROR = 600.0

    def __init__(self, user_agent: str, *, monotonic: Callable[[], float] = time.monotonic):
        self._agent = user_agent.split("/")[0]
        self._now = monotonic
        self._rules: dict[str, tuple[float, RobotFileParser | bool]] = {}

    async def check(self, url: str, fetch: Callable[[str], Awaitable[tuple[int, str]]]) -> None:
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        known = self._rules.get(site)
        if known is None or known[0] < self._now():
            known = await self._load(site, fetch)
            self._rules[site] = known
        rules = known[1]
        allowed = rules.can_fetch(self._agent, url) if isinstance(rules, RobotFileParser) else rules
        if not allowed:
            raise RobotsDisallowed("robots.txt disallows fetching this URL", url=url)

    async def _load(
        self, site: str, fetch: Callable[[str], Awaitable[tuple[int, str]]]
    ) -> tuple[float, RobotFileParser | bool]:
        try:
            status, text = await fetch(f"{site}/robots.txt")
        except FetchError:
            return self._now() + self.RETRY_AFTER_ERROR, False
        if status >= 500:
            return self._now() + self.RETRY_AFTER_ERROR, False
        if status >= 400:
            return self._now() + self.FRESH_FOR, True
        parser = RobotFileParser()
        parser.parse(text.splitlines())
        return self._now() + self.FRESH_FOR, parser


__all__ = ["FetchError", "FetchResponse", "Fetcher", "RobotsRules"]
