"""Canonical form of a posting, so that noise never looks like change.

Whitespace is collapsed, unordered lists (locations, pay ranges, the remote policy's
rules) are sorted,
ordered lists (requirements) keep their order but lose duplicates, currency
codes are upper case and employment types read the same whatever the board.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from typing import TypeVar

from monitor.extract.remote_details import regions_of
from monitor.extract.text import collapse
from monitor.model import READER_VERSION, Posting, RemotePolicy, Requirements, Salary

T = TypeVar("T")


def normalize(posting: Posting) -> Posting:
    return replace(
        posting,
        title=collapse(posting.title),
        company=collapse(posting.company),
        department=collapse(posting.department),
        locations=tuple(sorted(_unique(collapse(loc) for loc in posting.locations))),
        salaries=tuple(sorted(_unique(map(_salary, posting.salaries)), key=_salary_order)),
        remote=_remote(posting.remote),
        requirements=Requirements(
            minimum=_unique(map(collapse, posting.requirements.minimum)),
            preferred=_unique(map(collapse, posting.requirements.preferred)),
        ),
        employment_type=_employment_type(posting.employment_type),
        provenance=replace(posting.provenance, reader=READER_VERSION),
    )


def _remote(policy: RemotePolicy) -> RemotePolicy:
    details = tuple(sorted(_unique(map(collapse, policy.details)), key=_rule_order))
    return RemotePolicy(kind=policy.kind, details=details, regions=regions_of(details))


def _rule_order(rule: str) -> tuple[bool, str]:
    """Where remote work is allowed first, then the other rules alphabetically."""
    return (not rule.startswith("remote within "), rule)


def _salary(salary: Salary) -> Salary:
    low, high = salary.min, salary.max
    if low is not None and high is not None and low > high:
        low, high = high, low
    return Salary(
        min=low.normalize() if low is not None else None,
        max=high.normalize() if high is not None else None,
        currency=salary.currency.upper() if salary.currency else None,
        period=salary.period,
        label=collapse(salary.label),
    )


def _salary_order(salary: Salary) -> tuple[str, str, str, Decimal, Decimal]:
    unknown = Decimal(-1)
    return (
        salary.label,
        salary.currency or "",
        salary.period.value if salary.period else "",
        unknown if salary.min is None else salary.min,
        unknown if salary.max is None else salary.max,
    )


def _employment_type(value: str | None) -> str | None:
    if not value:
        return None
    words = collapse(value.replace("_", " ").replace("-", " ")).lower()
    return words.replace("full time", "full-time").replace("part time", "part-time") or None


def _unique(items: Iterable[T]) -> tuple[T, ...]:
    seen: dict[T, None] = {}
    for item in items:
        if item:
            seen.setdefault(item, None)
    return tuple(seen)
