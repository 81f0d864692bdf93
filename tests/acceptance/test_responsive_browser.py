"""Every dashboard page, with content on it, in a real browser (Debian's chromium driven by
Playwright) at a phone's size (390×844, as a phone: touch, device pixels 3) and a
desktop's (1280×900): the document is never wider than the screen, every nav link is
on the screen, and no visible text is drawn smaller than 10 px (SVG text measured at the
size it is shown, after the picture is scaled). Screenshots go to
``$POSTING_MONITOR_SCREENSHOTS`` (default: the test's temporary directory)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.app import App
from monitor.demo import FIRST_VERSION, REVISED_VERSION, SeedServer, seeds_dir
from monitor.testing import PageServer
from monitor.web.app import create_web_app
from tests.acceptance.test_dashboard_browser import (
    BOARD,
    BOARD_API,
    CHROMIUM,
    MEASURE,
    SIZES,
    Served,
    _board_file,
    _check,
    _config,
    _free_port,
    _off_the_browser_loop,
    _Routed,
    _shots,
    served_on_a_free_port,
)
from tests.peers import webhook_receiver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api")

# What each seeded page must show, so that a page fits because it has content, not
# because it is empty: (selector, at least how many).
CONTENT = {
    "watches": ("#watches tbody tr", 3),
    "changes": ("#changes tbody tr", 2),
    "alerts": ("#alerts tbody tr", 1),
    "posting": ("#pay-chart figure", 1),
    "posting-time": ("#pay-chart figure", 1),
    "board": ("#pay-distribution figure", 2),  # USD and EUR, each its own chart
    "add-preview": ("#preview tbody tr", 3),
}


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Served, dict[str, str]]]:
    """The dashboard on a database with something on every page: a posting whose pay
    rose (two versions), a board paying in two currencies with a posting that appeared,
    a failing watch, changes and a failed alert. Yields the pages to load."""

    pages = PageServer()
    with webhook_receiver() as hook, SeedServer(seeds_dir(), FIRST_VERSION) as posting:
        config = _config(tmp_path, hook.port)
        app = App(config, console=io.StringIO())
        app.prepare()
        app.watches.add(posting.url, interval=timedelta(hours=1))
        app.watches.add(BOARD, interval=timedelta(hours=1))
        app.watches.add(f"http://127.0.0.1:{_free_port()}/gone", interval=timedelta(hours=1))
        pages.publish(BOARD_API, _board_file("board-1.json"), "application/json")
        served = Served("", config, hook, pages)
        _check(served)
        posting.current = REVISED_VERSION
        pages.publish(BOARD_API, _board_file("board-2.json"), "application/json")
        hook.status = 500  # the JSON channel is down: its alerts fail
        _check(served)
        try:
            with served_on_a_free_port(
                create_web_app(app, preview_transport=_Routed(pages))
            ) as base:
                yield Served(base, config, hook, pages), _pages(base, posting.url)
        finally:
            _off_the_browser_loop(app.aclose)


def _pages(base: str, posting_url: str) -> dict[str, str]:
    found = httpx.get(f"{base}/api/v1/watches", params={"limit": 50}).json()
    items: list[dict[str, Any]] = found["items"]
    by_url = {w["url"]: w for w in items}
    posting_id = by_url[posting_url]["posting_id"]
    board_id = by_url[BOARD]["posting_id"]
    versions = httpx.get(f"{base}/api/v1/postings/{posting_id}/versions").json()
    snapshot = versions[0]["id"]
    return {
        "watches": "/watches",
        "add": "/watches/new",
        "add-preview": "/watches/new",  # with a board's preview (PREVIEW)
        "changes": "/changes",
        "alerts": "/alerts",
        "health": "/health",
        "api": "/api/v1/docs",
        "login": "/login",
        "posting": f"/postings/{posting_id}",
        "posting-time": f"/postings/{posting_id}?pay_axis=time",
        "board": f"/postings/{board_id}",
        "version": f"/postings/{posting_id}/versions/{snapshot}",
    }


def test_every_page_fits_a_phone_and_a_desktop(
    seeded: tuple[Served, dict[str, str]], tmp_path: Path
) -> None:
    served, paths = seeded
    shots = _shots(tmp_path)
    problems: list[str] = []
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for size, options in SIZES.items():
            page = browser.new_page(**options)
            for name, path in paths.items():
                page.goto(f"{served.base}{path}")
                if name == "add-preview":
                    page.fill("input[name=url]", BOARD)
                    page.click("button[value=preview]")
                    page.wait_for_selector("#preview")
                assert page.locator("main").inner_text().strip(), f"{name} is empty"
                selector, least = CONTENT.get(name, ("main", 1))
                if page.locator(selector).count() < least:
                    problems.append(f"{name} at {size}: fewer than {least} of {selector}")
                page.screenshot(path=str(shots / f"fit-{name}-{size}.png"), full_page=True)
                page.screenshot(path=str(shots / f"fit-{name}-{size}-first-screen.png"))
                for chart in ("pay-chart", "pay-distribution", "open-chart"):
                    if page.locator(f"#{chart}").count():
                        page.locator(f"#{chart}").screenshot(
                            path=str(shots / f"fit-{name}-{size}-{chart}.png")
                        )
                if name == "posting":  # the raise, in the drawing shown at this size
                    shown = page.locator("#pay-chart svg:visible text.pct")
                    assert shown.all_text_contents() == ["+6.0%"], size
                seen = page.evaluate(MEASURE, options["viewport"]["width"])
                if seen["overflow"] > 0:
                    problems.append(
                        f"{name} at {size}: {seen['overflow']} px wider than the screen"
                    )
                if seen["cut"]:
                    problems.append(f"{name} at {size}: nav cut off: {seen['cut']}")
                if seen["smallCount"]:
                    problems.append(
                        f"{name} at {size}: {seen['smallCount']} text(s) under 10 px: {seen['small']}"
                    )
            page.close()
        browser.close()
    assert problems == [], "\n".join(problems)
