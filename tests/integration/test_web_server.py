"""The dashboard's front door over a real socket on 127.0.0.1 (``bind_web`` and
``serve_web``, as ``posting-monitor web`` and ``run`` start it): the Host allow-list
against DNS rebinding, slow and idle clients, the connection cap, size limits."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.app import App
from monitor.config import MonitorConfig, WebConfig
from monitor.web.security import HostAllowList, host_of
from monitor.web.server import bind_web, serve_web

pytestmark = pytest.mark.anyio
REBOUND = "rebind.attacker.example"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _serve(tmp_path: Path, **web: Any) -> AsyncIterator[str]:
    """A dashboard served on a free port of 127.0.0.1; its base URL."""
    config = MonitorConfig(data_dir=tmp_path, web=WebConfig(**web))
    app = App(config, console=io.StringIO())
    app.prepare()
    sock = bind_web("127.0.0.1:0", config.web)  # listening already: no wait for start-up
    port = sock.getsockname()[1]
    stop = asyncio.Event()
    task = asyncio.create_task(serve_web(app, sock, stop))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await task
        await app.aclose()


@pytest.fixture
async def base(tmp_path: Path) -> AsyncIterator[str]:
    async for url in _serve(tmp_path, request_timeout=1, max_connections=8):
        yield url


async def _raw(base: str, data: bytes, *, wait: float = 5.0) -> bytes:
    """What the server answers to ``data`` before it closes the connection."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), wait)
    finally:
        writer.close()


# -- S2: the Host allow-list -------------------------------------------------------


async def test_a_rebound_name_gets_400_on_every_route_and_changes_nothing(base: str) -> None:
    """What a browser sends after DNS rebinding: the attacker's name as Host (and as
    Origin, so the same-origin check alone would let the write through)."""
    port = base.rsplit(":", 1)[1]
    foreign = {"Host": f"{REBOUND}:{port}", "Origin": f"http://{REBOUND}:{port}"}
    async with httpx.AsyncClient(base_url=base) as client:
        for path in ("/api/v1/watches", "/watches", "/feeds/changes.atom", "/static/app.css", "/x"):
            refused = await client.get(path, headers=foreign)
            assert (refused.status_code, refused.text) == (400, "Invalid host header"), path
        posted = await client.post(
            "/api/v1/watches", json={"url": "https://jobs.example.com/a"}, headers=foreign
        )
        assert posted.status_code == 400
        assert (await client.delete("/api/v1/watches/1", headers=foreign)).status_code == 400
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "127.0.0.2"):
            listed = await client.get("/api/v1/watches", headers={"Host": host})
            assert listed.status_code == 200, host
            assert listed.json()["total"] == 0
    assert b"400 Bad Request" in await _raw(base, b"GET /api/v1/health HTTP/1.0\r\n\r\n")


async def test_configured_names_and_the_public_url_are_answered(tmp_path: Path) -> None:
    hosts = ("monitor.lan", "*.corp.example")
    served = _serve(tmp_path, allowed_hosts=hosts, public_url="https://jobs.me.example/")
    async for base in served:
        async with httpx.AsyncClient(base_url=base) as client:
            for host, status in {
                "monitor.lan": 200,
                "MONITOR.LAN:8080": 200,
                "jobs.me.example": 200,
                "eu.corp.example": 200,
                "corp.example": 400,
                "monitor.lan.attacker.example": 400,
                "evilcorp.example": 400,
            }.items():
                answer = await client.get("/api/v1/health", headers={"Host": host})
                assert answer.status_code == status, host


def test_host_names_are_read_without_port_brackets_or_case() -> None:
    assert host_of("LocalHost:8080") == "localhost"
    assert host_of("[::1]:8080") == "::1"
    assert host_of("[::1]") == "::1"
    assert host_of("example.com.") == "example.com"
    assert host_of("[::1]x") == ""
    assert host_of("example.com:http") == ""
    # After the brackets: nothing, or a colon and a port of digits only.
    assert host_of("[::1]x80") == ""
    assert host_of("[::1]:x8") == ""
    assert host_of("[::1]]:80") == ""
    assert host_of("::1:8080") == ""  # IPv6 must be bracketed in a Host header
    assert HostAllowList.from_config(WebConfig(allowed_hosts=("*.corp.example",))).allows(
        "a.corp.example"
    )
    assert not HostAllowList.from_config(WebConfig(allowed_hosts=("*.corp.example",))).allows(
        "*.corp.example"
    )
    hosts = HostAllowList.from_config(WebConfig(), "0.0.0.0")
    assert hosts.allows("0.0.0.0:8080")
    assert hosts.allows("127.9.9.9")
    assert not hosts.allows(None)
    assert not hosts.allows("localhost.attacker.example")
    with pytest.raises(ValueError, match="not a host name"):
        WebConfig(allowed_hosts=("https://monitor.lan",))
    assert WebConfig(allowed_hosts=("[::1]", "Monitor.LAN")).allowed_hosts == ("::1", "monitor.lan")


# -- S6: slow and idle clients, the connection cap --------------------------------


async def test_a_request_trickled_slowly_is_answered_408_at_its_deadline(base: str) -> None:
    host, port = base.removeprefix("http://").split(":")
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(b"GET /api/v1/health HTTP/1.1\r\n")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.6)  # nothing yet: it is still arriving
        writer.write(b"Host: 127.0.0.1\r\n")  # a new line does not restart the clock
        answer = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 2.5


async def test_a_silent_connection_is_closed_at_the_deadline(base: str) -> None:
    assert (await _raw(base, b"")).startswith(b"HTTP/1.1 408")


async def test_connections_beyond_the_limit_are_refused_with_503_at_once(base: str) -> None:
    host, port = base.removeprefix("http://").split(":")
    held = [await asyncio.open_connection(host, int(port)) for _ in range(8)]
    try:
        started = time.monotonic()
        refused = await _raw(base, b"", wait=0.5)
        assert refused.startswith(b"HTTP/1.1 503")
        assert b"Too many connections" in refused
        assert time.monotonic() - started < 0.5
    finally:
        for _reader, writer in held:
            writer.close()
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/api/v1/health")).status_code == 200


# -- S14: body and address sizes ------------------------------------------------------


async def test_oversized_bodies_get_413_unread(base: str) -> None:
    """A declared length over web.max_request_bytes is answered before any of the body
    is sent; a chunked body is read only until it passes the limit."""
    head = b"POST /api/v1/watches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    answer = await _raw(base, head + b"Content-Length: 300000000\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"at most 1000000 bytes" in answer
    body = b'{"url": "https://jobs.example.com/' + b"A" * 1_000_000  # never finished
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 65536]), body[i : i + 65536])
        for i in range(0, len(body), 65536)
    )
    answer = await _raw(base, head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"AAAA" not in answer


async def test_oversized_addresses_get_414_or_400(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/api/v1/health", params={"pad": "a" * 9000})).status_code == 414
        assert (await client.get("/api/v1/health", params={"pad": "a" * 7000})).status_code == 200
    huge = (
        b"GET /?q=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    answer = await _raw(base, huge)
    assert answer.startswith((b"HTTP/1.1 414", b"HTTP/1.1 400"))  # 400: uvicorn's head limit


def test_failed_accepts_are_reported_once_a_minute() -> None:
    from monitor.web.server import _quiet_accept_errors

    seen: list[str] = []
    handle = _quiet_accept_errors(lambda _loop, context: seen.append(context["message"]))
    loop = asyncio.new_event_loop()
    try:
        for _ in range(1000):
            handle(loop, {"message": "socket.accept() out of system resource"})
            handle(
                loop, {"message": "Exception in callback BaseSelectorEventLoop._start_serving(x)"}
            )
        handle(loop, {"message": "Task exception was never retrieved"})
        handle(loop, {"message": "Task exception was never retrieved"})
    finally:
        loop.close()
    assert seen == [
        "socket.accept() out of system resource",
        "Exception in callback BaseSelectorEventLoop._start_serving(x)",
        "Task exception was never retrieved",
        "Task exception was never retrieved",
    ]
