"""Routing: which changes alert, and on which channels. Pure.

A rule selects changes by kind of field, pay threshold and direction, and
keywords on the posting, and names channels. Every channel gets one message with
the changes that matched any rule naming it. A change no rule matches is stored
but not sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import get_args

from monitor.config import AlertField
from monitor.model import ChangeKind, FieldChange, Posting

ALL_FIELDS: frozenset[str] = frozenset(get_args(AlertField))
"""Every name a rule's ``fields`` may hold (the configuration's ``AlertField``)."""
_STATUS_FIELDS = {
    ChangeKind.NEW: "new",
    ChangeKind.CLOSED: "closed",
    ChangeKind.REOPENED: "reopened",
    ChangeKind.REPOSTED: "reposted",
}
_FIELD_NAMES = {
    "requirements.minimum": "requirements",
    "requirements.preferred": "requirements",
    "locations": "location",
    "monitor": "error",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    channels: tuple[str, ...]
    """Channel names (already resolved from names and tags)."""
    name: str = ""
    fields: frozenset[str] = frozenset()
    salary_min_change_percent: Decimal = Decimal(0)
    salary_direction: str = "any"
    keywords: tuple[str, ...] = ()

    def matches(self, posting: Posting, change: FieldChange) -> bool:
        if self.fields and rule_field(change) not in self.fields:
            return False
        if self.keywords and not _mentions(posting, self.keywords):
            return False
        return change.field != "salary" or self._pay_matches(change)

    def _pay_matches(self, change: FieldChange) -> bool:
        if change.percent is not None and abs(change.percent) < self.salary_min_change_percent:
            return False
        wanted = {"increase": "up", "decrease": "down"}.get(self.salary_direction)
        return wanted is None or change.direction == wanted


def rule_field(change: FieldChange) -> str:
    """The name rules use for what a change is about."""
    if change.field == "status":
        return _STATUS_FIELDS.get(change.kind, "closed")
    return _FIELD_NAMES.get(change.field, change.field)


def route(
    posting: Posting, changes: Sequence[FieldChange], rules: Iterable[Rule]
) -> dict[str, tuple[FieldChange, ...]]:
    """Channel name -> the changes it should hear about, in the changes' order."""
    wanted: dict[str, set[int]] = {}
    for rule in rules:
        picked = {i for i, change in enumerate(changes) if rule.matches(posting, change)}
        if picked:
            for channel in rule.channels:
                wanted.setdefault(channel, set()).update(picked)
    return {
        channel: tuple(changes[i] for i in sorted(indexes)) for channel, indexes in wanted.items()
    }


def _mentions(posting: Posting, keywords: tuple[str, ...]) -> bool:
    haystack = " | ".join((posting.title, posting.company, posting.department)).lower()
    return any(keyword.lower() in haystack for keyword in keywords)
