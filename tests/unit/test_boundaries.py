"""Each documented threshold at its exact boundary, and the behaviours a mutation review
found no test for (issue 16): the compared fields, the reword ratio, the suspect
threshold, the error and recovery notices."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.diff import compare
from monitor.core.suspect import richness, suspicion
from monitor.core.verdicts import monitor_notice
from monitor.model import (
    CheckOutcome,
    CheckResult,
    Posting,
    PostingStatus,
    RemoteKind,
    RemotePolicy,
    Requirements,
    Salary,
)
from monitor.records import PostingState

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _posting(**fields: object) -> Posting:
    base: dict[str, object] = {
        "source_kind": "html",
        "source_id": "x",
        "url": "https://example.com/x",
        "title": "Backend Engineer",
    }
    return Posting(**{**base, **fields})  # type: ignore[arg-type]


# -- what is compared ----------------------------------------------------------------


def test_a_company_change_is_reported() -> None:
    changes = compare(_posting(company="Acme"), _posting(company="Acme Robotics")).changes
    assert [(c.field, c.old, c.new) for c in changes] == [("company", "Acme", "Acme Robotics")]


def test_a_department_change_is_not_a_change() -> None:
    """Decided: boards regroup departments without editing a posting; people follow
    the job, not the org chart (department is shown, filtered by, never alerted on)."""
    assert not compare(_posting(department="Data"), _posting(department="Analytics"))


# -- the reword ratio (0.6) ----------------------------------------------------------


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()


def test_a_requirement_exactly_at_the_reword_ratio_is_reworded() -> None:
    old, new = "abcdefghij", "abcdefwxyz"
    assert _ratio(old, new) == pytest.approx(0.6)
    changes = compare(
        _posting(requirements=Requirements(minimum=(old,))),
        _posting(requirements=Requirements(minimum=(new,))),
    ).changes
    assert [c.kind.value for c in changes] == ["reworded"]


def test_a_requirement_just_under_the_reword_ratio_is_removed_and_added() -> None:
    old, new = "abcdefghij", "abcdevwxyz"
    assert _ratio(old, new) == pytest.approx(0.5)
    changes = compare(
        _posting(requirements=Requirements(minimum=(old,))),
        _posting(requirements=Requirements(minimum=(new,))),
    ).changes
    assert sorted(c.kind.value for c in changes) == ["added", "removed"]


# -- the suspect threshold: under half the fields ------------------------------------


RICH = _posting(
    company="Acme",
    department="Data",
    locations=("Berlin",),
    salaries=(Salary(min=None, max=None),),
    remote=RemotePolicy(kind=RemoteKind.HYBRID),
    requirements=Requirements(minimum=("SQL",)),
)


@pytest.mark.parametrize(
    ("kept", "suspect"),
    [
        pytest.param(
            {"company": "Acme", "department": "Data", "locations": ("Berlin",)},
            False,
            id="half kept",
        ),
        pytest.param({"company": "Acme", "department": "Data"}, True, id="one under half"),
    ],
)
def test_a_read_is_suspect_only_under_half_the_fields(
    kept: dict[str, object], suspect: bool
) -> None:
    assert richness(RICH) == 6
    thin = _posting(**kept)
    assert (suspicion(RICH, thin) is not None) is suspect


# -- error and recovery notices at exactly alerts.error_after ------------------------


def _state(failures: int) -> PostingState:
    return PostingState(
        id=1,
        watch_id=1,
        source_kind="html",
        source_id="x",
        url="https://example.com/x",
        title="Backend Engineer",
        status=PostingStatus.OPEN,
        etag=None,
        last_modified=None,
        body_hash=None,
        consecutive_failures=failures,
        gone_count=0,
        interval=timedelta(hours=1),
        channels=(),
        next_check_at=NOW,
        last_checked_at=NOW,
        last_outcome="error" if failures else "unchanged",
        last_error="HTTP 500" if failures else None,
    )


def _result(outcome: CheckOutcome, failures: int) -> CheckResult:
    return CheckResult(
        posting_id=1,
        outcome=outcome,
        checked_at=NOW,
        next_check_at=NOW + timedelta(hours=1),
        status=PostingStatus.OPEN,
        consecutive_failures=failures,
        error="HTTP 500" if outcome is CheckOutcome.ERROR else None,
    )


@pytest.mark.parametrize(("failures", "alerted"), [(2, False), (3, True), (4, False)])
def test_one_error_notice_when_the_streak_reaches_error_after(failures: int, alerted: bool) -> None:
    notice = monitor_notice(
        _state(failures - 1), _result(CheckOutcome.ERROR, failures), error_after=3
    )
    assert (notice is not None) is alerted


@pytest.mark.parametrize(("streak", "recovered"), [(2, False), (3, True), (7, True)])
def test_a_recovery_notice_only_after_a_streak_that_was_alerted(
    streak: int, recovered: bool
) -> None:
    notice = monitor_notice(_state(streak), _result(CheckOutcome.UNCHANGED, 0), error_after=3)
    assert (notice is not None) is recovered
