"""judge_board, pure: what each member's result and each new posting's change says,
exactly (the board stories in tests/integration check the same through the store)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from monitor.core.boards import FieldLoss, field_loss, judge_board
from monitor.model import (
    BoardFilters,
    CheckOutcome,
    CheckResult,
    PayPeriod,
    Posting,
    PostingStatus,
    Requirements,
    Salary,
    Validators,
)
from monitor.records import PostingState

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=30)
BASE = CheckResult(
    posting_id=1,
    outcome=CheckOutcome.CHANGED,
    checked_at=NOW,
    next_check_at=NOW + timedelta(hours=1),
    status=PostingStatus.OPEN,
    http_status=200,
    latency_ms=120,
    validators=Validators(etag='"b1"', last_modified=None, body_hash="h"),
)
PAY = Salary(min=Decimal(70000), max=Decimal(80000), currency="EUR", period=PayPeriod.YEAR)


def job(
    source_id: str, title: str = "Data Engineer", places: tuple[str, ...] = ("Berlin",), **more: Any
) -> Posting:
    return Posting(
        source_kind="greenhouse",
        source_id=source_id,
        url=f"https://boards.greenhouse.io/acme/jobs/{source_id}",
        title=title,
        locations=places,
        requirements=Requirements(minimum=("Python", "SQL")),
        **more,
    )


def member(ident: int, posting: Posting | None, **state: Any) -> PostingState:
    values: dict[str, Any] = {
        "id": ident,
        "watch_id": 1,
        "source_kind": "greenhouse",
        "source_id": posting.source_id if posting else f"gone-{ident}",
        "url": posting.url if posting else "",
        "title": posting.title if posting else "",
        "status": PostingStatus.OPEN,
        "etag": None,
        "last_modified": None,
        "body_hash": None,
        "current_data": posting.to_dict() if posting else None,
        "consecutive_failures": 0,
        "gone_count": 0,
        "interval": timedelta(hours=1),
        "channels": (),
        "next_check_at": NOW,
        "last_checked_at": None,
        "last_outcome": None,
        "last_error": None,
        "role": "member",
        "board_id": 1,
        "created_at": NOW - timedelta(days=50),
        **state,
    }
    return PostingState(**values)


BOARD = member(1, None, role="board", board_id=None, baselined_at=NOW - timedelta(days=60))


def judge(
    members: list[PostingState], listed: list[Posting], board: PostingState = BOARD, **options: Any
) -> Any:
    settings: dict[str, Any] = {"close_after": 2, "repost_window": WINDOW, **options}
    return judge_board(board, members, listed, base=BASE, filters=BoardFilters(), **settings)


def shown(result: CheckResult) -> tuple[object, ...]:
    changes = [(c.field, c.kind.value, c.old, c.new, c.summary) for c in result.changes]
    return (
        result.posting_id, result.outcome, result.status, result.gone_count, result.quiet,
        result.validators, result.http_status, result.latency_ms, result.checked_at, changes,
    )  # fmt: skip


def test_listed_members_are_judged_on_the_board_s_result_without_its_validators() -> None:
    same, renamed = job("10"), job("11", title="Analyst")
    first_read = member(3, None, source_id="12")
    listed = [same, replace(renamed, title="Senior Analyst"), job("12")]
    result = judge([member(2, same), member(4, renamed), first_read], listed, quiet=True)
    assert result.board.outcome is CheckOutcome.CHANGED
    assert result.board.validators == BASE.validators  # the board keeps its own
    unchanged, changed, baseline = (shown(r) for r in result.members)
    assert unchanged == (2, CheckOutcome.UNCHANGED, PostingStatus.OPEN, 0, False,
                         None, None, None, NOW, [])  # fmt: skip
    assert changed == (
        4, CheckOutcome.CHANGED, PostingStatus.OPEN, 0, True, None, None, None, NOW,
        [("title", "changed", "Analyst", "Senior Analyst", "title changed: Analyst → Senior Analyst")],
    )  # fmt: skip
    assert baseline[:3] == (3, CheckOutcome.BASELINE, PostingStatus.OPEN)
    assert [r.snapshot for r in result.members] == listed
    loud = judge([member(4, renamed)], [replace(renamed, title="Senior Analyst")])
    assert loud.members[0].quiet is False


def test_a_new_posting_is_announced_except_on_the_first_read() -> None:
    new = job("20", places=("Berlin", "Remote"))
    (announced,) = judge([], [new]).new_members
    assert announced.posting == new
    assert [(c.field, c.kind.value, c.old, c.new, c.summary) for c in announced.changes] == [
        ("status", "new", None, "open", "new posting: Data Engineer (Berlin; Remote)")
    ]
    nowhere = judge([], [job("21", places=())]).new_members[0]
    assert nowhere.changes[0].summary == "new posting: Data Engineer"
    first = judge([], [new], board=replace(BOARD, baselined_at=None))
    assert first.board.outcome is CheckOutcome.BASELINE
    assert first.new_members[0].changes == ()
    assert judge([], []).board.outcome is CheckOutcome.UNCHANGED


def test_a_member_missing_counts_up_then_closes() -> None:
    listed = job("30")
    once = judge([member(5, listed)], [])
    assert shown(once.members[0])[:5] == (5, CheckOutcome.GONE, PostingStatus.OPEN, 1, False)
    twice = judge([member(5, listed, gone_count=1)], [])
    (closed,) = twice.members
    assert shown(closed)[:4] == (5, CheckOutcome.CLOSED, PostingStatus.CLOSED, 2)
    assert closed.snapshot == replace(listed, status=PostingStatus.CLOSED)
    assert [(c.field, c.old, c.new) for c in closed.changes] == [("status", "open", "closed")]
    assert judge([member(5, listed, status=PostingStatus.CLOSED)], []).members == ()


def test_a_repost_tells_the_story_and_closes_the_old_one_quietly() -> None:
    old = job("40", salaries=(PAY,))
    still_open = member(6, old, gone_count=0, created_at=NOW - timedelta(days=41))
    repost = job("41", title="data  ENGINEER")
    result = judge([still_open], [repost])
    (new,) = result.new_members
    assert new.reposted_from == 6
    assert [(c.field, c.kind.value, c.old, c.new) for c in new.changes] == [
        ("status", "reposted", "closed", "open")
    ]
    assert new.changes[0].summary == (
        "reposted: data  ENGINEER (Berlin); first posted 2026-10-20, open 41 days before it "
        "closed; pay then 70,000–80,000 EUR/yr, now not stated"
    )
    (closed,) = result.members
    assert shown(closed) == (
        6, CheckOutcome.CLOSED, PostingStatus.CLOSED, 1, True, None, None, None, NOW,
        [("status", "closed", "open", "closed", "posting closed: reposted as a new posting")],
    )  # fmt: skip
    assert closed.snapshot == replace(old, status=PostingStatus.CLOSED)


@pytest.mark.parametrize(
    ("closed_ago", "reposted"),
    [(timedelta(days=30), True), (timedelta(days=30, seconds=1), False)],
    ids=["closed exactly the window ago", "a second longer"],
)
def test_the_repost_window_is_inclusive(closed_ago: timedelta, reposted: bool) -> None:
    closed = member(
        7,
        job("50"),
        status=PostingStatus.CLOSED,
        last_changed_at=NOW - closed_ago,
        created_at=NOW - closed_ago - timedelta(days=1),
    )
    (new,) = judge([closed], [job("51")]).new_members
    assert (new.reposted_from == 7) is reposted
    if reposted:
        assert "first posted 2026-10-30, open 1 day before it closed" in new.changes[0].summary
    assert (
        judge([closed], [job("51")], repost_window=timedelta(0)).new_members[0].reposted_from
        is None
    )


def test_one_closed_posting_is_reposted_once() -> None:
    closed = member(8, job("60"), status=PostingStatus.CLOSED, last_changed_at=NOW)
    first, second = judge([closed], [job("61"), job("62")]).new_members
    assert (first.reposted_from, second.reposted_from) == (8, None)
    assert second.changes[0].kind.value == "new"


def test_the_field_most_postings_lost_is_the_one_reported() -> None:
    before = {str(i): job(str(i), salaries=(PAY,)) for i in range(6)}
    # Pay gone from four of six, places from all six: the places are reported.
    after = [job(str(i), places=(), salaries=(PAY,) if i >= 4 else ()) for i in range(6)]
    assert field_loss(before, after) == FieldLoss("locations", 6, 6)
    assert field_loss(before, [job(str(i), salaries=(PAY,)) for i in range(6)]) is None


def test_a_repost_in_the_same_read_needs_a_window_and_counts_to_today() -> None:
    old = job("70", places=("Berlin", "Remote"))
    # Still open, changed five days ago, missing from this read: open 41 days until now.
    missing = member(
        9, old, created_at=NOW - timedelta(days=41), last_changed_at=NOW - timedelta(days=5)
    )
    (new,) = judge([missing], [job("71", places=("Berlin", "Remote"))]).new_members
    assert new.changes[0].summary.startswith(
        "reposted: Data Engineer (Berlin; Remote); first posted 2026-10-20, open 41 days"
    )
    nowhere = judge([member(9, job("72", places=()))], [job("73", places=())]).new_members[0]
    assert nowhere.changes[0].summary.startswith("reposted: Data Engineer; first posted")
    # No window: never a repost, not even from this very read.
    assert (
        judge([missing], [job("71", places=("Berlin", "Remote"))], repost_window=timedelta(0))
        .new_members[0]
        .reposted_from
        is None
    )
    # An hour's window still takes a repost from this very read.
    hourly = judge(
        [missing], [job("71", places=("Berlin", "Remote"))], repost_window=timedelta(hours=1)
    )
    assert hourly.new_members[0].reposted_from == 9
