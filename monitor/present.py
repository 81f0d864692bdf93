"""Plain-text views of domain values for the CLI. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.core.diff import format_salary
from monitor.model import Posting, Salary


def posting_lines(posting: Posting) -> list[str]:
    """What a person wants to see of a posting, one line per field."""
    lines = [
        f"title:        {posting.title}",
        f"company:      {posting.company or '-'}",
        f"department:   {posting.department or '-'}",
        f"locations:    {'; '.join(posting.locations) or '-'}",
        f"salary:       {'; '.join(_salary(s) for s in posting.salaries) or '-'}",
        f"remote:       {posting.remote.kind.value}"
        + (f" ({'; '.join(posting.remote.details)})" if posting.remote.details else ""),
        f"employment:   {posting.employment_type or '-'}",
        f"status:       {posting.status.value}",
    ]
    lines += _list("requirements", posting.requirements.minimum)
    lines += _list("preferred", posting.requirements.preferred)
    return lines


def provenance_lines(posting: Posting) -> list[str]:
    """Where each field was read, and where a structured value and the text disagreed."""
    provenance = posting.provenance
    lines = [f"read from:    {name}: {source}" for name, source in provenance.sources]
    lines += [f"disagreement: {note}" for note in provenance.disagreements]
    return lines


def _salary(salary: Salary) -> str:
    text = format_salary(salary)
    return f"{salary.label}: {text}" if salary.label else text


def _list(name: str, items: tuple[str, ...]) -> list[str]:
    if not items:
        return [f"{name + ':':<14}-"]
    return [f"{name + ':':<14}{len(items)}"] + [f"  - {item}" for item in items]


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """'1 posting', '3 postings', '0 alerts'."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"
