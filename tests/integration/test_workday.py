"""A Workday board read a page at a time through its cxs API (POSTs of offset and
limit, the total given on the first page only), as one watch."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.model import CheckOutcome, PostingStatus
from monitor.testing import FrozenClock, RecordingNotifier
from tests.conftest import UNPACED

BOARD = "https://northwind.wd5.myworkdayjobs.com/en-US/External_Careers"
API = "https://northwind.wd5.myworkdayjobs.com/wday/cxs/northwind/External_Careers/jobs"


@dataclass
class WorkdayServer:
    """Answers the board's search POSTs from ``jobs`` as Workday does."""

    jobs: list[tuple[str, str]] = field(default_factory=list)
    posted: str = "Posted Today"
    offsets: list[int] = field(default_factory=list)
    fail_offset: int | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or str(request.url) != API:
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
    def __init__(self, db_url: str) -> None:
        self.server = WorkdayServer(jobs=[(f"R-{n:04d}", f"Engineer {n}") for n in range(45)])
        self.clock = FrozenClock()
        self.notifier = RecordingNotifier()
        config = MonitorConfig.model_validate(
            {
                "database": {"url": db_url},
                "watches": [{"url": BOARD, "interval": "1h"}],
                "http": UNPACED,
            }
        )
        transport = httpx.MockTransport(self.server.handle)
        self.app = App(config, transport=transport, notifier=self.notifier, clock=self.clock)
        self.app.prepare()

    def check(self) -> CheckOutcome:
        self.clock.advance(timedelta(hours=1))
        self.server.offsets.clear()
        (outcome,) = asyncio.run(self.app.check_all()).outcomes
        return outcome

    def members(self) -> dict[str, PostingStatus]:
        board = self.app.repo.get_posting(BOARD)
        return {m.title: m.status for m in self.app.repo.members_of(board.id)}

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
    assert len(rig.app.repo.list_watches()) == 1


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
