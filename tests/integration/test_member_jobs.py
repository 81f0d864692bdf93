"""A thin board's members' jobs, read one by one: confirm, then alert. A job read
that loses a field (pay) is held until later reads say the same; when most of the
board's postings lose it at once (a change of the site's job pages), the board says
so once and the postings' reads stay held until the board's checks believe it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.engines.oneshot import check_all
from monitor.testing import FrozenClock, RecordingNotifier
from tests.conftest import UNPACED
from tests.integration.test_workday import BOARD, WorkdayServer

JOBS = [(f"R-{n:04d}", f"Engineer {n}") for n in range(1, 6)]


class JobsServer(WorkdayServer):
    """The board's list (WorkdayServer) and each job's detail, pay stated or not."""

    def __init__(self) -> None:
        super().__init__(jobs=list(JOBS))
        self.without_pay: set[str] = set()

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if request.method != "GET" or "/job/" not in url:
            return super().handle(request)
        req = url.rsplit("_", 1)[-1]
        title = dict(self.jobs)[req]
        pay = "" if req in self.without_pay else "<p>Pay: $100,000 - $120,000 per year.</p>"
        description = f"{pay}<p>Remote within the US.</p><ul><li>Python</li><li>SQL</li></ul>"
        path = f"/job/USA-TX-Austin/{title.replace(' ', '-')}_{req}"
        info = {
            "title": title,
            "jobDescription": description,
            "location": "USA-TX-Austin",
            "jobPostingId": f"{title.replace(' ', '-')}_{req}",
            "externalUrl": f"{BOARD}{path}",
        }
        return httpx.Response(
            200, json={"jobPostingInfo": info, "hiringOrganization": {"name": "Northwind"}}
        )


class Rig:
    def __init__(self, db_url: str) -> None:
        self.server = JobsServer()
        self.clock = FrozenClock()
        self.notifier = RecordingNotifier()
        config = MonitorConfig.model_validate(
            {
                "database": {"url": db_url},
                "watches": [{"url": BOARD, "interval": "1h"}],
                "http": UNPACED,
                "scheduler": {"jitter": 0},
            }
        )
        transport = httpx.MockTransport(self.server.handle)
        self.app = App(config, transport=transport, notifier=self.notifier, clock=self.clock)
        self.app.prepare()
        self.passes(2)  # the board's first check, then every member's job
        assert self.titles() == []

    def passes(self, count: int) -> list[str]:
        """``count`` passes an interval apart; the alerts they sent."""
        before = len(self.notifier.sent)
        for _ in range(count):
            self.clock.advance(timedelta(hours=1))
            asyncio.run(check_all(self.app))
        return [alert.title for _channel, alert in self.notifier.sent[before:]]

    def titles(self) -> list[str]:
        return [alert.title for _channel, alert in self.notifier.sent]


@pytest.fixture
def rig(db_url: str) -> Iterator[Rig]:
    made = Rig(db_url)
    yield made
    asyncio.run(made.app.aclose())


def _removed(titles: list[str]) -> list[str]:
    return [t for t in titles if "salary range removed" in t]


def test_one_posting_s_pay_removed_is_alerted_once_confirmed(rig: Rig) -> None:
    rig.server.without_pay = {"R-0003"}
    held = rig.passes(2)  # read, then read again: the same
    assert _removed(held) == []
    believed = rig.passes(2)
    assert _removed(believed) == [
        "Northwind · Engineer 3: salary range removed: 100,000–120,000 USD/yr"
    ]
    assert not any("no longer read" in t for t in held + believed)  # one posting: no notice
    assert _removed(rig.passes(2)) == []


def test_a_passing_change_of_the_job_pages_alerts_nothing_but_one_notice(rig: Rig) -> None:
    rig.server.without_pay = {req for req, _title in JOBS}
    during = rig.passes(3)
    rig.server.without_pay = set()
    after = rig.passes(4)
    assert _removed(during + after) == []
    notices = [t for t in during + after if "no longer read on the jobs of" in t]
    assert len(notices) == 1, during + after
    assert "salary no longer read on the jobs of 5 of 5 postings" in notices[0]


def test_a_lasting_change_of_the_job_pages_is_believed_after_the_board_s_checks(
    rig: Rig,
) -> None:
    rig.server.without_pay = {req for req, _title in JOBS}
    held = rig.passes(3)
    assert _removed(held) == []
    later = rig.passes(4)
    assert len(_removed(later)) == 5  # believed: each posting's removal, once
    assert _removed(rig.passes(2)) == []
