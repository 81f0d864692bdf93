from __future__ import annotations

from typing import Any

import pytest

from monitor.core.diff import compare
from monitor.core.normalize import normalize
from monitor.model import FieldChange, Posting
from tests.unit.test_extract_cases import load_cases

BASE: dict[str, Any] = {
    "source_kind": "html",
    "source_id": "https://jobs.example.com/1",
    "url": "https://jobs.example.com/1",
    "title": "Backend Engineer",
    "company": "Example",
}


def posting(overrides: dict[str, Any]) -> Posting:
    return normalize(Posting.from_dict({**BASE, **overrides}))


@pytest.mark.parametrize("case", load_cases("diff.yaml"))
def test_diff_case(case: dict[str, Any]) -> None:
    changes = compare(posting(case["before"]), posting(case["after"])).changes
    assert [[c.field, c.kind.value, c.summary] for c in changes] == case["expected"]
    assert [v for c in changes for v in values_of(c)] == case.get("values", [])


def values_of(change: FieldChange) -> list[list[str | None]]:
    percent = None if change.percent is None else str(change.percent)
    return [[change.old, change.new, percent, change.direction]]


def test_identical_postings_have_no_changes() -> None:
    same = posting({"salaries": [{"min": "1", "max": "2", "currency": "USD", "period": "year"}]})
    assert not compare(same, same)


def test_changes_keep_old_and_new_values() -> None:
    before = posting({"remote": {"kind": "hybrid", "details": ["in office 2 days a week"]}})
    after = posting({"remote": {"kind": "remote"}})
    (change,) = compare(before, after).changes
    assert (change.old, change.new) == ("hybrid (in office 2 days a week)", "remote")


def test_remote_rules_stored_in_another_order_are_no_change() -> None:
    """A version stored before the rules were sorted compares by its rules, not their order."""
    rules = ["remote within United States", "travel up to 25%"]
    old = Posting.from_dict({**BASE, "remote": {"kind": "remote", "details": rules}})
    new = Posting.from_dict({**BASE, "remote": {"kind": "remote", "details": rules[::-1]}})
    assert not compare(old, new)
