"""The dashboard in a real browser (Debian's chromium driven by Playwright): add a watch
through the form against a local posting server, see its first check, edit the
posting, see the change on the timeline and the pay chart move, retry a failed alert,
and a hostile posting rendered inert. Screenshots of each page go to
``$POSTING_MONITOR_SCREENSHOTS`` (default: the test's temporary directory)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from monitor.app import App
from monitor.config import AlertConfig, ChannelConfig, HttpConfig, MonitorConfig, WebConfig
from monitor.demo import FIRST_VERSION, REVISED_VERSION, SeedServer, seeds_dir
from monitor.engines.oneshot import check_all
from monitor.testing import PageServer
from monitor.web.app import close_web_app, create_web_app
from tests.peers import WebhookReceiver, webhook_receiver

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api")


SIZES: dict[str, dict[str, Any]] = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 3,
    },
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}

# What the page measures: how far the document reaches past the screen's width, nav
# links cut off, and the visible text drawn under 10 px (with a sample of it). The width
# is the one asked for: a phone browser widens its layout to fit a page that is too wide,
# so the window's own width would hide the overflow.
MEASURE = """(screen) => {
  const doc = document.documentElement;
  const small = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const rects = el.getClientRects();
    const style = getComputedStyle(el);
    if (!rects.length || style.visibility === "hidden" || style.display === "none") continue;
    let size = parseFloat(style.fontSize);
    if (el instanceof SVGElement) {
      const ctm = el.getScreenCTM();
      if (ctm) size *= Math.hypot(ctm.a, ctm.b);
    }
    if (size < 10) small.push(`${el.tagName} ${size.toFixed(1)}px ${el.textContent.trim().slice(0, 30)}`);
  }
  const cut = [...document.querySelectorAll("header.top a, header.top button")]
    .filter(a => a.getBoundingClientRect().right > screen + 0.5)
    .map(a => a.textContent.trim());
  return {overflow: Math.max(doc.scrollWidth, document.body.scrollWidth) - screen, small: small.slice(0, 8),
          smallCount: small.length, cut: cut};
}"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(tmp_path: Path, hook_port: int) -> MonitorConfig:
    return MonitorConfig(
        data_dir=tmp_path,
        http=HttpConfig(allowed_networks=("127.0.0.1/32",)),
        alerts=AlertConfig(max_attempts=1),
        channels=(
            ChannelConfig(name="console", url=SecretStr("console://"), tags=("default",)),
            ChannelConfig(
                name="hook",
                url=SecretStr(f"json://127.0.0.1:{hook_port}/secret-path"),
                format="json",
                tags=("default",),
            ),
        ),
    )


BOARD = "https://boards.greenhouse.io/northwind"
BOARD_API = "https://boards-api.greenhouse.io/v1/boards/northwind/jobs?content=true"


class _Routed(httpx.AsyncBaseTransport):
    """127.0.0.1 over the network (the local posting server); other hosts (a Greenhouse
    board) from a PageServer: no test reaches the internet."""

    def __init__(self, pages: PageServer) -> None:
        self._local = httpx.AsyncHTTPTransport()
        self._pages = pages.transport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        local = request.url.host == "127.0.0.1"
        return await (self._local if local else self._pages).handle_async_request(request)


@dataclass
class Served:
    base: str
    config: MonitorConfig
    hook: WebhookReceiver
    pages: PageServer


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Served]:
    """The dashboard served by uvicorn on a free port, in a thread, on a fresh database."""

    pages = PageServer()
    with webhook_receiver() as hook:
        config = _config(tmp_path, hook.port)
        # Its own checks ("check now") fetch as the checks do, on the server's loop.
        app = App(config, console=io.StringIO(), transport=_Routed(pages))
        app.prepare()
        try:
            with served_on_a_free_port(
                create_web_app(app, preview_transport=_Routed(pages))
            ) as base:
                yield Served(base, config, hook, pages)
        finally:
            asyncio.run(app.aclose())


@contextmanager
def served_on_a_free_port(web: Any) -> Iterator[str]:
    """The dashboard app served by uvicorn on a free port of 127.0.0.1, in a thread;
    its base URL. The app is closed after."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)  # waits for the server to bind, not for time to pass
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        close_web_app(web)


def _check(served: Served) -> None:
    """One pass of checks and deliveries, as `posting-monitor check` does."""

    async def run() -> None:
        app = App(served.config, console=io.StringIO(), transport=_Routed(served.pages))
        try:
            app.prepare()
            await check_all(app)
        finally:
            await app.aclose()

    _off_the_browser_loop(run)


def _off_the_browser_loop(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Playwright's sync API runs an event loop on this thread: async work goes elsewhere."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, work()).result()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("POSTING_MONITOR_SCREENSHOTS", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_add_check_change_chart_retry_in_a_browser(dashboard: Served, tmp_path: Path) -> None:
    base, hook = dashboard.base, dashboard.hook
    shots = _shots(tmp_path)
    dialogs: list[str] = []
    with SeedServer(seeds_dir(), FIRST_VERSION) as posting, playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        # Add a watch through the form, previewing first.
        page.goto(f"{base}/watches/new")
        page.fill("input[name=url]", posting.url)
        page.click("button[value=preview]")
        page.wait_for_selector("#preview")
        assert "155,700" in page.inner_text("#preview")
        page.screenshot(path=str(shots / "add-watch-preview.png"), full_page=True)
        page.click("button[value=save]")
        page.wait_for_url(f"{base}/postings/*")
        posting_page = page.url

        # The first check, seen on the page.
        _check(dashboard)
        page.goto(posting_page)
        assert "Backend Engineer" in page.inner_text("h1")
        assert page.locator("#pay-chart svg.wide rect").count() == 1
        page.screenshot(path=str(shots / "posting-first-check.png"), full_page=True)

        # The employer edits the posting; the next check shows the change.
        posting.current = REVISED_VERSION
        hook.status = 500  # the JSON channel is down: its alert fails (max_attempts 1)
        _check(dashboard)
        page.goto(posting_page)
        timeline = page.inner_text("#timeline")
        assert "2 version(s)" in timeline
        assert "+6.0%" in timeline
        assert "Kubernetes" in timeline
        assert page.locator("#pay-chart svg.wide rect").count() == 2  # the band moved up
        page.screenshot(path=str(shots / "posting-changed.png"), full_page=True)

        page.goto(f"{base}/watches")
        assert "165,000" in page.inner_text("#watches")
        page.screenshot(path=str(shots / "watches.png"), full_page=True)
        page.goto(f"{base}/changes?field=pay")
        assert "+6.0%" in page.inner_text("#changes")
        page.screenshot(path=str(shots / "changes.png"), full_page=True)

        # Retry the failed alert from the alerts page.
        page.goto(f"{base}/alerts?status=failed")
        assert "failed" in page.inner_text("#alerts")
        page.screenshot(path=str(shots / "alerts-failed.png"), full_page=True)
        hook.status = 200
        page.click("#alerts button:has-text('Retry')")
        page.wait_for_url(f"{base}/alerts?status=pending")
        assert "pending" in page.inner_text("#alerts")
        assert "secret-path" not in page.content()

        page.goto(f"{base}/health")
        page.screenshot(path=str(shots / "health.png"), full_page=True)
        page.goto(f"{base}/api/v1/docs")
        page.screenshot(path=str(shots / "api-docs.png"))
        browser.close()
    assert dialogs == []
    assert errors == [], errors  # no script error and no CSP violation on any page


def test_hostile_posting_is_inert_in_a_browser(dashboard: Served, tmp_path: Path) -> None:
    base, config = dashboard.base, dashboard.config
    data = {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": "<script>alert(1)</script><img src=x onerror=alert(2)>",
        "hiringOrganization": {"name": "Evil Corp"},
        "description": "<ul><li><script>alert(3)</script>Rust</li></ul>",
    }
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "posting.html").write_text(
        '<html><head><script type="application/ld+json">'
        + json.dumps(data).replace("</", "<\\/")
        + "</script></head><body></body></html>",
        encoding="utf-8",
    )
    dialogs: list[str] = []
    errors: list[str] = []
    with SeedServer(folder, "posting.html") as posting, playwright_api.sync_playwright() as pw:
        app = App(config, console=io.StringIO())
        app.prepare()
        app.watches.add(posting.url, interval=timedelta(hours=1))
        _off_the_browser_loop(app.aclose)
        _check(dashboard)
        data["title"] = f"{data['title']} (revised)"  # a change: the changes page shows it too
        (folder / "posting.html").write_text(
            '<html><head><script type="application/ld+json">'
            + json.dumps(data).replace("</", "<\\/")
            + "</script></head><body></body></html>",
            encoding="utf-8",
        )
        _check(dashboard)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        # Injected markup the CSP blocked would still say so here (a CSP violation is a
        # console error), so this fails on unescaped output even though nothing runs.
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/watches")
        page.click("#watches a[href^='/postings/']")
        page.wait_for_selector("h1")
        posting_page = page.url
        for url in (posting_page, f"{base}/watches", f"{base}/changes"):
            page.goto(url)
            shown = page.inner_text("main") if page.locator("main").count() else page.content()
            assert "<script>alert(1)</script><img src=x onerror=alert(2)>" in shown, url
            assert page.locator("img[src='x']").count() == 0, url  # no element was made
            assert page.locator("script:not([src])").count() == 0, url
            assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0, url
        page.goto(posting_page)
        assert "<script>alert(1)</script>" in page.inner_text("h1")  # shown as text
        page.screenshot(path=str(_shots(tmp_path) / "hostile-posting.png"), full_page=True)
        browser.close()
    assert dialogs == []
    assert errors == [], errors


TOKEN = "a-browser-token-of-some-length"
USER, PASSWORD = "ann", "a-password-of-16-or-more"


@pytest.fixture
def signed(tmp_path: Path) -> Iterator[Served]:
    """The dashboard asking for a sign-in: the token (the form) or a user and password."""
    pages = PageServer()
    with webhook_receiver() as hook:
        web = WebConfig(token=SecretStr(TOKEN), username=USER, password=SecretStr(PASSWORD))
        config = _config(tmp_path, hook.port).model_copy(update={"web": web})
        app = App(config, console=io.StringIO(), transport=_Routed(pages))
        app.prepare()
        try:
            with served_on_a_free_port(create_web_app(app)) as base:
                yield Served(base, config, hook, pages)
        finally:
            asyncio.run(app.aclose())


def test_sign_in_with_the_form_and_with_basic_in_a_browser(signed: Served, tmp_path: Path) -> None:
    base, shots = signed.base, _shots(tmp_path)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/watches")
        assert page.url == f"{base}/login?next=/watches"  # sent to sign in first
        page.fill("input[name=token]", TOKEN[:-1])  # one character short
        page.click("form button[type=submit]")
        assert "/login" in page.url
        assert page.locator("#watches").count() == 0
        page.screenshot(path=str(shots / "sign-in-refused.png"), full_page=True)
        page.fill("input[name=token]", TOKEN)
        page.click("form button[type=submit]")
        page.wait_for_url(f"{base}/watches")
        assert page.locator("#watches").count() == 1
        page.goto(f"{base}/changes")  # the session holds across pages
        assert page.url == f"{base}/changes"
        page.click("form[action='/logout'] button")
        page.wait_for_url(f"{base}/login")
        page.goto(f"{base}/watches")
        assert "/login" in page.url  # signed out means out

        for user, password, admitted in (
            (USER, PASSWORD + "x", False),
            (USER + "x", PASSWORD, False),
            ("bob", "another-password-16+", False),
            (USER, PASSWORD, True),
        ):
            context = browser.new_context(http_credentials={"username": user, "password": password})
            basic = context.new_page()
            answer = basic.goto(f"{base}/api/v1/watches")
            assert answer is not None
            assert (answer.status == 200) is admitted, (user, password, answer.status)
            context.close()
        browser.close()
    assert all("status of 401" in e for e in errors), errors  # only the refusals


def _board_file(name: str) -> str:
    return (seeds_dir() / "greenhouse" / name).read_text(encoding="utf-8")


def test_follow_a_board_and_its_new_posting_in_a_browser(dashboard: Served, tmp_path: Path) -> None:
    base, shots = dashboard.base, _shots(tmp_path)
    dashboard.pages.publish(BOARD_API, _board_file("board-1.json"), "application/json")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/watches/new")
        page.fill("input[name=url]", BOARD)
        page.click("button[value=preview]")
        page.wait_for_selector("#preview")
        preview = page.inner_text("#preview")
        assert "a board" in preview
        assert "3 posting(s) found" in preview
        page.click("button[value=save]")
        page.wait_for_url(f"{base}/postings/*")
        board_page = page.url

        _check(dashboard)  # the first read: three postings, none reported as new
        dashboard.pages.publish(BOARD_API, _board_file("board-2.json"), "application/json")
        _check(dashboard)  # Mobile Engineer (iOS) appears
        page.goto(board_page)
        members = page.inner_text("#members")
        assert "Mobile Engineer (iOS)" in members
        assert "new" in page.inner_text("#board-changes")
        assert page.locator("#open-chart svg.wide polyline").count() == 1
        page.screenshot(path=str(shots / "board.png"), full_page=True)

        page.click("#members a:has-text('Mobile Engineer (iOS)')")
        page.wait_for_selector("#timeline")
        assert "Mobile Engineer (iOS)" in page.inner_text("h1")
        page.screenshot(path=str(shots / "board-new-posting.png"), full_page=True)
        browser.close()


def _fits(page: Any, size: str, step: str, problems: list[str]) -> None:
    """Each step's page at this size: nothing wider than the screen, no nav link cut off,
    no text under 10 px."""
    seen = page.evaluate(MEASURE, SIZES[size]["viewport"]["width"])
    if seen["overflow"] > 0:
        problems.append(f"{step} at {size}: {seen['overflow']} px wider than the screen")
    if seen["cut"]:
        problems.append(f"{step} at {size}: nav cut off: {seen['cut']}")
    if seen["smallCount"]:
        problems.append(f"{step} at {size}: text under 10 px: {seen['small']}")


@pytest.mark.parametrize("size", sorted(SIZES))
def test_act_on_watches_in_a_browser(dashboard: Served, tmp_path: Path, size: str) -> None:
    """Add, check now, edit, tag, bulk pause, the unseen count and a failing watch's
    reason, at a phone's size and a desktop's, each step's page fitting the screen."""
    base, shots = dashboard.base, _shots(tmp_path)
    problems: list[str] = []
    with SeedServer(seeds_dir(), FIRST_VERSION) as posting, playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(**SIZES[size])
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        def shot(step: str) -> None:
            page.screenshot(path=str(shots / f"{step}-{size}.png"), full_page=True)
            _fits(page, size, step, problems)

        page.goto(f"{base}/watches/new")
        page.fill("input[name=url]", posting.url)
        page.fill("input[name=tags]", "backend")
        page.click("button[value=save]")
        page.wait_for_url(f"{base}/postings/*")
        posting_page = page.url

        # Check now: the first read, said on the page.
        page.click("button:has-text('Check now')")
        page.wait_for_selector("#checked")
        assert "read for the first time" in page.inner_text("#checked")
        assert "Backend Engineer" in page.inner_text("h1")
        shot("watch-checked-now")

        # Edit: the schedule and the tags.
        page.click("a:has-text('Edit')")
        page.wait_for_selector("#edit-watch")
        assert page.input_value("input[name=interval]") == "1h"
        page.fill("input[name=interval]", "6h")
        page.fill("input[name=tags]", "backend, eu")
        shot("watch-edit")
        page.click("button:has-text('Save the changes')")
        page.wait_for_url(posting_page)
        assert page.inner_text("#tags") == "Tags: backend eu"

        # A change found by a check elsewhere: unseen until the page is viewed.
        posting.current = REVISED_VERSION
        _check(dashboard)
        page.goto(f"{base}/watches?tag=eu")
        assert page.inner_text("#unseen-count") == "1 new"
        assert "new changes" in page.inner_text("#watches")
        shot("watches-unseen")

        # Bulk pause the selection.
        page.check("#watches tbody input[name=ids]")
        page.select_option("select[name=action]", "pause")
        page.click("#bulk button:has-text('Apply')")
        page.wait_for_selector("#bulk-done")
        assert "Paused 1 watch." in page.inner_text("#bulk-done")
        assert "paused" in page.inner_text("#watches")
        shot("watches-bulk-paused")

        # Viewing the watch clears the count; a failing check shows why, on the page.
        page.goto(posting_page)
        assert page.locator("#unseen-count").count() == 0
        posting.current = "no-such-page.html"  # the server breaks the connection
        page.click("button:has-text('Check now')")
        page.wait_for_selector("#failing")
        failing = page.inner_text("#failing")
        assert "1 failed check in a row, since" in failing
        assert "Last error:" in failing
        shot("watch-failing-reason")
        browser.close()
    assert errors == [], errors
    assert problems == [], "\n".join(problems)
