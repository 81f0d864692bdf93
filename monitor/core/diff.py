"""Field-aware comparison of two versions of a posting.

The only module that imports DeepDiff; its objects never leave here. DeepDiff
finds which fields differ (and which list items came and went); the functions
below turn that into the sentences a person would write.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from monitor.model import (
    ChangeKind,
    ChangeSet,
    FieldChange,
    PayPeriod,
    Posting,
    PostingStatus,
    RemoteKind,
    RemotePolicy,
    Salary,
)

# Fields compared, in the order a person cares about them. posted_at / updated_at
# are left out: boards bump them without editing the posting.
COMPARED_FIELDS = (
    "status",
    "salaries",
    "remote",
    "requirements",
    "title",
    "company",
    "locations",
    "employment_type",
)
_REWORD_RATIO = 0.6
_PERIOD_ABBREVIATIONS = {
    PayPeriod.HOUR: "hr",
    PayPeriod.DAY: "day",
    PayPeriod.WEEK: "wk",
    PayPeriod.MONTH: "mo",
    PayPeriod.YEAR: "yr",
}


def compare(before: Posting, after: Posting) -> ChangeSet:
    """Every change a person would mention between ``before`` and ``after``."""
    old, new = _comparable(before), _comparable(after)
    changed = _changed_fields(old, new)
    changes: list[FieldChange] = []
    for name in COMPARED_FIELDS:
        if name in changed:
            changes.extend(_DESCRIBERS[name](before, after))
    return ChangeSet(before=before, after=after, changes=tuple(changes))


def _comparable(posting: Posting) -> dict[str, Any]:
    data = posting.to_dict()
    compared = {name: data[name] for name in COMPARED_FIELDS}
    # The remote policy's rules are a set: sentences that swap places change nothing.
    remote = compared["remote"]
    compared["remote"] = {
        **remote,
        "details": sorted(remote["details"]),
        "regions": sorted(remote.get("regions", ())),
    }
    return compared


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    from deepdiff import DeepDiff  # on first use: `status` never needs it

    delta = DeepDiff(old, new, view="tree", exclude_regex_paths=[r"root\['locations'\]\[\d+\]"])
    fields = {level.path(output_format="list")[0] for report in delta.values() for level in report}
    if sorted(old["locations"]) != sorted(new["locations"]):
        fields.add("locations")
    return {str(f) for f in fields}


def _list_delta(old: Sequence[str], new: Sequence[str]) -> tuple[list[str], list[str]]:
    """Items removed from and added to a list, ignoring moves."""
    from deepdiff import DeepDiff  # on first use: `status` never needs it

    delta = DeepDiff(list(old), list(new), ignore_order=True, view="tree")
    removed = [level.t1 for level in delta.get("iterable_item_removed", [])]
    added = [level.t2 for level in delta.get("iterable_item_added", [])]
    for level in delta.get("values_changed", []):
        removed.append(level.t1)
        added.append(level.t2)
    return _in_order(removed, old), _in_order(added, new)


def _in_order(items: list[str], reference: Sequence[str]) -> list[str]:
    return sorted(items, key=lambda item: reference.index(item) if item in reference else 0)


# -- describers: one per field, each returns the FieldChanges for that field ----------


def _describe_status(before: Posting, after: Posting) -> list[FieldChange]:
    closed = after.status is PostingStatus.CLOSED
    return [
        FieldChange(
            field="status",
            kind=ChangeKind.CLOSED if closed else ChangeKind.REOPENED,
            old=before.status.value,
            new=after.status.value,
            summary="posting closed" if closed else "posting reopened",
        )
    ]


def _describe_salaries(before: Posting, after: Posting) -> list[FieldChange]:
    pairs, removed, added = _pair_salaries(before.salaries, after.salaries)
    changes = [_salary_changed(old, new) for old, new in pairs if old != new]
    changes += [_salary_event(ChangeKind.REMOVED, s) for s in removed]
    changes += [_salary_event(ChangeKind.ADDED, s) for s in added]
    return changes


def _pair_salaries(
    old: Sequence[Salary], new: Sequence[Salary]
) -> tuple[list[tuple[Salary, Salary]], list[Salary], list[Salary]]:
    """Match ranges for the same label, currency and period; one range each always pairs."""
    if len(old) == 1 and len(new) == 1:
        return [(old[0], new[0])], [], []
    remaining = list(new)
    pairs: list[tuple[Salary, Salary]] = []
    removed: list[Salary] = []
    for salary in old:
        match = next((s for s in remaining if _salary_key(s) == _salary_key(salary)), None)
        if match is None:
            removed.append(salary)
            continue
        remaining.remove(match)
        pairs.append((salary, match))
    return pairs, removed, remaining


def _salary_key(salary: Salary) -> tuple[str, str | None, PayPeriod | None]:
    return (salary.label, salary.currency, salary.period)


def _salary_changed(old: Salary, new: Salary) -> FieldChange:
    if old.period and new.period and old.period != new.period:
        return _pay_period_changed(old, new)
    single = _is_single(old) and _is_single(new)
    pairs = [(old.max, new.max)] if single else [(old.min, new.min), (old.max, new.max)]
    # Amounts in different currencies are not comparable: no percentage.
    same_currency = old.currency == new.currency
    ratios = [r for a, b in pairs if same_currency and (r := _ratio(a, b)) is not None]
    name = _pay_name(old) if single else _salary_name(old)
    summary = f"{name} {format_salary(old)} → {format_salary(new, like=old)}"
    if ratios:
        summary += f" ({' / '.join(f'{r:+.1f}%' for r in ratios)})"
    elif not same_currency:
        summary += " (currency changed)"
    return _pay_change(old, new, summary, ratios)


def _pay_period_changed(old: Salary, new: Salary) -> FieldChange:
    """'55 USD/hr → 9,000 USD/mo' is a new pay period; compare only annualised figures."""
    summary = f"{_pay_name(old, 'pay period changed')}: {format_salary(old)} → {format_salary(new)}"
    yearly_old, yearly_new = _annualised(old), _annualised(new)
    ratios: list[Decimal] = []
    if old.currency == new.currency:
        pairs = [(yearly_old.max, yearly_new.max)]
        if not (_is_single(old) and _is_single(new)):
            pairs.insert(0, (yearly_old.min, yearly_new.min))
        ratios = [r for a, b in pairs if (r := _ratio(a, b)) is not None]
        annual = (
            f"annualised {format_salary(yearly_old)} → {format_salary(yearly_new, like=yearly_old)}"
        )
        summary += f" ({annual}{''.join(f', {r:+.1f}%' for r in ratios)})"
    return _pay_change(old, new, summary, ratios)


def _pay_change(old: Salary, new: Salary, summary: str, ratios: list[Decimal]) -> FieldChange:
    return FieldChange(
        field="salary",
        kind=ChangeKind.CHANGED,
        old=format_salary(old),
        new=format_salary(new),
        summary=summary,
        percent=max(ratios, key=abs) if ratios else None,
        direction=_direction(ratios),
    )


def _direction(ratios: list[Decimal]) -> str:
    if not ratios:
        return ""
    if all(r >= 0 for r in ratios):
        return "up"
    if all(r <= 0 for r in ratios):
        return "down"
    return "mixed"


def _salary_event(kind: ChangeKind, salary: Salary) -> FieldChange:
    return FieldChange(
        field="salary",
        kind=kind,
        old=format_salary(salary) if kind is ChangeKind.REMOVED else None,
        new=format_salary(salary) if kind is ChangeKind.ADDED else None,
        summary=f"{_salary_name(salary)} {kind.value}: {format_salary(salary)}",
        direction="down" if kind is ChangeKind.REMOVED else "up",
    )


def _salary_name(salary: Salary) -> str:
    return f"salary range ({salary.label})" if salary.label else "salary range"


def _pay_name(salary: Salary, name: str = "pay") -> str:
    return f"{name} ({salary.label})" if salary.label else name


def _is_single(salary: Salary) -> bool:
    return salary.min is not None and salary.min == salary.max


# Full-time hours in a year, the usual convention for annualising pay.
_PER_YEAR = {
    PayPeriod.HOUR: Decimal(2080),
    PayPeriod.DAY: Decimal(260),
    PayPeriod.WEEK: Decimal(52),
    PayPeriod.MONTH: Decimal(12),
    PayPeriod.YEAR: Decimal(1),
}


def _annualised(salary: Salary) -> Salary:
    factor = _PER_YEAR[salary.period] if salary.period else Decimal(1)
    return Salary(
        min=None if salary.min is None else salary.min * factor,
        max=None if salary.max is None else salary.max * factor,
        currency=salary.currency,
        period=PayPeriod.YEAR,
        label=salary.label,
    )


def format_salary(salary: Salary, *, like: Salary | None = None) -> str:
    """'155,700–285,600 USD/yr'; with ``like``, units equal to it are not repeated."""
    low, high = _money(salary.min), _money(salary.max)
    if salary.min is None:
        amount = f"up to {high}"
    elif salary.max is None:
        amount = f"from {low}"
    else:
        amount = low if salary.min == salary.max else f"{low}–{high}"
    if like is not None and (like.currency, like.period) == (salary.currency, salary.period):
        return amount
    unit = salary.currency or ""
    if salary.period is not None:
        unit += f"/{_PERIOD_ABBREVIATIONS[salary.period]}"
    return f"{amount} {unit}".strip()


def _money(value: Decimal | None) -> str:
    if value is None:
        return ""
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _ratio(old: Decimal | None, new: Decimal | None) -> Decimal | None:
    """Percent change from old to new, rounded to 0.1; None where it has no meaning."""
    if old is None or new is None or old == 0 or old == new:
        return None
    return ((new - old) / old * 100).quantize(Decimal("0.1"))


def _describe_remote(before: Posting, after: Posting) -> list[FieldChange]:
    """'remote policy hybrid → remote', or where only the rules moved, both sides:
    'remote policy remote (United States) → remote (time zones: United States, Canada;
    office optional)'."""
    old, new = before.remote, after.remote
    if old.kind != new.kind:
        summary = f"remote policy {old.kind.value} → {new.kind.value}"
        if new.details:
            summary += f": {'; '.join(new.details)}"
    else:
        summary = f"remote policy {_short_remote(old)} → {_short_remote(new)}"
    return [
        FieldChange(
            field="remote",
            kind=ChangeKind.CHANGED,
            old=_format_remote(old),
            new=_format_remote(new),
            summary=summary,
        )
    ]


def format_remote(policy: RemotePolicy) -> str:
    """'remote (remote within United States; travel up to 10%)'."""
    return _format_remote(policy)


def _format_remote(policy: RemotePolicy) -> str:
    return (
        f"{policy.kind.value} ({'; '.join(policy.details)})"
        if policy.details
        else policy.kind.value
    )


def _short_remote(policy: RemotePolicy) -> str:
    """The policy as a summary names it: "remote within" goes without saying for remote."""
    if policy.kind is not RemoteKind.REMOTE:
        return _format_remote(policy)
    details = [d.removeprefix("remote within ") for d in policy.details]
    return f"remote ({'; '.join(details)})" if details else "remote"


def _describe_requirements(before: Posting, after: Posting) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for section in ("minimum", "preferred"):
        old = getattr(before.requirements, section)
        new = getattr(after.requirements, section)
        if old != new:
            changes.extend(_list_changes(f"requirements.{section}", _REQ_NOUNS[section], old, new))
    return changes


_REQ_NOUNS = {"minimum": "requirement", "preferred": "preferred qualification"}


def _list_changes(
    field: str, noun: str, old: Sequence[str], new: Sequence[str]
) -> list[FieldChange]:
    removed, added = _list_delta(old, new)
    changes: list[FieldChange] = []
    for before_text, after_text in _rewordings(removed, added):
        removed.remove(before_text)
        added.remove(after_text)
        changes.append(
            FieldChange(
                field=field,
                kind=ChangeKind.REWORDED,
                old=before_text,
                new=after_text,
                summary=f"{noun} reworded: {before_text} → {after_text}",
            )
        )
    changes += [
        FieldChange(
            field=field,
            kind=ChangeKind.REMOVED,
            old=item,
            new=None,
            summary=f"{noun} removed: {item}",
        )
        for item in removed
    ]
    changes += [
        FieldChange(
            field=field, kind=ChangeKind.ADDED, old=None, new=item, summary=f"{noun} added: {item}"
        )
        for item in added
    ]
    return changes


def _rewordings(removed: list[str], added: list[str]) -> list[tuple[str, str]]:
    """Pairs (old, new) similar enough to be the same item reworded, best first."""
    scored = sorted(
        (
            (difflib.SequenceMatcher(None, old.lower(), new.lower()).ratio(), old, new)
            for old in removed
            for new in added
        ),
        reverse=True,
    )
    pairs: list[tuple[str, str]] = []
    for ratio, old, new in scored:
        if ratio < _REWORD_RATIO:
            break
        if _names_other_things(old, new):
            continue
        if all(old != p[0] and new != p[1] for p in pairs):
            pairs.append((old, new))
    return pairs


_TOKEN = re.compile(r"[\w+#.]*\w[+#]*")


def _names_other_things(old: str, new: str) -> bool:
    """ "Familiarity with AWS" and "Familiarity with GCP" look alike but ask for different
    things: words that differ and name something (a capitalised term after the first
    word, C++, C#) make two requirements, not one reworded. A changed number ("3+ years"
    to "5+ years") is the same requirement, reworded."""
    old_words, new_words = _TOKEN.findall(old), _TOKEN.findall(new)
    differing = set(old_words[1:]) ^ set(new_words[1:])
    return any(_is_a_name(word) for word in differing)


def _is_a_name(word: str) -> bool:
    has_letter = any(c.isalpha() for c in word)
    return any(c.isupper() for c in word) or (has_letter and any(c in "+#" for c in word))


def _describe_text_field(
    name: str, label: str, before: Posting, after: Posting
) -> list[FieldChange]:
    old, new = getattr(before, name) or None, getattr(after, name) or None
    return [
        FieldChange(
            field=name,
            kind=ChangeKind.CHANGED,
            old=old,
            new=new,
            summary=f"{label} changed: {old or '(none)'} → {new or '(none)'}",
        )
    ]


def _describe_locations(before: Posting, after: Posting) -> list[FieldChange]:
    return _list_changes("locations", "location", before.locations, after.locations)


_DESCRIBERS: dict[str, Callable[[Posting, Posting], list[FieldChange]]] = {
    "status": _describe_status,
    "salaries": _describe_salaries,
    "remote": _describe_remote,
    "requirements": _describe_requirements,
    "title": functools.partial(_describe_text_field, "title", "title"),
    "company": functools.partial(_describe_text_field, "company", "company"),
    "locations": _describe_locations,
    "employment_type": functools.partial(
        _describe_text_field, "employment_type", "employment type"
    ),
}
