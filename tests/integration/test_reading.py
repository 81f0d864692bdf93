"""Pages are read in worker processes: a page that is slow or fatal to read costs one
check, while the event loop, other pages and shutdown carry on."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import pytest

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.engines.oneshot import check_all
from monitor.errors import ParseError, ReadLimitExceeded, UnsupportedContent
from monitor.model import CheckOutcome
from monitor.net.reading import InlineReader, ProcessReader, make_reader
from monitor.sources import SourceRegistry, read_page
from monitor.sources.base import FetchedPage
from monitor.sources.page import WebPageSource
from monitor.testing import HostileSource, PageServer
from tests.conftest import seed_text

T = TypeVar("T")
SOURCES = SourceRegistry([HostileSource(), WebPageSource()])
HOSTILE = SOURCES.get("hostile")
POSTING = seed_text("stripe-backend-engineer.html")


def page(body: str, *, n: int = 1, content_type: str = "text/html") -> FetchedPage:
    return FetchedPage(
        url=f"https://jobs.hostile.test/{n}",
        status=200,
        content_type=content_type,
        body=body.encode(),
    )


def with_reader(
    run: Callable[[ProcessReader], Awaitable[T]], *, workers: int = 2, limit: float = 1.0
) -> T:
    async def go() -> T:
        reader = ProcessReader(SOURCES, workers=workers, time_limit=limit)
        try:
            return await run(reader)
        finally:
            await reader.aclose()

    return asyncio.run(go())


def test_a_worker_reads_what_the_event_loop_would() -> None:
    fetched = page(POSTING)
    inline = read_page(HOSTILE, fetched, url=fetched.url)
    pooled = with_reader(lambda r: r.read(HOSTILE, fetched, url=fetched.url))
    assert pooled == inline
    assert pooled[0].salaries  # a real posting, not an empty read


def test_errors_come_back_as_themselves() -> None:
    async def run(reader: ProcessReader) -> list[BaseException]:
        got: list[BaseException] = []
        for bad in (page("   "), page("{}", content_type="application/json")):
            try:
                await reader.read(HOSTILE, bad, url=bad.url)
            except ParseError as exc:
                got.append(exc)
            except UnsupportedContent as exc:
                got.append(exc)
        return got

    empty, wrong_type = with_reader(run)
    assert isinstance(empty, ParseError)
    assert "empty response body" in str(empty)
    assert isinstance(wrong_type, UnsupportedContent)
    assert wrong_type.content_type == "application/json"
    assert "jobs.hostile.test/1" in str(wrong_type)


def test_a_page_over_the_time_limit_fails_alone_and_the_reader_is_replaced() -> None:
    async def run(reader: ProcessReader) -> tuple[BaseException | None, list[float], int]:
        slow = page(f"spin:30\n{POSTING}", n=1)
        stalled = asyncio.create_task(reader.read(HOSTILE, slow, url=slow.url))
        started = time.monotonic()
        finished: list[float] = []
        for n in range(2, 8):  # read on the other worker meanwhile
            fine = page(POSTING, n=n)
            await reader.read(HOSTILE, fine, url=fine.url)
            finished.append(time.monotonic() - started)
        error = await asyncio.gather(stalled, return_exceptions=True)
        after = page(POSTING, n=9)
        again = await reader.read(HOSTILE, after, url=after.url)  # the pool still reads
        return error[0] if isinstance(error[0], BaseException) else None, finished, len(again)

    error, finished, read_after = with_reader(run, limit=1.5)
    assert isinstance(error, ReadLimitExceeded)
    assert "took longer than the 1.5 s limit" in str(error)
    assert "jobs.hostile.test/1" in str(error)
    assert max(finished) < 1.5, "the other pages waited for the slow one"
    assert read_after == 1


def test_pages_queued_behind_a_slow_one_are_read_elsewhere() -> None:
    async def run(reader: ProcessReader) -> list[object]:
        pages = [page(f"spin:30\n{POSTING}", n=1)] + [page(POSTING, n=n) for n in range(2, 7)]
        return await asyncio.gather(
            *(reader.read(HOSTILE, p, url=p.url) for p in pages), return_exceptions=True
        )

    results = with_reader(run, workers=1, limit=1.0)
    assert isinstance(results[0], ReadLimitExceeded)
    assert all(isinstance(r, list) and len(r) == 1 for r in results[1:])


def test_a_page_that_kills_its_reader_fails_alone() -> None:
    async def run(reader: ProcessReader) -> list[object]:
        deadly, fine = page("die", n=1), page(POSTING, n=2)
        first = await asyncio.gather(
            reader.read(HOSTILE, deadly, url=deadly.url), return_exceptions=True
        )
        return [*first, await reader.read(HOSTILE, fine, url=fine.url)]

    died, read_after = with_reader(run, workers=1)
    assert isinstance(died, ReadLimitExceeded)
    assert "killed its reader process (killed by SIGKILL)" in str(died)
    assert isinstance(read_after, list)
    assert len(read_after) == 1


def test_a_parser_bug_is_a_crash_with_its_traceback() -> None:
    buggy = page("bug")
    with pytest.raises(
        RuntimeError, match=r"(?s)failed in its reader.*ZeroDivisionError: a parser bug"
    ):
        with_reader(lambda r: r.read(HOSTILE, buggy, url=buggy.url))


def test_readers_end_when_closed() -> None:
    async def run() -> list[int | None]:
        reader = ProcessReader(SOURCES, workers=2, time_limit=1.0)
        fine = page(POSTING)
        await reader.read(HOSTILE, fine, url=fine.url)
        processes = [w.process for w in reader._workers]
        await reader.aclose()
        return [p.exitcode for p in processes]

    assert asyncio.run(run()) == [0, 0]


def test_workers_zero_reads_on_the_event_loop_and_unpicklable_sources_fall_back() -> None:
    assert isinstance(make_reader(SOURCES, workers=0, time_limit=1), InlineReader)

    class Local(WebPageSource):  # defined in a function: no worker could import it
        kind = "local"

    assert isinstance(make_reader(SourceRegistry([Local()]), workers=2, time_limit=1), InlineReader)
    assert isinstance(make_reader(SOURCES, workers=2, time_limit=1), ProcessReader)


def test_the_event_loop_stays_responsive_while_a_page_reads_for_seconds(sqlite_url: str) -> None:
    """A watched page that takes seconds to read: the other watch is checked, the loop
    never stalls (heartbeats and SIGTERM run on it), and the slow one is one error."""
    server = PageServer()
    server.publish("https://jobs.hostile.test/slow", f"spin:30\n{POSTING}")
    server.publish("https://jobs.hostile.test/fine", POSTING)
    config = MonitorConfig.model_validate(
        {"database": {"url": sqlite_url}, "reading": {"workers": 2, "time_limit": "2s"}}
    )
    app = App(config, transport=server.transport(), sources=SOURCES)
    app.prepare()
    for url in ("https://jobs.hostile.test/slow", "https://jobs.hostile.test/fine"):
        app.watches.add(url, interval=timedelta(hours=1))

    async def run() -> tuple[dict[CheckOutcome, int], float]:
        gaps: list[float] = []

        async def tick() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.05)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticker = asyncio.create_task(tick())
        try:
            report = await check_all(app)
        finally:
            ticker.cancel()
            await app.aclose()
        return report.outcomes, max(gaps)

    outcomes, longest_gap = asyncio.run(run())
    assert outcomes == {CheckOutcome.BASELINE: 1, CheckOutcome.ERROR: 1}
    assert longest_gap < 1.0  # reading on the loop would stall it for the full 2 s
    errors = [r.last_error for r in app.store.views.all_watches() if r.last_error]
    assert len(errors) == 1
    assert "took longer than the 2 s limit" in errors[0]


def test_a_reader_error_pickles_with_its_fields() -> None:
    import pickle

    error = UnsupportedContent(url="https://u:secret@x.test/a", content_type="text/plain")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is UnsupportedContent
    assert str(back) == str(error)
    assert back.content_type == "text/plain"
    assert "secret" not in str(back)


def test_closing_while_readers_start_leaves_no_socket_or_process() -> None:
    async def run() -> list[int | None]:
        reader = ProcessReader(SOURCES, workers=2, time_limit=1.0)
        starting = asyncio.create_task(reader.start())
        await asyncio.sleep(0.01)  # a worker is being started in the executor
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        await reader.aclose()
        await asyncio.sleep(0.5)  # the abandoned start finishes and is cleaned up
        return [p.exitcode for p in multiprocessing.active_children() if p.name == "monitor-reader"]

    assert asyncio.run(run()) == []
    gc.collect()  # an unclosed socket would warn here, and pytest fail the test
