"""DNS rebinding as a browser does it (Debian's chromium, Playwright): a website whose
name the attacker points at 127.0.0.1 after the page loaded. The browser then talks
to the credential-less dashboard as that website, same origin; the Host allow-list
is what stops it. Chromium's ``--host-resolver-rules`` plays the attacker's DNS."""

from __future__ import annotations

import asyncio
import io
import shutil
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.web.server import bind_web, serve_web

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api")
REBOUND = "jobs-news.attacker.example"


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[int]:
    """``posting-monitor web``'s server on a free port of 127.0.0.1, no credentials
    (the default loopback setup); its port."""
    config = MonitorConfig(data_dir=tmp_path)
    app = App(config, console=io.StringIO())
    app.prepare()
    app.watches.add("https://jobs.example.com/secret-role", interval=timedelta(hours=1))
    sock = bind_web("127.0.0.1:0", config.web)
    port = int(sock.getsockname()[1])
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve_web(app, sock, stop))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()  # its self-pipe sockets, not left to the garbage collector
        sock.close()  # serve_web closes it once it ran; not if the thread never got there
        asyncio.run(app.aclose())


def test_a_rebound_website_can_neither_read_nor_change_the_dashboard(dashboard: int) -> None:
    rules = f"MAP {REBOUND} 127.0.0.1"
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", f"--host-resolver-rules={rules}"]
        )
        try:
            page = browser.new_page()
            own = page.goto(f"http://localhost:{dashboard}/api/v1/watches")
            assert own is not None
            assert own.status == 200  # the user's own tab: the control
            assert "secret-role" in page.content()
            rebound = page.goto(f"http://{REBOUND}:{dashboard}/")
            assert rebound is not None
            assert rebound.status == 400
            # The attacker's script, running as that origin, tries to read and to write.
            outcome = page.evaluate(
                """async () => {
                    const read = await fetch('/api/v1/watches');
                    const write = await fetch('/api/v1/watches', {
                        method: 'POST', headers: {'content-type': 'application/json'},
                        body: JSON.stringify({url: 'https://evil.example/job'})});
                    return [read.status, await read.text(), write.status];
                }"""
            )
        finally:
            browser.close()
    status, body, written = outcome
    assert (status, written) == (400, 400)
    assert "secret-role" not in body
