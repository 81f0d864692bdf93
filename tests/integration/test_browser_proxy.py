"""The proxy the rendering browser goes through, spoken to directly (no Chromium): it
connects only where the address guard allows, for plain HTTP and CONNECT alike, and
a browser that stops answering is restarted. The browser itself is driven by
tests/acceptance/test_browser_render.py."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import pytest

from monitor.config import BrowserConfig
from monitor.net import browser as browser_module
from monitor.net.browser import BrowserRenderer
from monitor.net.browserproxy import GuardingProxy
from monitor.net.netguard import AddressGuard


async def _origin(host: str, hits: list[bytes]) -> asyncio.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hits.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, host=host, port=0)


async def _ask(proxy: GuardingProxy, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(request)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(4096), 5)
    finally:
        writer.close()


def test_plain_http_reaches_an_allowed_address_and_closes_after_one_request() -> None:
    async def run() -> None:
        hits: list[bytes] = []
        public = await _origin("127.0.0.1", hits)
        proxy = GuardingProxy(AddressGuard(["127.0.0.1/32"]), on_refused=lambda *_: None)
        await proxy.start()
        try:
            port = public.sockets[0].getsockname()[1]
            answer = await _ask(
                proxy,
                f"GET http://127.0.0.1:{port}/job?id=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Proxy-Connection: keep-alive\r\n\r\n".encode(),
            )
        finally:
            await proxy.aclose()
            public.close()
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert b"keep-alive" not in answer  # no reuse of the connection for another host
        assert b"Connection: close" in answer
        assert answer.endswith(b"\r\n\r\nok")
        (sent,) = hits
        assert sent.startswith(b"GET /job?id=1 HTTP/1.1\r\n")
        assert b"Connection: close" in sent
        assert b"Proxy-Connection" not in sent

    asyncio.run(run())


@pytest.mark.parametrize("how", ["plain", "connect", "websocket", "itself"])
def test_a_private_address_or_the_proxy_itself_gets_a_403_and_nothing_else(how: str) -> None:
    async def run() -> None:
        hits: list[bytes] = []
        refused: list[str] = []
        private = await _origin("127.0.0.2", hits)
        proxy = GuardingProxy(
            AddressGuard(["127.0.0.1/32"]), on_refused=lambda url, _why: refused.append(url)
        )
        await proxy.start()
        port = private.sockets[0].getsockname()[1]
        where = f"127.0.0.1:{proxy.port}" if how == "itself" else f"127.0.0.2:{port}"
        requests = {
            "plain": f"GET http://{where}/x HTTP/1.1\r\nHost: {where}\r\n\r\n",
            "connect": f"CONNECT {where} HTTP/1.1\r\nHost: {where}\r\n\r\n",
            "websocket": f"GET http://{where}/ws HTTP/1.1\r\nHost: {where}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            "itself": f"CONNECT {where} HTTP/1.1\r\nHost: {where}\r\n\r\n",
        }
        try:
            answer = await _ask(proxy, requests[how].encode())
        finally:
            await proxy.aclose()
            private.close()
        assert answer.startswith(b"HTTP/1.1 403 Forbidden")
        assert hits == []
        assert len(refused) == 1
        assert where in refused[0]

    asyncio.run(run())


class _Stuck:
    """A context or browser whose close never returns (a renderer that does not answer)."""

    def __init__(self) -> None:
        self.closes = 0

    async def close(self) -> None:
        self.closes += 1
        await asyncio.sleep(3600)


def test_a_page_that_will_not_close_restarts_the_browser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    killed: list[tuple[int, int]] = []
    fake_kill: Callable[[int, int], None] = lambda pid, sig: killed.append((pid, sig))  # noqa: E731
    monkeypatch.setattr(os, "kill", fake_kill)
    monkeypatch.setattr(browser_module, "_CLOSE_SECONDS", 0.05)

    async def run() -> None:
        renderer = BrowserRenderer(BrowserConfig(), AddressGuard(), user_agent="test")
        stuck_browser, stuck_context = _Stuck(), _Stuck()
        renderer._browser = stuck_browser
        renderer._browser_pid = 4242
        await renderer._close(stuck_context)
        assert (stuck_context.closes, stuck_browser.closes) == (1, 1)
        browser: Any = renderer._browser
        assert browser is None  # the next render starts a new one

    asyncio.run(run())
    assert [pid for pid, _signal in killed] == [4242]
