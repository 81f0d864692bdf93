"""A Workday board read a page at a time through its cxs API (POSTs of offset and
limit, the total given on the first page only), as one watch."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.engines.oneshot import check_all
from monitor.model import CheckOutcome, PostingStatus
from monitor.testing import FrozenClock, RecordingNotifier
from tests.conftest import UNPACED

BOARD = "https://northwind.wd5.myworkdayjobs.com/en-US/External_Careers"
API = "https://northwind.wd5.myworkdayjobs.com/wday/cxs/northwind/External_Careers/jobs"


# The same site on the company's own domain: its page names the tenant.
FRONTED = "https://careers.northwind.example/en-US/External_Careers"
FRONTED_API = "https://careers.northwind.example/wday/cxs/northwind/External_Careers/jobs"
SETTINGS_PAGE = (
    Path(__file__).resolve().parents[2] / "seeds/workday/fronted-site.html"
).read_bytes()


@dataclass
class WorkdayServer:
    """Answers the board's search POSTs from ``jobs`` as Workday does (and, for a site
    on the company's domain, its page)."""

    jobs: list[tuple[str, str]] = field(default_factory=list)
    posted: str = "Posted Today"
    offsets: list[int] = field(default_factory=list)
    fail_offset: int | None = None
    api: str = API
    page: str | None = None
    page_body: bytes = SETTINGS_PAGE
    page_requests: list[httpx.Headers] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and str(request.url) == self.page:
            self.page_requests.append(request.headers)
            if request.headers.get("if-none-match") == '"settings-1"':
                return httpx.Response(304)
            headers = {"content-type": "text/html; charset=utf-8", "etag": '"settings-1"'}
            return httpx.Response(200, headers=headers, content=self.page_body)
        if request.method != "POST" or str(request.url) != self.api:
            return httpx.Response(404)
        asked = json.loads(request.content)
        offset, limit = asked["offset"], asked["limit"]
        self.offsets.append(offset)
        if offset == self.fail_offset:
            return httpx.Response(503)
        page = [
            {
                "title": title,
                "externalPath": f"/job/USA-TX-Austin/{title.replace(' ', '-')}_{req}",
                "locationsText": "USA-TX-Austin",
                "postedOn": self.posted,
                "bulletFields": [req],
            }
            for req, title in self.jobs[offset : offset + limit]
        ]
        # Workday gives the total on the first page only.
        body = {"total": len(self.jobs) if offset == 0 else 0, "jobPostings": page}
        return httpx.Response(200, json=body)


class Rig:
    def __init__(self, db_url: str, board: str = BOARD, **watch: str) -> None:
        self.server = WorkdayServer(jobs=[(f"R-{n:04d}", f"Engineer {n}") for n in range(45)])
        if board != BOARD:
            self.server.api, self.server.page = FRONTED_API, board
        self.board, self.db_url = board, db_url
        self.clock = FrozenClock()
        self.notifier = RecordingNotifier()
        self.app = self.open(**watch)

    def open(self, **watch: str) -> App:
        config = MonitorConfig.model_validate(
            {
                "database": {"url": self.db_url},
                # The list's story (members = full: tests/acceptance/test_full_boards.py).
                "watches": [
                    {"url": self.board, "interval": "1h", **self.list_only(watch), **watch}
                ],
                "http": UNPACED,
            }
        )
        transport = httpx.MockTransport(self.server.handle)
        app = App(config, transport=transport, notifier=self.notifier, clock=self.clock)
        app.prepare()
        return app

    def list_only(self, watch: dict[str, str]) -> dict[str, str]:
        """members = list wherever the URL is read as a Workday board (not as a page)."""
        return {"members": "list"} if self.board == BOARD or "source" in watch else {}

    def check(self) -> CheckOutcome:
        self.clock.advance(timedelta(hours=1))
        self.server.offsets.clear()
        self.server.page_requests.clear()
        (outcome,) = asyncio.run(check_all(self.app)).outcomes
        return outcome

    def members(self) -> dict[str, PostingStatus]:
        board = self.app.store.postings.get_posting(self.board)
        return {m.title: m.status for m in self.app.store.postings.members_of(board.id)}

    def titles(self) -> list[str]:
        return [alert.title for _channel, alert in self.notifier.sent]


@pytest.fixture
def rig(db_url: str) -> Iterator[Rig]:
    made = Rig(db_url)
    yield made
    asyncio.run(made.app.aclose())


def test_a_board_is_read_a_page_at_a_time_into_one_watch(rig: Rig) -> None:
    assert rig.check() is CheckOutcome.BASELINE
    assert rig.server.offsets == [0, 20, 40]
    members = rig.members()
    assert len(members) == 45
    assert set(members.values()) == {PostingStatus.OPEN}
    assert len(rig.app.store.watches.list_watches()) == 1


def test_posted_n_days_ago_is_never_a_change_and_a_new_posting_is(rig: Rig) -> None:
    rig.check()
    rig.server.posted = "Posted 3 Days Ago"
    assert rig.check() is CheckOutcome.UNCHANGED
    assert rig.titles() == []
    rig.server.jobs.append(("R-9999", "Robotics Lead"))
    assert rig.check() is CheckOutcome.CHANGED
    assert rig.server.offsets == [0, 20, 40]
    assert rig.titles() == ["Robotics Lead: new posting: Robotics Lead (USA-TX-Austin)"]


def test_a_page_that_fails_closes_nothing(rig: Rig) -> None:
    rig.check()
    rig.server.fail_offset = 20
    assert rig.check() is CheckOutcome.ERROR
    assert rig.server.offsets == [0, 20]  # no page after the one that failed
    rig.server.fail_offset = None
    rig.server.jobs = rig.server.jobs[:20]  # 25 missing once now
    rig.check()
    assert set(rig.members().values()) == {PostingStatus.OPEN}
    assert rig.titles() == []


def test_renamed_closed_reopened_and_reposted_on_a_paged_board(rig: Rig) -> None:
    rig.check()
    jobs = list(rig.server.jobs)
    jobs[0] = ("R-0000", "Senior Engineer 0")  # renamed
    gone = jobs.pop(30)  # ("R-0030", "Engineer 30")
    rig.server.jobs = jobs
    rig.check()
    rig.server.posted = "Posted 1 Day Ago"  # a new body: missing a second time
    rig.check()
    assert rig.members()["Engineer 30"] is PostingStatus.CLOSED
    rig.server.jobs = [*jobs, gone]
    rig.check()
    assert rig.members()["Engineer 30"] is PostingStatus.OPEN
    rig.server.jobs = [*jobs[:5], ("R-7777", "Engineer 5"), *jobs[6:], gone]  # 5 reposted
    rig.check()
    assert rig.titles() == [
        "Senior Engineer 0: title changed: Engineer 0 → Senior Engineer 0",
        "Engineer 30: posting closed",
        "Engineer 30: posting reopened",
        "Engineer 5: reposted: Engineer 5 (USA-TX-Austin); first posted "
        f"{rig.clock.now():%Y-%m-%d}, open 0 days before it closed; pay then not stated, "
        "now not stated",
    ]


@pytest.fixture
def fronted(db_url: str) -> Iterator[Rig]:
    made = Rig(db_url, FRONTED, source="workday")
    yield made
    asyncio.run(made.app.aclose())


def test_a_site_on_the_company_domain_is_read_through_the_api_there(fronted: Rig) -> None:
    assert fronted.check() is CheckOutcome.BASELINE
    assert len(fronted.server.page_requests) == 1  # the page, for the tenant
    assert fronted.server.offsets == [0, 20, 40]  # then every page of the board
    assert len(fronted.members()) == 45
    fronted.server.jobs.append(("R-9999", "Robotics Lead"))
    assert fronted.check() is CheckOutcome.CHANGED
    # The page never changes while its jobs do: never asked for conditionally.
    (asked,) = fronted.server.page_requests
    assert "if-none-match" not in asked
    assert fronted.server.offsets == [0, 20, 40]
    assert fronted.titles() == ["Robotics Lead: new posting: Robotics Lead (USA-TX-Austin)"]
    board = fronted.app.store.postings.get_posting(FRONTED)
    member = next(
        m for m in fronted.app.store.postings.members_of(board.id) if m.title == "Robotics Lead"
    )
    assert member.url == f"{FRONTED.replace('/en-US', '')}/job/USA-TX-Austin/Robotics-Lead_R-9999"


def test_a_site_that_stops_naming_its_tenant_fails_and_closes_nothing(fronted: Rig) -> None:
    fronted.check()
    fronted.server.page_body = b"<html><title>Careers</title></html>"
    assert fronted.check() is CheckOutcome.ERROR
    assert fronted.server.offsets == []
    error = fronted.app.store.postings.get_posting(FRONTED).last_error or ""
    assert "no window.workday settings" in error
    assert set(fronted.members().values()) == {PostingStatus.OPEN}


def test_read_as_a_page_it_says_how_and_once_named_the_same_watch_reads_it(
    db_url: str,
) -> None:
    rig = Rig(db_url, FRONTED)  # no source named: a page, as its URL says
    try:
        assert rig.check() is CheckOutcome.ERROR
        error = rig.app.store.postings.get_posting(FRONTED).last_error or ""
        assert 'source = "workday"' in error
        asyncio.run(rig.app.aclose())
        rig.app = rig.open(source="workday")  # the configuration names it
        (watch,) = rig.app.store.watches.list_watches()
        assert watch.source_kind == "workday"
        assert rig.check() is CheckOutcome.BASELINE
        # The watch's one posting, now a board of 45; not a page still checked beside it.
        board = rig.app.store.postings.get_posting(FRONTED)
        assert (board.source_kind, board.role) == ("workday", "board")
        assert len(rig.members()) == 45
        checked = asyncio.run(check_all(rig.app)).outcomes  # every watch's postings
        assert sum(checked.values()) == 1
    finally:
        asyncio.run(rig.app.aclose())


def test_a_preview_knows_the_site_by_its_page(db_url: str) -> None:
    from monitor.preview import preview

    server = WorkdayServer(jobs=[("R-0001", "Engineer 1")], api=FRONTED_API, page=FRONTED)
    config = MonitorConfig.model_validate({"database": {"url": db_url}, "http": UNPACED})
    seen = asyncio.run(preview(config, FRONTED, transport=httpx.MockTransport(server.handle)))
    assert (seen.source_kind, seen.is_board, seen.identified_by_page) == ("workday", True, True)
    assert [p.title for p in seen.postings] == ["Engineer 1"]
    server.page_body = b"<html><title>Careers</title><h1>Engineer</h1></html>"
    seen = asyncio.run(preview(config, FRONTED, transport=httpx.MockTransport(server.handle)))
    assert (seen.source_kind, seen.identified_by_page) == ("html", False)


@dataclass
class EndlessServer(WorkdayServer):
    """A board whose API always has another full page and never gives its total: past
    ``cut_off`` requests it fails, so a fetch that does not stop by itself fails."""

    cut_off: int = 30

    def handle(self, request: httpx.Request) -> httpx.Response:
        asked = json.loads(request.content)
        self.offsets.append(asked["offset"])
        if len(self.offsets) > self.cut_off:
            return httpx.Response(503)
        page = [
            {"title": f"Engineer {n}", "externalPath": f"/job/Austin/Engineer_R-{n}",
             "locationsText": "Austin", "postedOn": "Posted Today", "bulletFields": [f"R-{n}"]}
            for n in range(asked["offset"], asked["offset"] + asked["limit"])
        ]  # fmt: skip
        return httpx.Response(200, json={"total": 10**9, "jobPostings": page})


def test_a_board_api_that_never_stops_paging_is_read_to_the_page_limit(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.net import fetch

    monkeypatch.setattr(fetch, "MAX_PAGES", 4)
    made = Rig(db_url)
    asyncio.run(made.app.aclose())
    made.server = EndlessServer()
    made.app = made.open()
    try:
        outcome = made.check()
        assert len(made.server.offsets) == 4  # the limit, not the board, ended the read
        assert outcome is CheckOutcome.BASELINE
        assert len(made.members()) == 4 * made.server.offsets[1]  # every page read
    finally:
        asyncio.run(made.app.aclose())
