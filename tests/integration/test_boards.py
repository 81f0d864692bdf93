"""Whole-board watches over a sequence of recorded Greenhouse responses."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from monitor.engines.oneshot import check_all
from monitor.model import READER_VERSION, CheckOutcome, PostingStatus
from tests.conftest import SEEDS
from tests.harness import Rig

BOARD = "https://boards.greenhouse.io/northwind"
API = "https://boards-api.greenhouse.io/v1/boards/northwind/jobs?content=true"


class Board(Rig):
    def __init__(self, db_url: str, filters: dict[str, list[str]] | None = None) -> None:
        watch: dict[str, object] = {"url": BOARD, "interval": "1h"}
        if filters:
            watch["filters"] = filters
        super().__init__(db_url, [watch])

    def serve(self, name: str) -> None:
        body = (SEEDS / "greenhouse" / name).read_text(encoding="utf-8")
        self.server.publish(API, body, content_type="application/json; charset=utf-8")

    def check(self) -> CheckOutcome:
        self.clock.advance(timedelta(hours=1))
        return self.check_once()

    def members(self) -> dict[str, PostingStatus]:
        board = self.app.store.postings.get_posting(BOARD)
        return {m.title: m.status for m in self.app.store.postings.members_of(board.id)}


def logged_statuses(board: Board) -> list[tuple[str, int | None]]:
    """The board's own checks in the check log: outcome and HTTP status."""
    from sqlalchemy import select

    from monitor.store.tables import check_log

    board_id = board.app.store.postings.get_posting(BOARD).id
    query = select(check_log.c.outcome, check_log.c.http_status).where(
        check_log.c.posting_id == board_id
    )
    with board.app.engine.connect() as conn:
        return [(o, h) for o, h in conn.execute(query.order_by(check_log.c.id))]


@pytest.fixture
def board(db_url: str) -> Iterator[Board]:
    b = Board(db_url)
    yield b
    asyncio.run(b.app.aclose())


def test_new_closed_and_salary_change_and_nothing_else(board: Board) -> None:
    board.serve("board-1.json")
    assert board.check() is CheckOutcome.BASELINE
    assert board.titles() == []  # the first look records what is there; it announces nothing
    assert set(board.members()) == {
        "Backend Engineer, Payments",
        "Data Scientist",
        "Site Reliability Engineer",
    }

    board.serve(
        "board-2.json"
    )  # 101 raised, 102 missing once, 104 new, order and updated_at changed
    assert board.check() is CheckOutcome.CHANGED
    assert board.members()["Data Scientist"] is PostingStatus.OPEN  # missing once is not closed

    board.serve("board-3.json")  # 102 missing again: closed; everything else the same
    assert board.check() is CheckOutcome.CHANGED
    board.serve("board-3.json")
    assert board.check() is CheckOutcome.NOT_MODIFIED

    assert sorted(board.titles()) == sorted([
        "Northwind Robotics · Backend Engineer, Payments: salary range (US) 150,000–190,000 USD/yr → 160,000–200,000 (+6.7% / +5.3%)",
        "Northwind Robotics · Mobile Engineer (iOS): new posting: Mobile Engineer (iOS) (Remote (US))",
        "Northwind Robotics · Data Scientist: posting closed",
    ])  # fmt: skip
    assert board.members()["Data Scientist"] is PostingStatus.CLOSED


def test_a_closed_posting_that_returns_is_reopened_once(board: Board) -> None:
    for name in ("board-1.json", "board-2.json", "board-3.json", "board-1.json"):
        board.serve(name)
        board.check()
    reopened = [t for t in board.titles() if t.endswith("posting reopened")]
    assert reopened == ["Northwind Robotics · Data Scientist: posting reopened"]
    assert board.members()["Data Scientist"] is PostingStatus.OPEN


def test_an_empty_board_is_held_back_while_it_may_be_a_fault(board: Board) -> None:
    board.serve("board-1.json")
    board.check()
    board.server.publish(API, '{"jobs": [], "meta": {"total": 0}}', content_type="application/json")
    assert board.check() is CheckOutcome.SUSPECT
    held = board.app.store.postings.get_posting(BOARD)
    assert (held.last_error, held.suspect_count) == (
        f"the board lists no postings at all; not believed until it lasts ({BOARD})",
        1,
    )
    assert board.check() is CheckOutcome.SUSPECT
    assert board.app.store.postings.get_posting(BOARD).suspect_count == 2
    assert logged_statuses(board)[-2:] == [("suspect", 200), ("suspect", 200)]
    board.serve("board-1.json")  # it was a fault: the jobs are back
    board.check()
    assert board.titles() == []
    assert set(board.members().values()) == {PostingStatus.OPEN}


def test_a_board_that_stays_empty_is_believed_and_its_postings_close(board: Board) -> None:
    board.serve("board-1.json")
    board.check()
    followed = len(board.members())
    board.server.publish(API, '{"jobs": [], "meta": {"total": 0}}', content_type="application/json")
    assert [board.check() for _ in range(2)] == [CheckOutcome.SUSPECT] * 2
    assert set(board.members().values()) == {PostingStatus.OPEN}
    board.check()  # the third empty answer is believed: every posting is missing once
    board.check()  # and closed at the second (alerts.close_after)
    assert set(board.members().values()) == {PostingStatus.CLOSED}
    closed = [t for t in board.titles() if t.endswith("posting closed")]
    assert len(closed) == followed
    assert not [t for t in board.titles() if "checks failing" in t]


def test_a_board_that_errors_changes_nothing(board: Board) -> None:
    board.serve("board-1.json")
    board.check()
    board.server.fail(API, lambda _r: httpx.Response(404))
    for _ in range(2):
        assert board.check() is CheckOutcome.ERROR
    assert board.titles() == []
    assert set(board.members().values()) == {PostingStatus.OPEN}


def test_filters_decide_which_new_postings_are_followed(db_url: str) -> None:
    b = Board(
        db_url,
        filters={
            "title": ["engineer"],
            "exclude_title": ["mobile"],
            "location": ["remote", "berlin"],
        },
    )
    try:
        b.serve("board-1.json")
        b.check()
        assert set(b.members()) == {"Backend Engineer, Payments", "Site Reliability Engineer"}
        b.serve("board-2.json")
        b.check()
        assert not any("Mobile" in t for t in b.titles())
        assert "Mobile Engineer (iOS)" not in b.members()
    finally:
        asyncio.run(b.app.aclose())


def _board_without_pay() -> str:
    """board-1 as a site redesign would serve it: the pay block gone from every job."""
    data = json.loads((SEEDS / "greenhouse" / "board-1.json").read_text(encoding="utf-8"))
    for job in data["jobs"]:
        content = html.unescape(job["content"])
        content = re.sub(
            r'<div class="content-pay-transparency">.*?</div></div></div>', "", content
        )
        job["content"] = html.escape(content)
    return json.dumps(data)


def test_a_field_gone_from_most_postings_at_once_is_one_notice_until_confirmed(
    board: Board,
) -> None:
    board.serve("board-1.json")
    board.check()
    had_pay = 3
    board.server.publish(API, _board_without_pay(), content_type="application/json")

    assert board.check() is CheckOutcome.SUSPECT
    assert board.titles() == [
        f"{BOARD}: salary no longer read on {had_pay} of {had_pay} postings of this board:"
        f" a site or parser change is likelier than {had_pay} edits; held back until later"
        f" checks confirm it ({BOARD})"
    ]
    assert board.check() is CheckOutcome.SUSPECT  # still held, and told only once
    assert len(board.titles()) == 1
    held = board.app.store.postings.get_posting(BOARD)
    assert (held.suspect_hash, held.suspect_count) == ("field-loss:salary", 2)
    assert logged_statuses(board)[-1] == ("suspect", 200)

    board.check()  # the third read in a row is believed: now each posting's pay is removed
    removed = [t for t in board.titles() if "salary range" in t and "removed" in t]
    assert len(removed) == had_pay


def test_pay_removed_from_one_posting_is_alerted_at_once(board: Board) -> None:
    board.serve("board-1.json")
    board.check()
    data = json.loads((SEEDS / "greenhouse" / "board-1.json").read_text(encoding="utf-8"))
    job = next(j for j in data["jobs"] if j["id"] == 102)
    job["content"] = re.sub(r"content-pay-transparency.*", "", html.unescape(job["content"]))
    board.server.publish(API, json.dumps(data), content_type="application/json")
    assert board.check() is CheckOutcome.CHANGED
    assert [t for t in board.titles() if "removed" in t] == [
        "Northwind Robotics · Data Scientist: salary range (New York) removed: 140,000–170,000 USD/yr"
    ]


def _jobs(count: int) -> str:
    jobs = [
        {
            "id": 9_000 + n,
            "title": f"Engineer {n}",
            "absolute_url": f"https://boards.greenhouse.io/northwind/jobs/{9_000 + n}",
            "location": {"name": "Remote"},
            "updated_at": "2026-11-01T00:00:00Z",
            "content": html.escape("<p>Build things.</p>"),
        }
        for n in range(count)
    ]
    return json.dumps({"jobs": jobs})


def test_one_check_sends_every_alert_it_queued_not_one_batch(board: Board) -> None:
    """`check` is all a cron user runs: 150 new postings are 150 alerts in that run,
    not 100 now and the rest at the next run."""
    board.server.publish(API, _jobs(1), content_type="application/json")
    assert board.check() is CheckOutcome.BASELINE
    board.server.publish(API, _jobs(151), content_type="application/json")
    board.clock.advance(timedelta(hours=1))
    report = asyncio.run(check_all(board.app))
    assert report.delivery.sent == 150
    assert len(board.titles()) == 150


def _board_with(replaced: dict[int, int], *, title: str | None = None) -> str:
    """board-1 with some jobs under a new id (a repost), optionally retitled."""
    data = json.loads((SEEDS / "greenhouse" / "board-1.json").read_text(encoding="utf-8"))
    for job in data["jobs"]:
        if job["id"] in replaced:
            new_id = replaced[job["id"]]
            job["absolute_url"] = job["absolute_url"].replace(str(job["id"]), str(new_id))
            job["id"] = new_id
            if title is not None:
                job["title"] = title
    return json.dumps(data)


def test_a_posting_taken_down_and_put_up_again_is_a_repost(board: Board) -> None:
    board.serve("board-1.json")
    board.check()
    board.server.publish(API, _board_with({102: 105}), content_type="application/json")
    assert board.check() is CheckOutcome.CHANGED

    (alert,) = board.titles()
    assert alert.startswith("Northwind Robotics · Data Scientist: reposted: Data Scientist")
    assert "open 0 days before it closed" in alert
    assert "pay then" in alert
    # One story, not "closed" plus "new": the old posting is closed, quietly, and linked.
    old = board.app.store.postings.get_posting(
        "https://job-boards.greenhouse.io/northwind/jobs/102"
    )
    new = board.app.store.postings.get_posting(
        "https://job-boards.greenhouse.io/northwind/jobs/105"
    )
    assert old.status is PostingStatus.CLOSED
    assert new.status is PostingStatus.OPEN
    with board.app.engine.connect() as conn:
        linked = conn.exec_driver_sql(
            f"SELECT reposted_from FROM postings WHERE id = {new.id}"
        ).scalar()
    assert linked == old.id
    history = board.app.store.views.history(str(old.id))
    assert [c.summary for c in history.changes] == ["posting closed: reposted as a new posting"]


def test_a_repost_days_after_closing_within_the_window(board: Board) -> None:
    board.serve("board-1.json")
    board.check()
    without = json.loads(_board_with({}))
    without["jobs"] = [j for j in without["jobs"] if j["id"] != 102]
    board.server.publish(API, json.dumps(without), content_type="application/json")
    board.check()
    without["jobs"].reverse()  # a new body: counted missing a second time
    board.server.publish(API, json.dumps(without), content_type="application/json")
    board.check()
    assert board.titles() == ["Northwind Robotics · Data Scientist: posting closed"]

    board.clock.advance(timedelta(days=20))
    board.server.publish(API, _board_with({102: 106}), content_type="application/json")
    board.check()
    last = board.titles()[-1]
    assert "reposted: Data Scientist" in last
    assert "open 0 days before it closed" in last


def test_after_the_window_or_under_another_title_it_is_new(board: Board) -> None:
    board.serve("board-1.json")
    board.check()
    board.server.publish(
        API, _board_with({102: 107}, title="Senior Data Scientist"), content_type="application/json"
    )
    board.check()
    assert board.titles() == [
        "Northwind Robotics · Senior Data Scientist: new posting: Senior Data Scientist (New York, NY)"
    ]


def test_a_repost_after_the_window_is_new(board: Board) -> None:
    board.serve("board-1.json")
    board.check()
    without = json.loads(_board_with({}))
    without["jobs"] = [j for j in without["jobs"] if j["id"] != 102]
    for _ in range(2):
        without["jobs"].reverse()
        board.server.publish(API, json.dumps(without), content_type="application/json")
        board.check()
    board.clock.advance(timedelta(days=31))  # alerts.repost_window is 30 days
    board.server.publish(API, _board_with({102: 108}), content_type="application/json")
    board.check()
    assert board.titles()[-1] == (
        "Northwind Robotics · Data Scientist: new posting: Data Scientist (New York, NY)"
    )


def test_an_unchanged_board_closes_nothing_that_is_listed(board: Board) -> None:
    board.serve("board-1.json")
    board.check()
    for _ in range(3):  # 304s: the same board, again and again
        assert board.check() is CheckOutcome.NOT_MODIFIED
    assert set(board.members().values()) == {PostingStatus.OPEN}
    assert board.titles() == []


def test_a_closed_posting_is_not_counted_missing_again(board: Board) -> None:
    board.serve("board-1.json")
    board.check()
    without = json.loads(_board_with({}))
    without["jobs"] = [j for j in without["jobs"] if j["id"] != 102]
    for _ in range(4):  # closed on the second; the third and fourth must not touch it
        without["jobs"].reverse()
        board.server.publish(API, json.dumps(without), content_type="application/json")
        board.check()
    closed = board.app.store.postings.get_posting(
        "https://job-boards.greenhouse.io/northwind/jobs/102"
    )
    assert closed.status is PostingStatus.CLOSED
    assert closed.gone_count == 2
    assert board.titles() == ["Northwind Robotics · Data Scientist: posting closed"]
    assert len(board.app.store.views.history(str(closed.id)).versions) == 2  # open, then closed


def test_a_board_not_found_at_its_first_read_is_a_typo_and_later_an_error(board: Board) -> None:
    assert board.check() is CheckOutcome.ERROR  # nothing served: 404
    assert board.app.store.postings.get_posting(BOARD).last_error == (
        f"HTTP 404 on the first check: is the URL right? ({BOARD})"
    )
    board.serve("board-1.json")
    assert board.check() is CheckOutcome.BASELINE
    board.server.pages.pop(API)
    # Read before: not a typo. Still an error, never a closure of every posting at once.
    assert board.check() is CheckOutcome.ERROR
    assert board.app.store.postings.get_posting(BOARD).last_error == "HTTP 404"
    assert set(board.members().values()) == {PostingStatus.OPEN}


def test_a_board_on_a_cron_schedule_is_next_checked_when_its_schedule_says(db_url: str) -> None:
    rig = Rig(db_url, [{"url": BOARD, "cron": "30 7 * * *"}])
    try:
        rig.server.publish(
            API, (SEEDS / "greenhouse" / "board-1.json").read_text(), "application/json"
        )
        rig.clock.advance(timedelta(days=1))
        asyncio.run(check_all(rig.app))
        after = rig.app.store.postings.get_posting(BOARD).next_check_at
        now = rig.clock.now()
        assert (after.hour, after.minute) == (7, 30)
        assert timedelta(0) < after - now <= timedelta(days=1)
    finally:
        asyncio.run(rig.app.aclose())


def test_members_read_by_an_older_reader_are_read_again_not_taken_as_unchanged(
    board: Board,
) -> None:
    """A new reader version: the same board body is fetched in full and read again
    (no 304, no same-body shortcut), so every member is stored as the new reader reads it."""
    from sqlalchemy import select, update

    from monitor.store.tables import postings, snapshots

    board.serve("board-1.json")
    board.check()
    assert board.check() is CheckOutcome.NOT_MODIFIED  # the server's 304
    with board.app.engine.begin() as conn:
        current = select(postings.c.current_snapshot_id).where(postings.c.role == "member")
        for snapshot_id, data in conn.execute(
            select(snapshots.c.id, snapshots.c.data).where(snapshots.c.id.in_(current))
        ):
            # The older reader read the title differently, too.
            older = {
                **data,
                "title": f"{data['title']} (old reading)",
                "provenance": {**data["provenance"], "reader": 1},
            }
            conn.execute(
                update(snapshots)
                .where(snapshots.c.id == snapshot_id)
                .values(data=older, content_hash=f"read by reader 1: {snapshot_id}")
            )
    assert board.check() is CheckOutcome.CHANGED  # read again in full: titles differ
    board_id = board.app.store.postings.get_posting(BOARD).id
    members = board.app.store.postings.members_of(board_id)
    assert {m.reader for m in members} == {READER_VERSION}
    assert not any("(old reading)" in m.title for m in members)  # stored as read now
    assert board.titles() == []  # a new reader's reading is never an alert
