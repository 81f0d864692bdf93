"""Issue 23 acceptance: boards whose list is thin (Workday, SmartRecruiters, BambooHR)
read in full, on recorded responses (seeds/boards/<kind>/: the board's list of three
members, one job detail per member, and in later/ a member that appears afterwards).

A board watch (members = "full", the default) reads every member's job detail, so a
member's pay, requirements and remote policy are stored, compared and alerted like a
single posting's: each edit alerted once with its old and new values, no false alert,
no version that lost what the detail says. A posting followed by a job watch and by its
board, in either order, is one posting with one history (W2), and adding a job watch for
a posting the board follows works in the CLI, the API and the dashboard (W1).

The job-watch control at the end reads the same details and edits through job watches:
it shows the recordings and their edits are read as the board tests expect.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.engines.oneshot import check_all
from monitor.engines.runner import PassReport
from monitor.model import Alert, CheckOutcome, Posting, PostingStatus
from monitor.store.readmodels import ChangeQuery, PostingQuery, PostingRow
from monitor.web.app import close_web_app, create_web_app
from monitor.web.security import CSRF_COOKIE, CSRF_FIELD
from tests.conftest import SEEDS
from tests.harness import Rig

INTERVAL = timedelta(hours=1)
NOTHING_NEW = {CheckOutcome.NOT_MODIFIED, CheckOutcome.UNCHANGED, CheckOutcome.DEFERRED}
Json = dict[str, Any]
Edit = Callable[[Json], Json]


def _read(kind: str, name: str) -> Json:
    data = json.loads((SEEDS / "boards" / kind / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


@dataclass(frozen=True)
class Member:
    """One posting of a recorded board: its list item and its job detail."""

    id: str
    item: Json
    detail: Json
    detail_api: str
    """Where its job detail is fetched (GET)."""
    job_url: str
    """The posting's own URL, as a person would copy it into ``watch add``."""


@dataclass(frozen=True)
class Edits:
    """Three edits of the edited member's detail, each with what its alert must say."""

    pay: Edit
    pay_old: tuple[str, ...]
    pay_new: tuple[str, ...]
    requirement: Edit
    requirement_added: str
    remote: Edit
    remote_old: tuple[str, ...]
    remote_new: tuple[str, ...]


@dataclass(frozen=True)
class Board:
    kind: str
    url: str
    """The board watch's URL."""
    list_api: str
    """Where its list is fetched (Workday: POSTed)."""
    members: tuple[Member, ...]
    later: Member
    """A member that appears on the board afterwards (its detail states pay)."""
    edited: str
    """The member whose detail the edit rounds change (it states pay, requirements
    and a remote policy)."""
    edits: Edits

    def member(self, member_id: str) -> Member:
        return next(m for m in (*self.members, self.later) if m.id == member_id)

    def list_body(self, members: tuple[Member, ...]) -> str:
        items = [m.item for m in members]
        if self.kind == "workday":
            return json.dumps({"total": len(items), "jobPostings": items, "facets": []})
        if self.kind == "smartrecruiters":
            return json.dumps(
                {"offset": 0, "limit": 100, "totalFound": len(items), "content": items}
            )
        return json.dumps({"meta": {"totalCount": len(items)}, "result": items})


# -- the three recorded boards -------------------------------------------------------

WORKDAY_SITE = "https://gdit.wd5.myworkdayjobs.com/External_Career_Site"
WORKDAY_API = "https://gdit.wd5.myworkdayjobs.com/wday/cxs/gdit/External_Career_Site"


def _workday_member(item: Json, detail: Json) -> Member:
    path = str(item["externalPath"])
    return Member(
        id=path.rsplit("_", 1)[-1],
        item=item,
        detail=detail,
        detail_api=f"{WORKDAY_API}{path}",
        job_url=f"{WORKDAY_SITE}{path}",
    )


def _workday_description(edit: Callable[[str], str]) -> Edit:
    def apply(detail: Json) -> Json:
        changed = copy.deepcopy(detail)
        info = changed["jobPostingInfo"]
        info["jobDescription"] = edit(info["jobDescription"])
        return changed

    return apply


def _workday() -> Board:
    listing = _read("workday", "list.json")["jobPostings"]
    members = tuple(
        _workday_member(item, _read("workday", f"{item['externalPath'].rsplit('_', 1)[-1]}.json"))
        for item in listing
    )
    later_item = _read("workday", "later/item.json")
    later = _workday_member(later_item, _read("workday", "later/RQ223218.json"))
    # The recording's own wording (no-break spaces and all).
    remote_sentence = (
        "This\xa0role and associated duties\xa0will be performed\xa0on site at a "
        "government facility\xa0located\xa0in Washington, DC."
    )
    return Board(
        kind="workday",
        url=WORKDAY_SITE,
        list_api=f"{WORKDAY_API}/jobs",
        members=members,
        later=later,
        edited="RQ216675",
        edits=Edits(
            pay=_workday_description(
                lambda html: _replace_once(html, "$110,500 - $149,500", "$118,000 - $159,500")
            ),
            pay_old=("110,500", "149,500"),
            pay_new=("118,000", "159,500"),
            requirement=_workday_description(
                lambda html: _replace_once(
                    html,
                    "<li><h2>Highly motivated and collaborative.</h2></li>",
                    "<li><h2>Highly motivated and collaborative.</h2></li>"
                    "<li><h2>Experience with Apache Airflow.</h2></li>",
                )
            ),
            requirement_added="Experience with Apache Airflow.",
            remote=_workday_description(
                lambda html: _replace_once(
                    _replace_once(
                        html,
                        remote_sentence,
                        "This role can be performed remotely within the United States.",
                    ),
                    "elecommuting Options:</span></u></b></p>Onsite<p",
                    "elecommuting Options:</span></u></b></p>Remote<p",
                )
            ),
            remote_old=("onsite",),
            remote_new=("remote",),
        ),
    )


SMARTRECRUITERS_API = "https://api.smartrecruiters.com/v1/companies/ServiceNow/postings"


def _smartrecruiters_member(item: Json, detail: Json) -> Member:
    return Member(
        id=str(item["id"]),
        item=item,
        detail=detail,
        detail_api=f"{SMARTRECRUITERS_API}/{item['id']}",
        job_url=str(detail["postingUrl"]),
    )


def _qualifications(edit: Callable[[str], str]) -> Edit:
    def apply(detail: Json) -> Json:
        changed = copy.deepcopy(detail)
        section = changed["jobAd"]["sections"]["qualifications"]
        section["text"] = edit(section["text"])
        return changed

    return apply


def _remote_not_hybrid(detail: Json) -> Json:
    """The employer makes the role remote: SmartRecruiters' location flags flip and the
    hybrid wording goes (as its API answers for a remote posting)."""
    changed = copy.deepcopy(detail)
    location = changed["location"]
    location.update(remote=True, hybrid=False)
    location.pop("hybridDescription", None)
    for field in changed.get("customField", []):
        if field.get("fieldLabel") == "Work Persona":
            field["valueLabel"] = "Remote"
    return changed


def _smartrecruiters() -> Board:
    listing = _read("smartrecruiters", "list.json")["content"]
    members = tuple(
        _smartrecruiters_member(item, _read("smartrecruiters", f"{item['id']}.json"))
        for item in listing
    )
    later_item = _read("smartrecruiters", "later/item.json")
    later = _smartrecruiters_member(
        later_item, _read("smartrecruiters", f"later/{later_item['id']}.json")
    )
    last = "<li>Understanding of AI/ML evaluation practices and responsible AI principles</li>"
    return Board(
        kind="smartrecruiters",
        url="https://jobs.smartrecruiters.com/ServiceNow",
        list_api=f"{SMARTRECRUITERS_API}?limit=100",
        members=members,
        later=later,
        edited="744000151138619",
        edits=Edits(
            pay=_qualifications(
                lambda html: _replace_once(html, "$143,200 - $243,400", "$151,000 - $255,000")
            ),
            pay_old=("143,200", "243,400"),
            pay_new=("151,000", "255,000"),
            requirement=_qualifications(
                lambda html: _replace_once(
                    html, last, last + "<li>Experience with Kubernetes in production</li>"
                )
            ),
            requirement_added="Experience with Kubernetes in production",
            remote=_remote_not_hybrid,
            remote_old=("hybrid",),
            remote_new=("remote",),
        ),
    )


BAMBOOHR_SITE = "https://giottoai.bamboohr.com/careers"


def _bamboohr_member(item: Json, detail: Json) -> Member:
    return Member(
        id=str(item["id"]),
        item=item,
        detail=detail,
        detail_api=f"{BAMBOOHR_SITE}/{item['id']}/detail",
        job_url=f"{BAMBOOHR_SITE}/{item['id']}",
    )


def _opening(edit: Callable[[Json], None]) -> Edit:
    def apply(detail: Json) -> Json:
        changed = copy.deepcopy(detail)
        edit(changed["result"]["jobOpening"])
        return changed

    return apply


def _bamboohr() -> Board:
    listing = _read("bamboohr", "list.json")["result"]
    members = tuple(
        _bamboohr_member(item, _read("bamboohr", f"{item['id']}.json")) for item in listing
    )
    later = _bamboohr_member(
        _read("bamboohr", "later/item.json"), _read("bamboohr", "later/45.json")
    )

    def pay(job: Json) -> None:
        job["compensation"] = _replace_once(
            job["compensation"], "CHF 150,000 - 190,000", "CHF 160,000 - 200,000"
        )

    def requirement(job: Json) -> None:
        last = "<li>Strong Python and PyTorch</li>"
        job["description"] = _replace_once(
            job["description"], last, last + "\n<li>Experience with JAX</li>"
        )

    def remote(job: Json) -> None:
        job["description"] = _replace_once(
            job["description"],
            "Hybrid: in our Lausanne office 3 days a week.",
            "Hybrid: in our Lausanne office 2 days a week.",
        )

    return Board(
        kind="bamboohr",
        url=BAMBOOHR_SITE,
        list_api=f"{BAMBOOHR_SITE}/list",
        members=members,
        later=later,
        edited="42",
        edits=Edits(
            pay=_opening(pay),
            pay_old=("150,000", "190,000"),
            pay_new=("160,000", "200,000"),
            requirement=_opening(requirement),
            requirement_added="Experience with JAX",
            remote=_opening(remote),
            remote_old=("3 days a week",),
            remote_new=("2 days a week",),
        ),
    )


BOARDS: dict[str, Callable[[], Board]] = {
    "workday": _workday,
    "smartrecruiters": _smartrecruiters,
    "bamboohr": _bamboohr,
}


# -- the rig -------------------------------------------------------------------------


class BoardRig(Rig):
    """A Rig serving one recorded board's list and its members' details."""

    def __init__(self, db_url: str, board: Board) -> None:
        # No jitter: after the clock moves by the interval, everything read is due again.
        super().__init__(db_url, [], scheduler={"jitter": 0})
        self.board = board
        self.listed: tuple[Member, ...] = board.members
        self.publish_list(board.members)
        for member in (*board.members, board.later):
            self.publish_detail(member.id, member.detail)

    def publish_list(self, members: tuple[Member, ...]) -> None:
        self.listed = members
        self.server.publish(self.board.list_api, self.board.list_body(members), "application/json")

    def publish_detail(self, member_id: str, detail: Json) -> None:
        member = self.board.member(member_id)
        self.server.publish(member.detail_api, json.dumps(detail), "application/json")

    def fail_detail(self, member_id: str, status: int) -> None:
        self.server.fail(
            self.board.member(member_id).detail_api, lambda _request: httpx.Response(status)
        )

    def watch_board(self) -> int:
        return self.app.watches.add(self.board.url, interval=INTERVAL).id

    def watch_job(self, member_id: str) -> int:
        return self.app.watches.add(self.board.member(member_id).job_url, interval=INTERVAL).id

    def one_pass(self) -> PassReport:
        return asyncio.run(check_all(self.app))

    def settle(self) -> None:
        """Advance the clock by the interval, then run passes until one finds nothing
        new (at most four)."""
        self.clock.advance(INTERVAL)
        for _ in range(4):
            report = self.one_pass()
            if not set(report.outcomes) - NOTHING_NEW:
                return

    def alerts(self) -> list[Alert]:
        return [alert for _channel, alert in self.notifier.sent]

    def new_alerts(self, before: int, count: int = 1) -> list[Alert]:
        """The alerts sent since ``before`` were sent, checked to be ``count``."""
        sent = self.alerts()[before:]
        assert len(sent) == count, [a.title for a in sent]
        return sent

    def board_row(self) -> PostingRow:
        board_id = self.app.store.postings.get_posting(self.board.url).id
        return self.app.store.views.posting(board_id)

    def rows(self) -> dict[str, PostingRow]:
        """Every posting the board lists (by member id), whichever watch follows it."""
        board_id = self.board_row().id
        found = self.app.store.views.postings(PostingQuery(board_id=board_id, limit=500)).items
        return {row.source_id.rsplit(":", 1)[-1]: row for row in found}

    def posting_of(self, member_id: str) -> PostingRow:
        """The one stored posting of a member (by its source id)."""
        matching = [
            row
            for row in self.app.store.views.postings(PostingQuery(limit=500)).items
            if row.source_id.rsplit(":", 1)[-1] == member_id and row.role != "board"
        ]
        assert len(matching) == 1, [(r.id, r.role, r.source_id) for r in matching]
        return matching[0]

    def versions(self, member_id: str) -> list[Posting]:
        posting_id = self.posting_of(member_id).id
        return [v.posting for v in self.app.store.views.versions(posting_id)]

    def detail_requests(self, member_id: str) -> int:
        url = self.board.member(member_id).detail_api
        return sum(1 for r in self.server.requests if str(r.url) == url)


def _read_detail(board: Board, member_id: str, detail: Json | None = None) -> Posting:
    """A member's detail as its job watch reads it (the source's own parse, normalized)."""
    from monitor.core.normalize import normalize
    from monitor.sources import SourceRegistry
    from monitor.sources.base import FetchedPage

    member = board.member(member_id)
    source = SourceRegistry.default().get(board.kind)
    page = FetchedPage(
        url=member.detail_api,
        status=200,
        content_type="application/json",
        body=json.dumps(detail if detail is not None else member.detail).encode(),
    )
    (posting,) = source.parse(page, url=member.job_url)
    return normalize(posting)


def _pay(posting: Posting) -> list[tuple[Any, ...]]:
    """Its pay ranges, in a stable order (the store keeps them sorted)."""
    return sorted(((s.min, s.max, s.currency, s.period) for s in posting.salaries), key=str)


def _fields(posting: Posting) -> dict[str, bool]:
    """Which of the fields a list read lacks and a detail read carries it has."""
    return {
        "company": bool(posting.company),
        "pay": bool(posting.salaries),
        "requirements": bool(posting.requirements.minimum),
        "remote policy": bool(posting.remote),
    }


def _assert_nothing_emptied(rig: BoardRig, member_id: str) -> None:
    """No stored version of the member lacks a field an earlier version had (W2's
    emptied versions), and its current version has every field its detail states.

    A version before the first detail read (a list-level one) may lack them: it never
    had them."""
    versions = rig.versions(member_id)
    assert versions, f"{rig.board.kind} {member_id} has no version"
    seen: set[str] = set()
    for number, version in enumerate(versions, start=1):
        has = {name for name, present in _fields(version).items() if present}
        lost = seen - has
        assert not lost, f"{rig.board.kind} {member_id} version {number} lost {sorted(lost)}"
        seen |= has
    stated = {
        name for name, present in _fields(_read_detail(rig.board, member_id)).items() if present
    }
    missing = stated - {name for name, present in _fields(versions[-1]).items() if present}
    assert not missing, f"{rig.board.kind} {member_id}: its current version lacks {sorted(missing)}"


def _alert_text(alert: Alert) -> str:
    return f"{alert.title}\n{alert.body_text}"


@pytest.fixture(params=sorted(BOARDS))
def board(request: pytest.FixtureRequest) -> Board:
    return BOARDS[request.param]()


@pytest.fixture
def rig(db_url: str, board: Board) -> Iterator[BoardRig]:
    made = BoardRig(db_url, board)
    yield made
    made.close()


def _followed_in_full(rig: BoardRig) -> None:
    """A board watch's first pass and the pass that reads its members' details."""
    rig.watch_board()
    rig.one_pass()
    assert set(rig.rows()) == {m.id for m in rig.board.members}
    rig.one_pass()


# -- (a) a board watch reads every member in full ------------------------------------


def test_a_board_watch_reads_every_members_detail(rig: BoardRig) -> None:
    rig.watch_board()
    rig.one_pass()
    assert set(rig.rows()) == {m.id for m in rig.board.members}
    rig.one_pass()

    assert rig.alerts() == []
    for member in rig.board.members:
        row = rig.rows()[member.id]
        assert row.status == PostingStatus.OPEN.value
        assert row.current is not None
        read = _read_detail(rig.board, member.id)
        assert _pay(row.current) == _pay(read), f"{member.id}: pay as its detail says"
        assert row.current.requirements == read.requirements, f"{member.id}: requirements"
        assert row.current.remote.kind == read.remote.kind, f"{member.id}: remote policy"
        assert row.current.company == read.company, f"{member.id}: company"
        _assert_nothing_emptied(rig, member.id)
        assert rig.detail_requests(member.id) >= 1, f"{member.id}: its detail was never read"
    # The recordings state pay on at least one member of every board.
    assert any(_read_detail(rig.board, m.id).salaries for m in rig.board.members)


# -- (b) pay, a requirement and the remote policy of a member change -----------------


def test_each_member_edit_is_alerted_once_with_its_values(rig: BoardRig) -> None:
    _followed_in_full(rig)
    rig.settle()
    assert rig.alerts() == []
    board, edits = rig.board, rig.board.edits
    edited = board.member(board.edited)
    title = _read_detail(board, edited.id).title

    detail = edits.pay(edited.detail)
    rig.publish_detail(edited.id, detail)
    rig.settle()
    (pay,) = rig.new_alerts(0)
    text = _alert_text(pay)
    assert title in text
    for value in (*edits.pay_old, *edits.pay_new):
        assert value in text, f"pay alert lacks {value!r}:\n{text}"
    assert text.index(edits.pay_old[0]) < text.index(edits.pay_new[0])

    detail = edits.requirement(detail)
    rig.publish_detail(edited.id, detail)
    rig.settle()
    (requirement,) = rig.new_alerts(1)
    text = _alert_text(requirement)
    assert "requirement added" in text, text
    assert edits.requirement_added in text, text

    detail = edits.remote(detail)
    rig.publish_detail(edited.id, detail)
    rig.settle()
    (remote,) = rig.new_alerts(2)
    text = _alert_text(remote)
    assert "remote" in text.lower(), text
    for old, new in zip(edits.remote_old, edits.remote_new, strict=True):
        assert old in text, text
        assert new in text, text
        assert text.index(old) < text.rindex(new), text

    rig.settle()
    assert len(rig.alerts()) == 3, [a.title for a in rig.alerts()]
    for member in board.members:
        _assert_nothing_emptied(rig, member.id)
    # The last version is the edited detail as a job watch reads it.
    current = rig.rows()[edited.id].current
    assert current is not None
    final = _read_detail(board, edited.id, detail)
    assert _pay(current) == _pay(final)
    assert current.requirements == final.requirements
    assert current.remote == final.remote


# -- (c) a new member ----------------------------------------------------------------


def test_a_new_member_is_alerted_once_with_the_pay_its_detail_states(rig: BoardRig) -> None:
    _followed_in_full(rig)
    rig.settle()
    board = rig.board
    rig.publish_list((*board.members, board.later))
    rig.settle()
    rig.settle()

    (alert,) = rig.new_alerts(0)
    text = _alert_text(alert)
    read = _read_detail(board, board.later.id)
    assert "new posting" in text, text
    assert read.title in text, text
    assert read.salaries, "the later member's detail states pay"
    assert f"{read.salaries[0].min:,.0f}" in text, f"the new-posting alert lacks pay:\n{text}"
    row = rig.rows()[board.later.id]
    assert row.current is not None
    assert _pay(row.current) == _pay(read)
    assert row.current.requirements == read.requirements
    _assert_nothing_emptied(rig, board.later.id)


# -- (d) a member's detail fails while the list still lists it -----------------------


@pytest.mark.parametrize("status", [500, 404])
def test_a_failing_detail_is_an_error_on_the_member_never_a_removal(
    rig: BoardRig, status: int
) -> None:
    _followed_in_full(rig)
    rig.settle()
    board = rig.board
    failing = board.member(board.edited)
    rig.fail_detail(failing.id, status)
    rig.settle()
    rig.settle()

    row = rig.app.store.views.posting(rig.posting_of(failing.id).id)
    assert row.status == PostingStatus.OPEN.value, "closing comes from the list only"
    assert row.consecutive_failures >= 1 or row.last_error, (
        f"the failed detail read shows on the member: {row.last_error!r}"
    )
    # Nothing changed in the posting: any change recorded now is a failed read taken
    # for an edit ("fields removed").
    changes = rig.app.store.views.changes(ChangeQuery(posting_id=row.id)).items
    assert changes == (), [c.summary for c in changes]
    false = [a.title for a in rig.alerts() if any(w in a.title for w in ("closed", "removed"))]
    assert false == []
    _assert_nothing_emptied(rig, failing.id)


# -- (e) W2: a posting followed by its job watch and by its board, both orders --------


@pytest.mark.parametrize("order", ["job then board", "board then job"])
def test_a_posting_followed_both_ways_is_one_posting(rig: BoardRig, order: str) -> None:
    board = rig.board
    job = board.member(board.edited)
    if order == "job then board":
        rig.watch_job(job.id)
        rig.one_pass()
        rig.watch_board()
    else:
        rig.watch_board()
        rig.one_pass()
        rig.one_pass()
        rig.watch_job(job.id)
    for _ in range(3):
        rig.settle()

    assert rig.alerts() == [], [a.title for a in rig.alerts()]
    posting = rig.posting_of(job.id)  # one posting, whichever watch came first
    _assert_nothing_emptied(rig, job.id)
    assert job.id in rig.rows(), "the board lists the posting its job watch follows"
    for member in board.members:
        _assert_nothing_emptied(rig, member.id)

    edited = board.edits.pay(job.detail)
    rig.publish_detail(job.id, edited)
    rig.settle()
    rig.settle()
    (pay,) = rig.new_alerts(0)
    text = _alert_text(pay)
    assert "new posting" not in text
    for value in (*board.edits.pay_old, *board.edits.pay_new):
        assert value in text, f"pay alert lacks {value!r}:\n{text}"
    assert rig.posting_of(job.id).id == posting.id
    for member in board.members:
        _assert_nothing_emptied(rig, member.id)


def test_a_removed_job_watch_gives_its_posting_back_to_the_board(rig: BoardRig) -> None:
    board = rig.board
    job = board.member(board.edited)
    job_watch = rig.watch_job(job.id)
    rig.one_pass()
    rig.watch_board()
    for _ in range(3):
        rig.settle()
    rig.app.store.watches.remove_watch(str(job_watch), now=rig.clock.now())
    rig.settle()  # the board's next check reads its job again, as its own member
    rig.publish_detail(job.id, board.edits.pay(job.detail))
    rig.settle()
    rig.settle()
    (pay,) = rig.new_alerts(0)
    assert "new posting" not in _alert_text(pay)
    assert any(value in _alert_text(pay) for value in board.edits.pay_new)
    assert job.id in rig.rows(), "still listed under the board"
    _assert_nothing_emptied(rig, job.id)


def _check_alone(rig: BoardRig, ref: str | int) -> None:
    """One check of one posting or board, written and its alerts delivered (a daemon
    checks a board and its members each on their own schedule)."""
    from monitor.engines.lifecycle import deliver_now

    async def run() -> None:
        state = rig.app.store.postings.get_posting(str(ref))
        _outcome, write = await rig.app.checker.run_check(state)
        await rig.app.checker.write_checks([write])
        await deliver_now(rig.app)

    asyncio.run(run())


@pytest.mark.parametrize("followed", ["by the board", "by a job watch too"])
def test_a_member_dropped_from_the_list_closes_while_its_job_still_answers(
    rig: BoardRig, followed: str
) -> None:
    board = rig.board
    gone = board.members[0]
    rig.watch_board()
    rig.one_pass()
    rig.one_pass()
    if followed == "by a job watch too":
        rig.watch_job(gone.id)
        rig.one_pass()
    posting_id = rig.posting_of(gone.id).id
    board_id = rig.app.store.postings.get_posting(board.url).id
    before = len(rig.alerts())
    rig.publish_list(board.members[1:])  # its job page stays up
    for _ in range(3):  # board and job read in turn, as their schedules fall
        rig.clock.advance(INTERVAL / 2)
        _check_alone(rig, board_id)
        rig.clock.advance(INTERVAL / 2)
        _check_alone(rig, posting_id)
    titles = [a.title for a in rig.alerts()[before:]]
    assert sum("posting closed" in t for t in titles) == 1, titles
    assert not any("reopened" in t for t in titles), titles
    assert rig.app.store.postings.get_posting(str(posting_id)).status is PostingStatus.CLOSED


def test_a_job_that_answers_404_while_listed_is_an_error_never_closed_and_reopened(
    rig: BoardRig,
) -> None:
    board = rig.board
    job = board.member(board.edited)
    rig.watch_board()
    rig.one_pass()
    rig.one_pass()
    rig.watch_job(job.id)
    rig.one_pass()
    before = len(rig.alerts())
    rig.fail_detail(job.id, 404)
    for _ in range(4):
        rig.settle()
    titles = [a.title for a in rig.alerts()[before:]]
    assert not any("closed" in t or "reopened" in t for t in titles), titles
    state = rig.app.store.postings.get_posting(str(rig.posting_of(job.id).id))
    assert state.status is PostingStatus.OPEN
    assert state.consecutive_failures >= 3
    assert "still lists it" in (state.last_error or "")


def test_a_posting_once_watched_alone_then_found_on_a_board_is_read_as_its_member(
    rig: BoardRig,
) -> None:
    board = rig.board
    job = board.member(board.edited)
    job_watch = rig.watch_job(job.id)
    rig.one_pass()
    rig.app.store.watches.remove_watch(str(job_watch), now=rig.clock.now())
    rig.watch_board()
    for _ in range(3):
        rig.settle()
    rig.publish_detail(job.id, board.edits.pay(job.detail))
    rig.settle()
    rig.settle()
    (pay,) = rig.new_alerts(0)
    assert any(value in _alert_text(pay) for value in board.edits.pay_new)
    assert job.id in rig.rows()


# -- (f) W1: adding a posting the board already follows ------------------------------


def _pay_edit_shows_under_both(rig: BoardRig, board_watch: int, job_watch: int) -> None:
    """After the job watch is added: a pay edit is one alert, and its change is listed
    under the board as well as under the job watch."""
    board, job = rig.board, rig.board.member(rig.board.edited)
    rig.publish_detail(job.id, board.edits.pay(job.detail))
    rig.settle()
    rig.settle()
    rig.new_alerts(0)
    under_board = rig.app.store.views.changes(ChangeQuery(watch_id=board_watch)).items
    assert any(c.field == "salary" for c in under_board), "the board keeps its member's change"
    under_job = rig.app.store.views.changes(ChangeQuery(watch_id=job_watch)).items
    assert any(c.field == "salary" for c in under_job), "the job watch lists it too"


def test_w1_cli_adds_a_job_watch_for_a_posting_the_board_follows(
    rig: BoardRig, db_url: str, tmp_path: Path
) -> None:
    board_watch = rig.watch_board()
    _settled_board(rig)
    config = tmp_path / "monitor.toml"
    config.write_text(f"[database]\nurl = '{db_url}'\n", encoding="utf-8")
    job = rig.board.member(rig.board.edited)

    added = CliRunner().invoke(
        cli, ["--config", str(config), "watch", "add", job.job_url], catch_exceptions=False
    )
    assert added.exit_code == 0, added.output
    listed = CliRunner().invoke(
        cli, ["--config", str(config), "watch", "list"], catch_exceptions=False
    )
    assert listed.exit_code == 0, listed.output
    assert job.job_url in listed.output, listed.output
    job_watch = next(w.id for w in rig.app.store.watches.list_watches() if w.url == job.job_url)
    assert job_watch != board_watch
    _pay_edit_shows_under_both(rig, board_watch, job_watch)


def _settled_board(rig: BoardRig) -> None:
    rig.one_pass()
    rig.one_pass()
    rig.settle()
    assert rig.alerts() == []


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _settle_async(rig: BoardRig) -> None:
    rig.clock.advance(INTERVAL)
    for _ in range(4):
        report = await check_all(rig.app)
        if not set(report.outcomes) - NOTHING_NEW:
            return


@pytest.mark.anyio
@pytest.mark.parametrize("through", ["api", "dashboard"])
async def test_w1_api_and_dashboard_add_a_job_watch_for_a_posting_the_board_follows(
    db_url: str, board: Board, through: str
) -> None:
    rig = BoardRig(db_url, board)
    web = create_web_app(rig.app, preview_transport=rig.server.transport())
    try:
        board_watch = rig.watch_board()
        await check_all(rig.app)
        await check_all(rig.app)
        await _settle_async(rig)
        assert rig.alerts() == []
        job = board.member(board.edited)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            if through == "api":
                created = await client.post(
                    "/api/v1/watches", json={"url": job.job_url, "interval": "1h"}
                )
                assert created.status_code == 201, created.text
                job_watch = int(created.json()["id"])
            else:
                await client.get("/watches")
                csrf = client.cookies.get(CSRF_COOKIE)
                assert csrf
                form = {"url": job.job_url, "interval": "1h", "action": "save", CSRF_FIELD: csrf}
                saved = await client.post("/watches/new", data=form)
                assert saved.status_code == 303, saved.text
                shown = await client.get(saved.headers["location"])
                assert shown.status_code == 200, shown.text
                assert "no watch" not in shown.text
                job_watch = next(
                    w.id for w in rig.app.store.watches.list_watches() if w.url == job.job_url
                )
            listed = (await client.get("/api/v1/watches", params={"per_page": 100})).json()
            assert job_watch in {w["id"] for w in listed["items"]}, listed
            assert board_watch in {w["id"] for w in listed["items"]}, listed

            rig.publish_detail(job.id, board.edits.pay(job.detail))
            await _settle_async(rig)
            await _settle_async(rig)
            rig.new_alerts(0)
            changes = (await client.get("/api/v1/changes", params={"watch": board_watch})).json()[
                "items"
            ]
            assert any(c["field"] == "salary" for c in changes), changes
    finally:
        close_web_app(web)
        await rig.app.aclose()


# -- control: the same details and edits through job watches (passes today) ----------


def test_control_job_watches_read_the_recordings_and_their_edits(rig: BoardRig) -> None:
    board, edits = rig.board, rig.board.edits
    for member in board.members:
        rig.watch_job(member.id)
    rig.one_pass()
    assert rig.alerts() == []
    for member in board.members:
        current = rig.posting_of(member.id)
        assert current.current is not None
        assert _pay(current.current) == _pay(_read_detail(board, member.id))
    edited = board.member(board.edited)
    detail = edited.detail
    expected = [
        (edits.pay, (*edits.pay_old, *edits.pay_new)),
        (edits.requirement, (edits.requirement_added,)),
        (edits.remote, (*edits.remote_old, *edits.remote_new)),
    ]
    for number, (edit, values) in enumerate(expected, start=1):
        detail = edit(detail)
        rig.publish_detail(edited.id, detail)
        rig.settle()
        (alert,) = rig.new_alerts(number - 1)
        text = _alert_text(alert)
        for value in values:
            assert value in text, f"{value!r} not in:\n{text}"
