"""Jinja2 filters for the dashboard's templates: times, pay and remote policy as a
person reads them, and a pay change's percent (shown by the pages, served by the API)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from monitor.core.diff import format_salary
from monitor.model import Posting, Salary
from monitor.store.readmodels import ChangeRow


def when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d")


def pay(salaries: Sequence[Salary] | None) -> str:
    if not salaries:
        return "—"
    shown = [f"{format_salary(s)}{f' ({s.label})' if s.label else ''}" for s in list(salaries)[:2]]
    more = f" +{len(salaries) - 2} more" if len(salaries) > 2 else ""
    return "; ".join(shown) + more


def remote(posting: Posting | None) -> str:
    if posting is None:
        return "—"
    return posting.remote.kind.value


def duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def change_percent(row: ChangeRow) -> float | None:
    """A pay change's move as stored with it: the larger of min and max, signed."""
    return None if row.percent is None else float(row.percent)


FILTERS: dict[str, Any] = {
    "when": when,
    "day": day,
    "pay": pay,
    "remote": remote,
    "duration": duration,
}
