"""Board watches on Pinpoint, Comeet, JOIN and ADP, served from their seeds through a
mock transport: every request a check makes, what it reads, and an edit of a member's
pay (or requirements) alerted once with its old and new values. JOIN's and ADP's lists
are thin, so their edits are in the member's own job read; Pinpoint's and Comeet's
lists carry each posting in full."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from monitor.engines.oneshot import check_all
from monitor.model import PayPeriod
from tests.conftest import SEEDS
from tests.harness import Rig

JSON = "application/json"


def _seed(name: str) -> Any:
    return json.loads((SEEDS / name).read_text(encoding="utf-8"))


class Board(Rig):
    def __init__(self, db_url: str, url: str) -> None:
        super().__init__(db_url, [{"url": url, "interval": "1h"}], scheduler={"jitter": 0})
        self.url = url

    def passes(self, count: int) -> list[str]:
        """``count`` passes an interval apart; the alerts they sent."""
        before = len(self.notifier.sent)
        for _ in range(count):
            self.clock.advance(timedelta(hours=1))
            asyncio.run(check_all(self.app))
        return [alert.title for _channel, alert in self.notifier.sent[before:]]

    def members(self) -> dict[str, Any]:
        board = self.app.store.postings.get_posting(self.url)
        return {m.source_id: m for m in self.app.store.postings.members_of(board.id)}

    def requested(self) -> list[str]:
        return [str(r.url) for r in self.server.requests]


@pytest.fixture
def close() -> Iterator[list[Board]]:
    made: list[Board] = []
    yield made
    for rig in made:
        rig.close()


# -- JOIN: the company page, the paged list, each member's job ---------------------------

JOIN_BOARD = "https://join.com/companies/northwind-robotics"
JOIN_API = "https://join.com/api/public"
JOIN_EDITED = 13120451


def _serve_join(rig: Board, *, pay_to: int = 8000000, pay_text: str = "80,000") -> None:
    server = rig.server
    server.publish(JOIN_BOARD, (SEEDS / "join" / "company.html").read_text(encoding="utf-8"))
    for number in (1, 2):
        page = f"{JOIN_API}/companies/2841173/jobs?locale=en&page={number}&pageSize=5"
        server.publish(page, (SEEDS / "join" / f"jobs-{number}.json").read_text(), JSON)
    listed = [item for n in (1, 2) for item in _seed(f"join/jobs-{n}.json")["items"]]
    template = _seed("join/job.json")
    for item in listed:
        detail = {**copy.deepcopy(template), **item}
        if item["id"] != JOIN_EDITED:
            detail["description"] = f"## About the job\n{item['title']} in our team."
        else:
            detail["salaryAmountTo"] = {"amount": pay_to, "currency": "EUR"}
            detail["description"] = detail["description"].replace("80,000", pay_text)
        server.publish(f"{JOIN_API}/jobs/{item['id']}?locale=en", json.dumps(detail), JSON)


def test_join_board_reads_its_company_page_every_list_page_and_each_member(
    db_url: str, close: list[Board]
) -> None:
    rig = Board(db_url, JOIN_BOARD)
    close.append(rig)
    _serve_join(rig)
    assert rig.passes(2) == []  # the board's first check, then every member's job
    requested = rig.requested()
    assert requested[:3] == [
        JOIN_BOARD,
        f"{JOIN_API}/companies/2841173/jobs?locale=en&page=1&pageSize=5",
        f"{JOIN_API}/companies/2841173/jobs?locale=en&page=2&pageSize=5",
    ]
    assert {f"{JOIN_API}/jobs/{n}?locale=en" for n in (13120451, 13120877, 13121302)} <= set(
        requested
    )
    members = rig.members()
    assert set(members) == {
        "northwind-robotics:13120451",
        "northwind-robotics:13120877",
        "northwind-robotics:13121302",
    }
    engineer = members["northwind-robotics:13120451"].current
    assert engineer.requirements.minimum[0] == "3+ years of professional C++ experience"
    assert engineer.remote.details == ("in office 2 days a week",)
    (pay,) = engineer.salaries
    assert (pay.min, pay.max, pay.currency, pay.period) == (65000, 80000, "EUR", PayPeriod.YEAR)


def test_join_member_pay_raise_is_alerted_once(db_url: str, close: list[Board]) -> None:
    rig = Board(db_url, JOIN_BOARD)
    close.append(rig)
    _serve_join(rig)
    assert rig.passes(2) == []
    _serve_join(rig, pay_to=8500000, pay_text="85,000")
    alerts = rig.passes(3)
    raised = [t for t in alerts if "salary" in t]
    assert raised == [
        "Northwind Robotics GmbH · Robotics Software Engineer: salary range "
        "65,000–80,000 EUR/yr → 65,000–85,000 (+6.2%)"
    ], alerts
    assert rig.passes(2) == []


# -- Pinpoint: one postings.json, each posting in full ---------------------------------

PINPOINT_BOARD = "https://workwithus.pinpointhq.com/"
PINPOINT_API = "https://workwithus.pinpointhq.com/postings.json"


def _serve_pinpoint(rig: Board, *, maximum: float = 90000.0, visible: bool = True) -> None:
    data = copy.deepcopy(_seed("pinpoint/postings.json"))
    data[1].update(compensation_maximum=maximum, compensation_visible=visible)
    rig.server.publish(PINPOINT_API, json.dumps({"data": data}), JSON)


def test_pinpoint_board_pay_edit_is_alerted_once_and_hidden_pay_is_none(
    db_url: str, close: list[Board]
) -> None:
    rig = Board(db_url, PINPOINT_BOARD)
    close.append(rig)
    _serve_pinpoint(rig)
    assert rig.passes(2) == []
    assert set(rig.requested()) == {PINPOINT_API}  # a full list: no member read on its own
    members = rig.members()
    legal = members["workwithus:ce6c9e5c-a2d3-42b0-a01e-9edeae315b04"].current
    assert legal.salaries == ()  # compensation_visible false
    _serve_pinpoint(rig, maximum=95000.0)
    alerts = rig.passes(2)
    assert alerts == [
        "Enterprise Implementation Manager: salary range "
        "70,000–90,000 GBP/yr → 70,000–95,000 (+5.6%)"
    ], alerts


# -- Comeet: a hosted careers page names the token, the API gives every position ---------

COMEET_PAGE = "https://www.comeet.com/jobs/wiliot/F6.003"
COMEET_TOKEN = "6F329B2DE6379829B229B2037983E8B3E8B"
COMEET_API = (
    "https://www.comeet.co/careers-api/2.0/company/F6.003/positions"
    f"?token={COMEET_TOKEN}&details=true"
)
COMEET_HTML = (
    "<html><head><script>var COMPANY_DATA = "
    f'{{"company_uid": "F6.003", "name": "Wiliot", "token": "{COMEET_TOKEN}"}};'
    "</script></head><body><div id='positions'></div></body></html>"
)


def _serve_comeet(rig: Board, *, requirements: str = "<p><br></p><p>&nbsp;</p>") -> None:
    positions = copy.deepcopy(_seed("comeet/positions.json"))
    positions[0]["details"][2]["value"] = requirements
    rig.server.publish(COMEET_PAGE, COMEET_HTML)
    rig.server.publish(COMEET_API, json.dumps(positions), JSON)


def test_comeet_hosted_board_reads_the_token_then_the_api(db_url: str, close: list[Board]) -> None:
    rig = Board(db_url, COMEET_PAGE)
    close.append(rig)
    _serve_comeet(rig)
    assert rig.passes(2) == []
    assert rig.requested()[:2] == [COMEET_PAGE, COMEET_API]
    members = rig.members()
    assert set(members) == {"F6.003:18.767", "F6.003:18.767-9B.20A"}
    plano = members["F6.003:18.767-9B.20A"].current
    assert plano.locations == ("Plano, TX, US",)
    assert plano.salaries == ()  # the 10,000 ILS referral reward is no pay
    requirements = "<ul><li>5+ years of backend engineering</li><li>Python or Go</li></ul>"
    _serve_comeet(rig, requirements=requirements)
    alerts = rig.passes(2)
    added = [t for t in alerts if "requirement" in t]
    assert len(added) == 1, alerts
    assert added[0].startswith("Wiliot · Forward Deployed Engineer: "), added
    assert rig.members()["F6.003:18.767"].current.requirements.minimum == (
        "5+ years of backend engineering",
        "Python or Go",
    )


# -- A JOIN widget on the company's own site: its token asks the widget's jobs ---------

WIDGET_TOKEN = (
    "eyJhbGciOiJIUzI1NiJ9.eyJjb21wYW55UHVibGljSWQiOiJhMTgyMDdiMmYxNzkyNDk2YjQ3ZTM0MWU1ZTk3"
    "Y2EyOSJ9.c2lnbmF0dXJl"
)
WIDGET = f"https://join.com/api/widget/bundle/{WIDGET_TOKEN}"


def _serve_widget(rig: Board) -> None:
    def jobs(number: int) -> Any:
        body = (SEEDS / "join" / f"widget-jobs-{number}.json").read_text(encoding="utf-8")

        def respond(request: httpx.Request) -> httpx.Response:
            if request.headers.get("access-token") != WIDGET_TOKEN:
                return httpx.Response(401, json={"message": "Unauthorized"})
            return httpx.Response(200, text=body, headers={"Content-Type": JSON})

        return respond

    for number in (1, 2):
        rig.server.fail(
            f"{JOIN_API.removesuffix('/public')}/widget/jobs?page={number}", jobs(number)
        )


def test_join_widget_board_reads_the_widget_s_jobs_then_each_job(
    db_url: str, close: list[Board]
) -> None:
    rig = Board(db_url, WIDGET)
    close.append(rig)
    _serve_join(rig)  # each job's own read (the public API)
    _serve_widget(rig)
    assert rig.passes(2) == []
    members = rig.members()
    # The same postings, with the same ids, as the company board's.
    assert set(members) == {
        "northwind-robotics:13120451",
        "northwind-robotics:13120877",
        "northwind-robotics:13121302",
    }
    assert members["northwind-robotics:13120451"].current.requirements.minimum
    _serve_join(rig, pay_to=8500000, pay_text="85,000")
    alerts = [t for t in rig.passes(3) if "salary" in t]
    assert alerts == [
        "Northwind Robotics GmbH · Robotics Software Engineer: salary range "
        "65,000–80,000 EUR/yr → 65,000–85,000 (+6.2%)"
    ], alerts


# -- ADP Workforce Now: the career center's list, then each job ------------------------

ADP_CID = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
ADP_BOARD = (
    "https://workforcenow.adp.com/mascsr/default/mdf/recruitment/recruitment.html"
    f"?cid={ADP_CID}&ccId=19000101_000001&lang=en_US"
)
ADP_API = "https://workforcenow.adp.com/mascsr/default/careercenter/public/events/staffing/v1/job-requisitions"
ADP_QUERY = f"cid={ADP_CID}&ccId=19000101_000001&lang=en_US&locale=en_US"


def _serve_adp(rig: Board, *, maximum: int = 78000) -> None:
    listed = _seed("adp/list.json")
    rig.server.publish(f"{ADP_API}?{ADP_QUERY}&$top=50&$skip=0", json.dumps(listed), JSON)
    template = _seed("adp/job.json")
    for item in listed["jobRequisitions"]:
        detail = {**copy.deepcopy(template), **item}
        if item["itemID"] == template["itemID"]:
            detail["payGradeRange"]["maximumRate"]["amountValue"] = maximum
        else:
            detail["requisitionDescription"] = "<p>Mowing and planting across the grounds.</p>"
        rig.server.publish(f"{ADP_API}/{item['itemID']}?{ADP_QUERY}", json.dumps(detail), JSON)


def test_adp_board_reads_each_job_and_alerts_a_pay_raise_once(
    db_url: str, close: list[Board]
) -> None:
    rig = Board(db_url, ADP_BOARD)
    close.append(rig)
    _serve_adp(rig)
    assert rig.passes(2) == []
    members = rig.members()
    assert set(members) == {f"{ADP_CID}:9201366847617_1", f"{ADP_CID}:9201366851204_1"}
    manager = members[f"{ADP_CID}:9201366847617_1"].current
    assert manager.requirements.minimum[1] == "5+ years of collections management experience"
    assert members[f"{ADP_CID}:9201366851204_1"].current.salaries == ()  # pay hidden
    _serve_adp(rig, maximum=82000)
    alerts = [t for t in rig.passes(3) if "salary" in t]
    assert alerts == [
        "Northwind Art Center · Collections Manager: salary range "
        "68,000–78,000 USD/yr → 68,000–82,000 (+5.1%)"
    ], alerts
