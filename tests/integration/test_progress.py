"""Progress of a long pass: counted per check, drawn only on a terminal."""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass, field

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.engines.oneshot import check_all
from monitor.model import CheckOutcome
from monitor.progress import NoProgress, TerminalProgress, progress_for
from monitor.testing import PageServer, RecordingNotifier
from tests.conftest import UNPACED, seed_text


@dataclass
class RecordingProgress:
    events: list[tuple[str, int, int]] = field(default_factory=list)

    def start(self, total: int, *, what: str) -> None:
        self.events.append((f"start {what}", total, 0))

    def advance(self, count: int = 1, *, failed: int = 0) -> None:
        self.events.append(("advance", count, failed))

    def finish(self) -> None:
        self.events.append(("finish", 0, 0))


def test_a_pass_reports_each_check_and_each_failure(sqlite_url: str) -> None:
    server = PageServer()
    server.publish("https://jobs.example.com/1", seed_text("stripe-backend-engineer.html"))
    server.publish("https://jobs.example.com/2", seed_text("acme-data-analyst.html"))
    watches = [{"url": f"https://jobs.example.com/{n}"} for n in (1, 2, 3)]  # 3 is a 404
    config = MonitorConfig.model_validate(
        {"database": {"url": sqlite_url}, "watches": watches, "http": UNPACED}
    )
    app = App(config, transport=server.transport(), notifier=RecordingNotifier())
    app.prepare()
    progress = RecordingProgress()
    try:
        report = asyncio.run(check_all(app, progress))
    finally:
        asyncio.run(app.aclose())
    assert report.outcomes == {CheckOutcome.BASELINE: 2, CheckOutcome.ERROR: 1}
    assert progress.events[0] == ("start checking", 3, 0)
    assert progress.events[-1] == ("finish", 0, 0)
    advances = [e for e in progress.events if e[0] == "advance"]
    assert sum(count for _, count, _ in advances) == 3
    assert sum(failed for _, _, failed in advances) == 1


def test_a_terminal_sees_done_of_total_and_failures() -> None:
    stream = io.StringIO()
    progress = TerminalProgress(stream, force_terminal=True)
    progress.start(5, what="checking")
    progress.advance()
    progress.advance(failed=1)
    progress.advance(2)
    progress.finish()
    drawn = stream.getvalue()
    assert "checking" in drawn
    assert "4/5" in drawn
    assert "1 failed" in drawn


def test_no_terminal_no_progress() -> None:
    assert isinstance(progress_for(io.StringIO()), NoProgress)


def test_log_lines_print_above_the_bar_and_the_handler_is_restored() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        progress = TerminalProgress(stream, force_terminal=True)
        progress.start(2, what="checking")
        assert handler.stream is not stream  # rich's stand-in while the bar is shown
        logging.getLogger("monitor.test").warning("check of x failed")
        progress.advance(2)
        progress.finish()
        assert handler.stream is stream
    finally:
        root.removeHandler(handler)
    assert "check of x failed" in stream.getvalue()
