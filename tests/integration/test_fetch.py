"""The fetcher against scripted servers: Retry-After, redirects, limits, robots.txt,
cookies, identification."""

from __future__ import annotations

import asyncio
import gzip
import logging
import tracemalloc
import zlib
from collections.abc import Callable

import httpx
import pytest

from monitor.config import HttpConfig
from monitor.errors import (
    BodyTooLarge,
    HostPaused,
    HttpStatusError,
    RobotsDisallowed,
    TransportError,
)
from monitor.net import fetch
from monitor.net.decoding import BodyDecoder
from monitor.net.fetch import Fetcher
from monitor.sources.base import FetchRequest, FetchResponse
from monitor.sources.eightfold import EightfoldSource

URL = "https://jobs.example.com/postings/1"
Handler = Callable[[httpx.Request], httpx.Response]


class Server:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def fetcher(server: Server, **http: object) -> Fetcher:
    return Fetcher(HttpConfig.model_validate(http), transport=httpx.MockTransport(server))


def get(f: Fetcher, url: str = URL, **kwargs: str) -> FetchResponse:
    async def once() -> FetchResponse:
        return await f.get(url, **kwargs)

    return asyncio.run(once())


def test_429_with_retry_after_pauses_the_host_for_that_long() -> None:
    server = Server(lambda _r: httpx.Response(429, headers={"Retry-After": "600"}))
    f = fetcher(server)
    with pytest.raises(HttpStatusError) as raised:
        get(f)
    assert raised.value.retry_after == 600
    with pytest.raises(HostPaused) as paused:
        get(f, "https://jobs.example.com/postings/2")
    assert 590 < paused.value.seconds <= 600
    assert len(server.requests) == 1  # the paused request never left


def test_retry_after_is_capped_by_the_config() -> None:
    server = Server(lambda _r: httpx.Response(503, headers={"Retry-After": "999999"}))
    f = fetcher(server, max_retry_after="1h")
    with pytest.raises(HttpStatusError):
        get(f)
    assert f.gate.paused_hosts()["jobs.example.com"] <= 3600


def test_redirects_are_followed_and_the_final_url_kept() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/postings/1":
            return httpx.Response(301, headers={"Location": "/postings/1-backend"})
        return httpx.Response(200, text="<h1>Backend</h1>", headers={"Content-Type": "text/html"})

    response = get(fetcher(Server(handler)))
    assert response.page.url == "https://jobs.example.com/postings/1-backend"
    assert response.page.body == b"<h1>Backend</h1>"


def test_too_many_redirects_is_a_transport_error() -> None:
    server = Server(lambda r: httpx.Response(302, headers={"Location": f"{r.url.path}x"}))
    with pytest.raises(TransportError, match="more than 3 redirects"):
        get(fetcher(server, max_redirects=3))
    assert len(server.requests) == 4


def test_a_compressed_body_is_limited_by_what_it_expands_to() -> None:
    bomb = gzip.compress(b"a" * 2_000_000)
    assert len(bomb) < 10_000
    server = Server(
        lambda _r: httpx.Response(
            200, content=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/html"}
        )
    )
    with pytest.raises(BodyTooLarge):
        get(fetcher(server, max_body_bytes=1_000_000))


def gzip_of_zeros(size: int) -> bytes:
    """A gzip stream of ``size`` zero bytes, made without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(size >> 20)]
    return b"".join([*parts, packer.flush()])


def encoded(body: bytes, coding: str) -> Server:
    headers = {"Content-Encoding": coding, "Content-Type": "text/html"}
    # A stream, as a transport gives: content= would be decoded as the response is made.
    return Server(lambda _r: httpx.Response(200, stream=httpx.ByteStream(body), headers=headers))


def test_a_nested_compression_bomb_is_refused_before_it_expands() -> None:
    # gzip of gzip of 256 MiB of zeros: a few hundred bytes on the wire.
    bomb = gzip.compress(gzip_of_zeros(256 << 20))
    assert len(bomb) < 2_000
    f = fetcher(encoded(bomb, "gzip, gzip"), max_body_bytes=1_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge, match="larger than 1000000 bytes"):
            get(f)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000  # the limit and a few decoder steps, not 256 MiB


def test_more_than_two_stacked_content_codings_are_refused() -> None:
    body = gzip.compress(gzip.compress(gzip.compress(b"<h1>Job</h1>")))
    with pytest.raises(TransportError, match="3 stacked content encodings"):
        get(fetcher(encoded(body, "gzip, gzip, gzip")))


def test_a_content_coding_not_asked_for_is_refused() -> None:
    with pytest.raises(TransportError, match="'br' was not asked for"):
        get(fetcher(encoded(b"\x1b\x03\x00", "br")))


@pytest.mark.parametrize(
    ("body", "coding"),
    [
        (gzip.compress(gzip.compress(b"<h1>Job</h1>")), "gzip, gzip"),
        (zlib.compress(gzip.compress(b"<h1>Job</h1>")), "x-gzip,deflate"),
        (zlib.compress(b"<h1>Job</h1>"), "deflate"),
        (zlib.compress(b"<h1>Job</h1>")[2:-4], "deflate"),  # raw deflate, as some servers send
        (b"<h1>Job</h1>", "identity"),
    ],
    ids=["gzip-gzip", "gzip-deflate", "deflate", "raw-deflate", "identity"],
)
def test_bodies_within_the_limit_are_decoded(body: bytes, coding: str) -> None:
    assert get(fetcher(encoded(body, coding))).page.body == b"<h1>Job</h1>"


def test_a_body_decodes_the_same_in_any_chunks() -> None:
    text = b"".join(b"<p>line %d</p>" % n for n in range(20_000))
    raw = gzip.compress(zlib.compress(text))
    decoder = BodyDecoder(["deflate", "gzip"], url=URL, limit=len(text))
    for start in range(0, len(raw), 7):
        decoder.feed(raw[start : start + 7])
    assert decoder.finish() == text
    with pytest.raises(BodyTooLarge):
        BodyDecoder(["deflate", "gzip"], url=URL, limit=len(text) - 1).feed(raw)


def test_a_corrupt_gzip_body_is_a_transport_error() -> None:
    with pytest.raises(TransportError, match="not valid gzip"):
        get(fetcher(encoded(b"not gzip at all", "gzip")))


def test_requests_identify_themselves_and_carry_no_cookies() -> None:
    server = Server(
        lambda _r: httpx.Response(200, text="ok", headers={"Set-Cookie": "session=abc; Path=/"})
    )
    f = fetcher(server, user_agent="PostingMonitor-test/1 (+mailto:ops@example.com)")
    get(f)
    get(f)
    assert all(
        r.headers["User-Agent"] == "PostingMonitor-test/1 (+mailto:ops@example.com)"
        for r in server.requests
    )
    assert "Cookie" not in server.requests[1].headers


def test_conditional_get_sends_the_validators() -> None:
    server = Server(lambda _r: httpx.Response(304, headers={"ETag": '"v1"'}))
    response = get(fetcher(server), etag='"v1"', last_modified="Mon, 05 Jan 2026 09:00:00 GMT")
    assert response.not_modified
    assert server.requests[0].headers["If-None-Match"] == '"v1"'
    assert server.requests[0].headers["If-Modified-Since"] == "Mon, 05 Jan 2026 09:00:00 GMT"


def robots_server(robots: httpx.Response) -> Server:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return robots
        return httpx.Response(200, text="<h1>Job</h1>", headers={"Content-Type": "text/html"})

    return Server(handler)


def test_robots_txt_is_respected_when_asked_and_read_once() -> None:
    rules = "User-agent: PostingMonitor\nDisallow: /postings/\n\nUser-agent: *\nAllow: /\n"
    server = robots_server(httpx.Response(200, text=rules))
    f = fetcher(server, respect_robots_txt=True)
    with pytest.raises(RobotsDisallowed):
        get(f)
    get(f, "https://jobs.example.com/careers/2")
    assert [r.url.path for r in server.requests] == ["/robots.txt", "/careers/2"]


def test_missing_robots_txt_allows_everything() -> None:
    server = robots_server(httpx.Response(404))
    assert get(fetcher(server, respect_robots_txt=True)).page.status == 200


def test_robots_txt_is_ignored_by_default() -> None:
    server = robots_server(httpx.Response(200, text="User-agent: *\nDisallow: /\n"))
    assert get(fetcher(server)).page.status == 200
    assert [r.url.path for r in server.requests] == ["/postings/1"]


def test_https_speaks_http2_when_enabled_and_plain_http_uses_the_fast_transport() -> None:
    from monitor.net.fetch import LoopBoundTransport

    with_h2 = Fetcher(HttpConfig())
    without = Fetcher(HttpConfig(http2=False))
    assert isinstance(with_h2._transports["http"]._inner, LoopBoundTransport)  # type: ignore[attr-defined]
    https = with_h2._transports["https"]._inner  # type: ignore[attr-defined]
    assert isinstance(https, httpx.AsyncHTTPTransport)
    assert https._pool._http2  # negotiated by ALPN where the server offers it
    assert isinstance(without._transports["https"]._inner, LoopBoundTransport)  # type: ignore[attr-defined]


def test_a_board_without_a_total_stops_at_the_page_limit_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Full pages and no total: the fetcher's page limit ends the board, in the log."""
    monkeypatch.setattr(fetch, "MAX_PAGES", 3)
    board = "https://acme.eightfold.ai/careers"
    full = {"status": 200, "data": {"positions": [{"id": n} for n in range(10)]}}
    server = Server(lambda _r: httpx.Response(200, json=full))
    source = EightfoldSource()

    async def read() -> FetchResponse:
        return await fetcher(server).fetch_source(source, board, fetch_url=source.fetch_url(board))

    with caplog.at_level(logging.WARNING, logger="monitor.net.fetch"):
        asyncio.run(read())
    assert [r.url.params["start"] for r in server.requests] == ["0", "10", "20"]
    (record,) = caplog.records
    assert getattr(record, "action", None) == "pages_capped"
    assert "stopped after 3 pages" in record.getMessage()


@pytest.mark.parametrize(
    ("location", "kept"),
    [
        ("/api/widget/jobs?page=1&v=2", True),
        ("https://cdn.example.net/jobs", False),
        ("http://join.com/api/widget/jobs?page=1", False),  # another scheme is another origin
    ],
    ids=["same-origin", "other-host", "other-scheme"],
)
def test_a_sources_headers_go_to_its_origin_only(location: str, kept: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/widget/jobs" and not request.url.query:
            return httpx.Response(302, headers={"Location": location})
        return httpx.Response(200, json={"jobs": []})

    server = Server(handler)
    wanted = FetchRequest(
        url="https://join.com/api/widget/jobs", headers={"access-token": "widget-token"}
    )
    asyncio.run(fetcher(server).request(wanted))
    first, followed = server.requests
    assert first.headers["access-token"] == "widget-token"
    assert ("access-token" in followed.headers) is kept
