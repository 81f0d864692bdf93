"""Oracle Recruiting Cloud, Eightfold and Rippling boards read in full (issue 23's
"board members read in full" for the systems of issue 28): a board watch reads the
list, then each member's job; the members carry the pay and requirements their jobs
state; a pay edit in one member's job is alerted once with its old and new values, and
nothing else is; a job that fails is an error on that member, never a removal.

The APIs are served by a respx router from the seeds (``seeds/oracle``,
``seeds/eightfold``, ``seeds/rippling``). Where a board needs a member whose answer was
not recorded, it is built here from a recorded answer of the same system, as noted.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.core.normalize import normalize
from monitor.engines.oneshot import check_all
from monitor.model import Alert, CheckOutcome, Posting, PostingStatus
from monitor.sources import SourceRegistry
from monitor.sources.base import FetchedPage
from monitor.store.readmodels import PostingQuery
from monitor.testing import FrozenClock, RecordingNotifier
from tests.conftest import SEEDS, UNPACED

Json = Any
INTERVAL = timedelta(hours=1)
NOTHING_NEW = {CheckOutcome.NOT_MODIFIED, CheckOutcome.UNCHANGED, CheckOutcome.DEFERRED}


def _seed(name: str) -> Json:
    return json.loads((SEEDS / name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Member:
    id: str
    title: str
    detail: Json
    route: dict[str, Any]
    """How respx knows the request for its job (host, path, query)."""


@dataclass(frozen=True)
class Board:
    kind: str
    url: str
    list_route: dict[str, Any]
    list_body: Json
    earlier_list: Json
    """The list before the edited member was posted (every other member only)."""
    members: tuple[Member, ...]
    edited: str
    pay_edit: Callable[[Json], Json]
    pay_old: tuple[str, ...]
    pay_new: tuple[str, ...]

    def member(self, member_id: str) -> Member:
        return next(m for m in self.members if m.id == member_id)


# -- Oracle Recruiting Cloud: JPMC ----------------------------------------------------

ORACLE_HOST = "jpmc.fa.oraclecloud.com"
ORACLE_API = "/hcmRestApi/resources/latest"


def _oracle_member(details_seed: str) -> Member:
    details = _seed(details_seed)
    item = details["items"][0]
    finder = f'ById;Id="{item["Id"]}",siteNumber=CX_1001'
    return Member(
        id=item["Id"],
        title=item["Title"],
        detail=details,
        route={
            "host": ORACLE_HOST,
            "path": f"{ORACLE_API}/recruitingCEJobRequisitionDetails",
            "params__contains": {"finder": finder},
        },
    )


def _oracle() -> Board:
    members = (
        _oracle_member("oracle/details-210711544.json"),
        _oracle_member("oracle/details-210748454.json"),
    )
    search = _seed("oracle/search.json")
    listed = search["items"][0]
    recorded = listed["requisitionList"][0]  # 210711544, the first details' requisition
    # 210748454 is not among the three recorded list items: its list item is the recorded
    # item's shape with its own id, title, place and date (from its recorded details).
    other = members[1].detail["items"][0]
    built = {**recorded, "Id": other["Id"], "Title": other["Title"],
             "PrimaryLocation": other["PrimaryLocation"],
             "PostedDate": other["ExternalPostedStartDate"][:10]}  # fmt: skip
    earlier = copy.deepcopy(search)
    listed.update(TotalJobsCount=2, requisitionList=[recorded, built])
    listed["workplaceTypesFacet"][0]["TotalCount"] = 2
    earlier["items"][0].update(TotalJobsCount=1, requisitionList=[built])
    earlier["items"][0]["workplaceTypesFacet"][0]["TotalCount"] = 1

    def raise_pay(details: Json) -> Json:
        changed = copy.deepcopy(details)
        (field,) = changed["items"][0]["requisitionFlexFields"]
        assert field["Value"] == "New York,NY $205,000.00-$300,000.00"
        field["Value"] = "New York,NY $215,000.00-$315,000.00"
        return changed

    return Board(
        kind="oracle",
        url=f"https://{ORACLE_HOST}/hcmUI/CandidateExperience/en/sites/CX_1001/requisitions",
        list_route={"host": ORACLE_HOST, "path": f"{ORACLE_API}/recruitingCEJobRequisitions"},
        list_body=search,
        earlier_list=earlier,
        members=members,
        edited="210711544",
        pay_edit=raise_pay,
        pay_old=("205,000", "300,000"),
        pay_new=("215,000", "315,000"),
    )


# -- Eightfold: PayPal ----------------------------------------------------------------

EIGHTFOLD_HOST = "paypal.eightfold.ai"


def _eightfold_member(position: Json) -> Member:
    data = position["data"]
    return Member(
        id=str(data["id"]),
        title=data["name"],
        detail=position,
        route={
            "host": EIGHTFOLD_HOST,
            "path": "/api/pcsx/position_details",
            "params__contains": {"position_id": str(data["id"]), "domain": "paypal.com"},
        },
    )


def _eightfold() -> Board:
    recorded = _seed("eightfold/position-paypal.json")
    # A second position of the board: the recorded one under another id and title (no
    # second PayPal position was recorded).
    second = copy.deepcopy(recorded)
    second["data"].update(id=274919097058, name="Software Engineer – Payments Platform")
    members = (_eightfold_member(recorded), _eightfold_member(second))
    search = _seed("eightfold/search-paypal.json")
    template = search["data"]["positions"][0]
    later = {**template, "id": 274919097058, "name": second["data"]["name"]}
    earlier = copy.deepcopy(search)
    earlier["data"]["positions"] = [later]
    search["data"]["count"] = 2
    search["data"]["positions"] = [template, later]

    def raise_pay(position: Json) -> Json:
        changed = copy.deepcopy(position)
        html = changed["data"]["jobDescription"]
        assert "$130,500.00 - $193,600.00" in html
        changed["data"]["jobDescription"] = html.replace(
            "$130,500.00 - $193,600.00", "$140,000.00 - $205,000.00"
        )
        return changed

    return Board(
        kind="eightfold",
        url=f"https://{EIGHTFOLD_HOST}/careers?domain=paypal.com",
        list_route={
            "host": EIGHTFOLD_HOST,
            "path": "/api/pcsx/search",
            "params__contains": {"domain": "paypal.com"},
        },
        list_body=search,
        earlier_list=earlier,
        members=members,
        edited="274919097057",
        pay_edit=raise_pay,
        pay_old=("130,500", "193,600"),
        pay_new=("140,000", "205,000"),
    )


# -- Rippling: Rippling's own board ---------------------------------------------------

RIPPLING_API = "/platform/api/ats/v1/board/rippling/jobs"


def _rippling_member(job: Json) -> Member:
    return Member(
        id=job["uuid"],
        title=job["name"],
        detail=job,
        route={"host": "api.rippling.com", "path": f"{RIPPLING_API}/{job['uuid']}"},
    )


def _rippling() -> Board:
    rows = _seed("rippling/board.json")
    first = _seed("rippling/job.json")  # composed (seeds/rippling/README.md)
    # The second row's job: the same composed answer with that row's id, title and place.
    second = copy.deepcopy(first)
    second.update(uuid=rows[1]["uuid"], name=rows[1]["name"], url=rows[1]["url"],
                  workLocations=["Pittsburgh, PA", "Cleveland, OH"])  # fmt: skip
    for band in second["payRangeDetails"]:
        band.update(rangeStart=85000, rangeEnd=105000)

    def raise_pay(job: Json) -> Json:
        changed = copy.deepcopy(job)
        for band in changed["payRangeDetails"]:
            band.update(rangeStart=95000, rangeEnd=120000)
        return changed

    return Board(
        kind="rippling",
        url="https://ats.rippling.com/rippling/jobs",
        list_route={"host": "api.rippling.com", "path": RIPPLING_API},
        list_body=rows,
        earlier_list=rows[1:],
        members=(_rippling_member(first), _rippling_member(second)),
        edited=first["uuid"],
        pay_edit=raise_pay,
        pay_old=("90,000", "110,000"),
        pay_new=("95,000", "120,000"),
    )


BOARDS: dict[str, Callable[[], Board]] = {
    "oracle": _oracle,
    "eightfold": _eightfold,
    "rippling": _rippling,
}


# -- the rig --------------------------------------------------------------------------


class RespxBoard:
    """An App whose only network is a respx router serving one board and its jobs."""

    def __init__(self, db_url: str, board: Board) -> None:
        self.board = board
        self.router = respx.Router(assert_all_mocked=True)
        self.listing = self.router.get(**board.list_route).mock(
            return_value=httpx.Response(200, json=board.list_body)
        )
        self.jobs = {
            m.id: self.router.get(**m.route).mock(return_value=httpx.Response(200, json=m.detail))
            for m in board.members
        }
        self.clock = FrozenClock()
        self.notifier = RecordingNotifier()
        config = MonitorConfig.model_validate(
            {
                "database": {"url": db_url},
                "watches": [{"url": board.url, "interval": "1h"}],
                "http": UNPACED,
                # No jitter: after the clock moves by the interval, all is due again.
                "scheduler": {"jitter": 0},
            }
        )
        transport = httpx.MockTransport(self.router.handler)
        self.app = App(config, transport=transport, notifier=self.notifier, clock=self.clock)
        self.app.prepare()

    def publish_list(self, body: Json) -> None:
        self.listing.mock(return_value=httpx.Response(200, json=body))

    def publish(self, member_id: str, detail: Json) -> None:
        self.jobs[member_id].mock(return_value=httpx.Response(200, json=detail))

    def fail(self, member_id: str, status: int) -> None:
        self.jobs[member_id].mock(return_value=httpx.Response(status))

    def one_pass(self) -> set[CheckOutcome]:
        return set(asyncio.run(check_all(self.app)).outcomes)

    def settle(self) -> None:
        """Advance the clock by the interval, then pass until nothing is new (at most 4)."""
        self.clock.advance(INTERVAL)
        for _ in range(4):
            if not self.one_pass() - NOTHING_NEW:
                return

    def alerts(self) -> list[Alert]:
        return [alert for _channel, alert in self.notifier.sent]

    def members(self) -> dict[str, Posting]:
        """Each member's current version, by its id on the board."""
        board_id = self.app.store.postings.get_posting(self.board.url).id
        rows = self.app.store.views.postings(PostingQuery(board_id=board_id, limit=50)).items
        return {r.source_id.rsplit(":", 1)[-1]: r.current for r in rows if r.current is not None}

    def status(self, member_id: str) -> tuple[str, int, str | None]:
        board_id = self.app.store.postings.get_posting(self.board.url).id
        rows = self.app.store.views.postings(PostingQuery(board_id=board_id, limit=50)).items
        (row,) = [r for r in rows if r.source_id.endswith(f":{member_id}")]
        return row.status, row.consecutive_failures, row.last_error


@pytest.fixture(params=sorted(BOARDS))
def rig(request: pytest.FixtureRequest, db_url: str) -> Iterator[RespxBoard]:
    made = RespxBoard(db_url, BOARDS[request.param]())
    yield made
    asyncio.run(made.app.aclose())


def _read_in_full(rig: RespxBoard) -> None:
    rig.one_pass()  # the board's list
    assert set(rig.members()) == {m.id for m in rig.board.members}
    rig.one_pass()  # every member's job
    rig.settle()


def _read_job(board: Board, member: Member) -> Posting:
    """A member's job as its source reads it on its own (normalized)."""
    source = SourceRegistry.default().get(board.kind)
    job_url = next(p.url for p in source.parse(_page(board.list_body), url=board.url)
                   if p.source_id.endswith(f":{member.id}"))  # fmt: skip
    (posting,) = source.parse(_page(member.detail), url=job_url)
    return normalize(posting)


def _page(body: Json) -> FetchedPage:
    return FetchedPage(
        url="https://api.example/", status=200, content_type="application/json",
        body=json.dumps(body).encode(),
    )  # fmt: skip


def _pay(posting: Posting) -> list[tuple[Any, ...]]:
    """Its pay ranges in a stable order (amounts as numbers: a stored Decimal may be
    written 140000 where a fresh read says 1.4E+5)."""
    return sorted(
        (s.min or 0, s.max or 0, s.currency or "", s.period.value if s.period else "")
        for s in posting.salaries
    )


def test_every_member_is_read_in_full(rig: RespxBoard) -> None:
    _read_in_full(rig)
    assert rig.alerts() == []
    members = rig.members()
    for member in rig.board.members:
        assert rig.jobs[member.id].call_count >= 1, f"{member.id}: its job was never read"
        current, job = members[member.id], _read_job(rig.board, member)
        assert current.title == member.title
        assert _pay(current) == _pay(job), f"{member.id}: the pay its job states"
        assert current.requirements == job.requirements, f"{member.id}: its requirements"
        assert current.requirements.minimum, f"{member.id}: the requirements its job lists"
        assert current.remote.kind is job.remote.kind, f"{member.id}: its remote policy"
    edited = rig.board.member(rig.board.edited)
    assert _pay(members[edited.id]), "the edited member's job states pay"


def test_a_pay_edit_in_a_members_job_is_alerted_once(rig: RespxBoard) -> None:
    _read_in_full(rig)
    board = rig.board
    edited = board.member(board.edited)
    before = _pay(rig.members()[edited.id])
    rig.publish(edited.id, board.pay_edit(edited.detail))
    rig.settle()
    rig.settle()

    (alert,) = rig.alerts()
    text = f"{alert.title}\n{alert.body_text}"
    assert edited.title in text, text
    for value in (*board.pay_old, *board.pay_new):
        assert value in text, f"the pay alert lacks {value!r}:\n{text}"
    assert text.index(board.pay_old[0]) < text.index(board.pay_new[0]), text
    edited_job = replace(edited, detail=board.pay_edit(edited.detail))
    after = _pay(rig.members()[edited.id])
    assert after != before
    assert after == _pay(_read_job(board, edited_job))
    # The other member is untouched.
    (other,) = [m for m in board.members if m.id != edited.id]
    assert _pay(rig.members()[other.id]) == _pay(_read_job(board, other))


def test_a_new_member_is_alerted_once_with_the_pay_its_job_states(rig: RespxBoard) -> None:
    board = rig.board
    rig.publish_list(board.earlier_list)
    rig.one_pass()
    rig.one_pass()
    rig.settle()
    assert set(rig.members()) == {m.id for m in board.members} - {board.edited}
    assert rig.alerts() == []

    rig.publish_list(board.list_body)
    rig.settle()
    rig.settle()
    (alert,) = rig.alerts()
    text = f"{alert.title}\n{alert.body_text}"
    edited = board.member(board.edited)
    assert "new posting" in text, text
    assert edited.title in text, text
    assert board.pay_old[0] in text, f"the new-posting alert lacks its pay:\n{text}"
    assert _pay(rig.members()[edited.id]) == _pay(_read_job(board, edited))


@pytest.mark.parametrize("status", [500, 404])
def test_a_failing_job_is_an_error_on_its_member_never_a_removal(
    rig: RespxBoard, status: int
) -> None:
    _read_in_full(rig)
    board = rig.board
    rig.fail(board.edited, status)
    rig.settle()
    rig.settle()

    state, failures, error = rig.status(board.edited)
    assert state == PostingStatus.OPEN.value, "closing comes from the list only"
    assert failures >= 1 or error, "the failed job read shows on its member"
    assert _pay(rig.members()[board.edited]), "its pay is kept"
    # Only an error alert may come (after alerts.error_after failures), never a change.
    titles = [a.title for a in rig.alerts()]
    assert all("checks failing" in t for t in titles), titles
