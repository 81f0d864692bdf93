"""Checks of pages drawn by a browser (render = browser / auto), in-process: the
pipeline's side of rendering with a fake browser. The real Chromium is driven by
tests/acceptance/test_browser_render.py."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import timedelta

import pytest

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.engines.oneshot import check_all
from monitor.errors import HostPaused, TransportError
from monitor.model import CheckOutcome
from monitor.testing import EdgeRandom, FakeBrowser, FrozenClock, PageServer, RecordingNotifier
from tests.conftest import SEEDS, UNPACED

URL = "https://careers.example.com/jobs/backend-engineer"
SHELL = (
    '<html><head><script src="/app.js"></script></head><body><div id="root"></div></body></html>'
)


class Rig:
    def __init__(
        self, db_url: str, render: str, rng: random.Random | None = None, **scheduler: object
    ) -> None:
        self.pages, self.browser = PageServer(), FakeBrowser()
        self.clock, self.notifier = FrozenClock(), RecordingNotifier()
        config = MonitorConfig.model_validate(
            {
                "database": {"url": db_url},
                "watches": [{"url": URL, "interval": "1h", "render": render}],
                "http": UNPACED,
                "scheduler": scheduler,
            }
        )
        self.app = App(
            config,
            transport=self.pages.transport(),
            notifier=self.notifier,
            clock=self.clock,
            browser=self.browser,
            rng=rng,
        )
        self.app.prepare()

    def check(self) -> CheckOutcome:
        self.clock.advance(timedelta(hours=2))
        (outcome,) = asyncio.run(check_all(self.app)).outcomes
        return outcome

    def error(self) -> str:
        return self.app.store.postings.get_posting(URL).last_error or ""


@pytest.fixture
def drawn(db_url: str) -> Iterator[Rig]:
    rig = Rig(db_url, "browser")
    yield rig
    asyncio.run(rig.app.aclose())


def test_a_drawn_page_is_read_and_its_changes_alerted(drawn: Rig) -> None:
    drawn.browser.draw(URL, (SEEDS / "stripe-backend-engineer.html").read_text())
    assert drawn.check() is CheckOutcome.BASELINE
    assert drawn.browser.rendered == [URL]
    assert drawn.app.store.postings.get_posting(URL).title == "Backend Engineer, Core Technology"
    drawn.browser.draw(URL, (SEEDS / "stripe-backend-engineer.v2.html").read_text())
    assert drawn.check() is CheckOutcome.CHANGED
    assert any("salary" in alert.body_text for _channel, alert in drawn.notifier.sent)
    assert drawn.pages.requests == []  # never fetched plainly


def test_a_browser_failure_fails_the_check_and_a_paused_host_defers_it(drawn: Rig) -> None:
    drawn.browser.fail(URL, TransportError("browser unavailable: gone", url=URL))
    assert drawn.check() is CheckOutcome.ERROR
    assert "browser unavailable: gone" in drawn.error()
    drawn.browser.fail(URL, HostPaused(url=URL, host="careers.example.com", seconds=30))
    assert drawn.check() is CheckOutcome.DEFERRED
    drawn.browser.failures.clear()
    drawn.browser.draw(URL, "<html><body></body></html>")  # drawn, but nothing in it
    assert drawn.check() is CheckOutcome.ERROR
    assert "no job posting found" in drawn.error()


def test_auto_draws_only_an_app_shell(db_url: str) -> None:
    rig = Rig(db_url, "auto")
    try:
        rig.pages.publish(URL, SHELL)
        rig.browser.draw(URL, (SEEDS / "stripe-backend-engineer.html").read_text())
        assert rig.check() is CheckOutcome.BASELINE
        assert rig.browser.rendered == [URL]
        rig.pages.publish(URL, (SEEDS / "stripe-backend-engineer.v2.html").read_text())
        assert rig.check() is CheckOutcome.CHANGED  # a page with its text: read as it is
        assert rig.browser.rendered == [URL]
    finally:
        asyncio.run(rig.app.aclose())


def test_auto_when_the_drawing_fails_fails_the_check_or_defers_it(db_url: str) -> None:
    rig = Rig(db_url, "auto", jitter=0)
    try:
        rig.pages.publish(URL, SHELL)
        rig.browser.fail(URL, TransportError("browser unavailable: gone", url=URL))
        assert rig.check() is CheckOutcome.ERROR
        assert "browser unavailable: gone" in rig.error()
        assert rig.app.store.postings.get_posting(URL).consecutive_failures == 1
        rig.browser.fail(URL, HostPaused(url=URL, host="careers.example.com", seconds=30))
        assert rig.check() is CheckOutcome.DEFERRED
        held = rig.app.store.postings.get_posting(URL)
        assert held.next_check_at == rig.clock.now() + timedelta(seconds=31)  # 30 × 1 + 1
        assert held.consecutive_failures == 1  # a deferral is no failure
        rig.browser.failures.clear()
        rig.browser.draw(URL, "<html><body></body></html>")
        assert rig.check() is CheckOutcome.ERROR
        assert "no job posting found" in rig.error()
        assert rig.app.store.postings.get_posting(URL).consecutive_failures == 2
    finally:
        asyncio.run(rig.app.aclose())


def test_a_paused_host_is_not_drawn_either(drawn: Rig) -> None:
    drawn.browser.draw(URL, (SEEDS / "stripe-backend-engineer.html").read_text())
    drawn.app.fetcher.gate.pause(URL, 6 * 3600, reason="HTTP 429 Retry-After (test)")
    assert drawn.check() is CheckOutcome.DEFERRED
    assert drawn.browser.rendered == []  # the browser obeys the host's pause too


@pytest.mark.parametrize("render", ["browser", "auto"])
def test_a_paused_host_defers_a_drawing_by_its_pause_spread_like_any_retry(
    db_url: str, render: str
) -> None:
    rig = Rig(db_url, render, rng=EdgeRandom(top=True), jitter=0.1)
    try:
        rig.pages.publish(URL, SHELL)  # auto: the plain fetch finds a shell to draw
        rig.browser.fail(URL, HostPaused(url=URL, host="careers.example.com", seconds=40))
        assert rig.check() is CheckOutcome.DEFERRED
        held = rig.app.store.postings.get_posting(URL)
    finally:
        asyncio.run(rig.app.aclose())
    assert held.next_check_at == rig.clock.now() + timedelta(seconds=51)  # 40 × 1.25 + 1
