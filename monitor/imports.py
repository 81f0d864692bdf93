"""Reading a list of watches to import: one URL per line, or TOML/JSON with settings.

Pure: text in, entries out. Each entry says where in the file it came from, so a
refusal can name the line or item; what the entry leaves unset comes from the
command line's options.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from monitor.config import WatchConfig, describe_validation
from monitor.model import BoardFilters


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """One watch from the file; None: not set there (the command's option applies)."""

    where: str
    url: str
    interval: timedelta | None = None
    cron: str | None = None
    channels: tuple[str, ...] | None = None
    filters: BoardFilters | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    where: str
    what: str
    reason: str


Entry = WatchEntry | Refused
_ALLOWED = ("url", "interval", "cron", "channels", "filters")
_COMMENT = re.compile(r"\s#")


def read_watch_list(name: str, text: str) -> list[Entry]:
    """Entries of a watch list; the format follows the file name (``.toml``, ``.json``,
    anything else: one URL per line, ``#`` starts a comment). ValueError when a TOML or
    JSON file cannot be read at all."""
    lowered = name.lower()
    if lowered.endswith(".toml"):
        return _from_items(_toml_items(text), "watches[{}]")
    if lowered.endswith(".json"):
        return _from_items(_json_items(text), "[{}]")
    return _from_lines(text)


def _from_lines(text: str) -> list[Entry]:
    entries: list[Entry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        # "#" starts a comment at the start of a line or after a space; inside a URL it
        # is a fragment.
        line = _COMMENT.split(raw.strip(), maxsplit=1)[0].strip()
        if not line or line.startswith("#"):
            continue
        entries.append(_entry({"url": line}, f"line {number}"))
    return entries


def _toml_items(text: str) -> list[Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"watches"})
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}: write [[watches]] tables")
    items = data.get("watches", [])
    if not isinstance(items, list):
        raise ValueError("'watches' must be [[watches]] tables")
    return items


def _json_items(text: str) -> list[Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if isinstance(data, dict) and set(data) == {"watches"}:
        data = data["watches"]
    if not isinstance(data, list):
        raise ValueError('expected a list of watches (or {"watches": [...]})')
    return data


def _from_items(items: list[Any], where: str) -> list[Entry]:
    entries: list[Entry] = []
    for index, item in enumerate(items):
        place = where.format(index)
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, dict):
            entries.append(Refused(place, str(item)[:80], "expected a URL or a table with url"))
            continue
        entries.append(_entry(item, place))
    return entries


def _entry(item: dict[str, Any], where: str) -> Entry:
    what = str(item.get("url", ""))[:200]
    if "rules" in item:
        return Refused(where, what, "rules: routing rules are set in the configuration file")
    extra = sorted(set(item) - set(_ALLOWED))
    if extra:
        return Refused(where, what, f"{extra[0]}: unknown setting (known: {', '.join(_ALLOWED)})")
    if "url" not in item:
        return Refused(where, what, "url: missing")
    try:
        watch = WatchConfig.model_validate(item)
    except ValidationError as exc:
        return Refused(where, what, describe_validation(exc))
    given = watch.model_fields_set
    return WatchEntry(
        where=where,
        url=watch.url,
        # A cron schedule sets its own typical gap as the interval.
        interval=watch.interval if {"interval", "cron"} & given else None,
        cron=watch.cron,
        channels=watch.channels if "channels" in given else None,
        filters=BoardFilters(**watch.filters.model_dump()) if "filters" in given else None,
    )
