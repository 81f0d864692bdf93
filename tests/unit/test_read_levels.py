"""Reads at two levels (monitor.core.levels), pure: a thin board's list never
overwrites what a job read found, a change of level is never a change, and a
member whose job is read on its own hears from the list only whether it is there."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from monitor.core.boards import same_job
from monitor.core.levels import at_list_level, level_changed, list_compares
from monitor.core.verdicts import judge as judge_posting
from monitor.model import DETAIL, LIST, CheckOutcome, Posting, PostingStatus, Requirements
from monitor.sources.base import FetchedPage, FetchResponse
from tests.unit.test_judge_board import BASE, NOW, PAY, job, judge, member

RICH = job("10", company="Acme", salaries=(PAY,))
THIN = at_list_level(replace(RICH, company="", salaries=(), requirements=Requirements()))


def _response() -> FetchResponse:
    page = FetchedPage(url="https://x", status=200, content_type="application/json", body=b"{}")
    return FetchResponse(page=page, not_modified=False, etag=None, last_modified=None, latency_ms=5)


def test_the_level_is_kept_in_the_stored_form_and_in_the_content_hash() -> None:
    assert RICH.provenance.level == DETAIL
    assert "level" not in RICH.to_dict().get("provenance", {})  # old versions hash the same
    assert Posting.from_dict(THIN.to_dict()).provenance.level == LIST
    listed_rich = at_list_level(RICH)
    assert listed_rich.content_hash() != RICH.content_hash()
    assert level_changed(RICH, listed_rich)
    assert not level_changed(RICH, RICH)


@pytest.mark.parametrize(
    ("role", "current", "listed", "compared"),
    [
        ("member", None, THIN, True),  # a first read
        ("member", THIN, THIN, True),  # list against list
        ("member", RICH, RICH, True),  # a full list (Greenhouse) against itself
        ("member", RICH, THIN, False),  # the list never overwrites a job read
        ("member", THIN, RICH, True),  # a richer read than the version
        ("detail", THIN, THIN, False),  # its job is read on its own
        ("single", RICH, RICH, False),  # a job watch reads it
    ],
)
def test_what_a_list_read_is_compared_with(
    role: str, current: Posting | None, listed: Posting, compared: bool
) -> None:
    state = member(2, current, role=role, source_id="10")
    assert list_compares(state, listed) is compared


def test_a_job_read_after_a_list_read_is_a_new_version_and_no_change() -> None:
    state = member(2, THIN, role="detail")
    result = judge_posting(state, RICH, now=NOW, response=_response(), body_hash="h")
    assert (result.outcome, result.changes, result.snapshot) == (
        CheckOutcome.UNCHANGED,
        (),
        RICH,
    )
    later = member(2, RICH, role="detail")
    raised = replace(RICH, salaries=(replace(PAY, max=PAY.max + 5000),))  # type: ignore[operator]
    changed = judge_posting(later, raised, now=NOW, response=_response(), body_hash="h")
    assert changed.outcome is CheckOutcome.CHANGED
    assert [c.field for c in changed.changes] == ["salary"]


def test_a_listed_member_read_on_its_own_gets_no_result_from_the_list() -> None:
    result = judge([member(2, RICH, role="detail")], [THIN])
    assert result.members == ()
    assert result.new_members == ()
    assert result.board.outcome is CheckOutcome.UNCHANGED


def test_the_list_never_empties_a_job_read_member_of_a_list_only_board() -> None:
    (written,) = judge([member(2, RICH)], [THIN]).members
    assert (written.outcome, written.snapshot, written.changes) == (
        CheckOutcome.UNCHANGED,
        None,
        (),
    )
    assert written.presence is False  # read through its board: its schedule is the board's


def test_a_member_read_on_its_own_missing_then_back_is_closed_and_reopened_by_the_list() -> None:
    state = member(2, RICH, role="detail")
    (missing,) = judge([state], []).members
    assert (missing.outcome, missing.gone_count, missing.presence) == (CheckOutcome.GONE, 1, True)
    assert missing.snapshot is None
    (closed,) = judge([replace(state, gone_count=1)], []).members
    assert (closed.outcome, closed.status, closed.presence) == (
        CheckOutcome.CLOSED,
        PostingStatus.CLOSED,
        True,
    )
    assert closed.snapshot == replace(RICH, status=PostingStatus.CLOSED)  # its fields kept
    shut = member(2, replace(RICH, status=PostingStatus.CLOSED), role="single")
    (back,) = judge([replace(shut, status=PostingStatus.CLOSED, gone_count=2)], [THIN]).members
    assert (back.status, back.gone_count, back.presence) == (PostingStatus.OPEN, 0, True)
    assert back.snapshot == RICH  # reopened with what its job read found, not the list
    assert [(c.field, c.kind.value) for c in back.changes] == [("status", "reopened")]
    (counted,) = judge([replace(state, gone_count=1)], [THIN]).members
    assert (counted.outcome, counted.gone_count, counted.presence) == (
        CheckOutcome.UNCHANGED,
        0,
        True,
    )


def test_a_repost_is_found_across_levels_by_title_and_place() -> None:
    assert same_job(RICH, replace(THIN, source_id="11"))
    assert not same_job(RICH, replace(THIN, source_id="11", title="Data Analyst"))


def test_a_list_read_is_what_the_board_gives_and_its_schedule_the_board_s() -> None:
    (baseline,) = judge([member(3, None, source_id="10")], [THIN]).members
    assert baseline.next_check_at == BASE.next_check_at == NOW + timedelta(hours=1)
    assert baseline.snapshot == THIN
    assert baseline.presence is False


def test_a_list_only_board_still_reports_a_retitled_member_read_from_its_job_before() -> None:
    renamed = replace(THIN, title="Senior Data Engineer")
    (result,) = judge([member(2, RICH)], [renamed]).members
    assert result.snapshot == replace(RICH, title="Senior Data Engineer")  # pay kept
    assert [(c.field, c.new) for c in result.changes] == [("title", "Senior Data Engineer")]
