"""Exports for spreadsheets and scripts: postings, versions or changes as CSV or JSON
Lines, written row by row as the database streams them (constant memory at a million
rows). Pure: rows in, text out; the store streams them."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any, TextIO

from monitor.urls import shown_url

WHAT = ("postings", "versions", "changes")
# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV
# injection"); full-width forms too, which some spreadsheets fold to ASCII.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
FORMATS = ("csv", "jsonl")

_READ = (
    "title", "company", "status", "locations", "remote", "pay",
    "pay_min", "pay_max", "pay_currency", "pay_period",
)  # fmt: skip
COLUMNS: dict[str, tuple[str, ...]] = {
    "postings": (
        "posting_id", "url", "source_kind", "source_id", *_READ,
        "first_seen", "last_checked_at", "last_outcome",
    ),
    "versions": (
        "posting_id", "version", "captured_at", "url", *_READ,
        "requirements_minimum", "requirements_preferred",
    ),
    "changes": (
        "change_id", "posting_id", "url", "detected_at", "field", "kind", "old", "new",
        "summary", "percent", "old_pay_min", "old_pay_max", "new_pay_min", "new_pay_max",
        "pay_currency", "pay_period",
    ),
}  # fmt: skip


def read_columns(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The columns a person compares, from a stored version (``Posting.to_dict``):
    every pay range as text, and the first one's numbers for sorting and charts."""
    data = data or {}
    salaries = data.get("salaries") or []
    first = salaries[0] if salaries else {}
    requirements = data.get("requirements") or {}
    return {
        "title": data.get("title", ""),
        "company": data.get("company", ""),
        "status": data.get("status", ""),
        "locations": list(data.get("locations") or []),
        "remote": (data.get("remote") or {}).get("kind", ""),
        "pay": [_pay_text(s) for s in salaries],
        "pay_min": _number(first.get("min")),
        "pay_max": _number(first.get("max")),
        "pay_currency": first.get("currency"),
        "pay_period": first.get("period"),
        "requirements_minimum": list(requirements.get("minimum") or []),
        "requirements_preferred": list(requirements.get("preferred") or []),
    }


def change_pay_columns(
    percent: Any, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, Any]:
    """A pay change's numbers: its percent, and the first pay range before and after
    (the currency and period of the new one); empty for other changes."""
    old, new = read_columns(before) if before else {}, read_columns(after) if after else {}
    return {
        "percent": _number(percent),
        "old_pay_min": old.get("pay_min"),
        "old_pay_max": old.get("pay_max"),
        "new_pay_min": new.get("pay_min"),
        "new_pay_max": new.get("pay_max"),
        "pay_currency": new.get("pay_currency") or old.get("pay_currency"),
        "pay_period": new.get("pay_period") or old.get("pay_period"),
    }


def write_export(rows: Iterable[Mapping[str, Any]], what: str, fmt: str, out: TextIO) -> int:
    """Write ``rows`` (each holding at least ``COLUMNS[what]``) to ``out``; returns
    how many. CSV cells hold lists joined by "; "; JSON Lines keep lists, numbers and
    nulls, and a version's whole stored posting under ``data``."""
    count = -1 if fmt == "csv" else 0  # the CSV header is not a row
    for line in export_lines(rows, what, fmt):
        out.write(line)
        count += 1
    return max(count, 0)


def export_lines(rows: Iterable[Mapping[str, Any]], what: str, fmt: str) -> Iterator[str]:
    """The export one line at a time (a CSV header first), for streaming responses."""
    columns = COLUMNS[what]
    if fmt == "csv":
        buffer = io.StringIO()
        # CRLF rows (RFC 4180): a CR inside a cell is then quoted, not a broken row.
        writer = csv.writer(buffer, lineterminator="\r\n")
        cells_of = ([_cell(r.get(c)) for c in columns] for r in map(_masked, rows))
        for cells in itertools.chain([columns], cells_of):
            writer.writerow(cells)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        return
    keep = (*columns, "data") if what == "versions" else columns
    for row in map(_masked, rows):
        record = {c: _json_value(row.get(c)) for c in keep}
        yield json.dumps(record, ensure_ascii=False, default=str) + "\n"


def _pay_text(salary: Mapping[str, Any]) -> str:
    low, high = salary.get("min"), salary.get("max")
    amount = f"{low}–{high}" if low and high and low != high else str(low or high or "")
    unit = "/".join(p for p in (salary.get("currency"), salary.get("period")) if p)
    label = f" ({salary['label']})" if salary.get("label") else ""
    return f"{amount} {unit}".strip() + label


def _number(value: Any) -> float | int | None:
    if value in (None, ""):
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


def _masked(row: Mapping[str, Any]) -> Mapping[str, Any]:
    """The row with credentials in its URLs masked (``https://bob:***@host/``)."""
    if not isinstance(row.get("url"), str):
        return row
    masked = {**row, "url": shown_url(row["url"])}
    data = row.get("data")
    if isinstance(data, Mapping) and isinstance(data.get("url"), str):
        masked["data"] = {**data, "url": shown_url(data["url"])}
    return masked


def _cell(value: Any) -> str:
    """A CSV cell: numbers as numbers, text that a spreadsheet would run as a
    formula prefixed with ``'`` so it is shown as text."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return _inert("; ".join(str(v) for v in value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return _inert(str(value))


def _inert(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value
