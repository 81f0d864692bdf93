"""What the store keeps, as frozen values: watches, postings as a check needs them,
queued alerts and the processes that check (the pages' and the ``status`` and
``history`` commands' reads are ``monitor.store.readmodels``' rows).

Plain values over ``monitor.model``: the check, the notifier and the pages take and
return them without knowing how they are stored (``monitor.store`` maps rows to them
and back).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from monitor.model import READER_VERSION, Alert, BoardFilters, Posting, PostingStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchRecord:
    id: int
    url: str
    source_kind: str
    interval: timedelta
    channels: tuple[str, ...]
    origin: str
    created_at: datetime
    removed_at: datetime | None
    paused_at: datetime | None = None
    filters: BoardFilters | None = None
    """Set for board watches."""
    cron: str | None = None
    """A cron schedule, when the watch has one instead of an interval."""
    render: str = "plain"
    """plain, browser or auto (see monitor.net.browser)."""
    members: str = "full"
    """Boards: "full" reads each member's job detail where the list is thin; "list" not."""
    tags: tuple[str, ...] = ()
    """Words the user files it under (see ``watch_tags``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchSpec:
    """What a user asked to watch, before it has a row."""

    url: str
    source_kind: str
    source_id: str
    interval: timedelta
    channels: tuple[str, ...] = ()
    is_board: bool = False
    filters: BoardFilters = field(default_factory=BoardFilters)
    cron: str | None = None
    render: str = "plain"
    members: str = "full"
    tags: tuple[str, ...] = ()


MAX_TAGS = 20
_TAG = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")


def watch_tags(words: Iterable[str]) -> tuple[str, ...]:
    """Tags as stored: lower case, each once, in the order given. A tag is a letter or
    digit and up to 39 more letters, digits, '-', '_' or '.'; ValueError otherwise."""
    tags: list[str] = []
    for word in words:
        tag = word.strip().lower()
        if not _TAG.fullmatch(tag):
            raise ValueError(
                f"{word[:50]!r} is not a tag: a letter or digit, then up to 39 letters, "
                "digits, '-', '_' or '.'"
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return tuple(tags)


@dataclass(frozen=True, kw_only=True)
class PostingState:
    """A posting as the check needs it: identity, validators and the current version.

    The current version is read from its stored form on first use: most checks end
    in a 304 and never need it.
    """

    id: int
    watch_id: int
    source_kind: str
    source_id: str
    url: str
    title: str
    status: PostingStatus
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    current_data: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    consecutive_failures: int
    gone_count: int
    interval: timedelta
    channels: tuple[str, ...]
    next_check_at: datetime
    last_checked_at: datetime | None
    last_outcome: str | None
    last_error: str | None
    role: str = "single"
    watch_url: str = ""
    board_id: int | None = None
    cron: str | None = None
    """The watch's cron schedule; ``interval`` is then the typical gap between fires."""
    baselined_at: datetime | None = None
    filters: BoardFilters = field(default_factory=BoardFilters)
    suspect_hash: str | None = None
    suspect_count: int = 0
    created_at: datetime | None = None
    """When the posting was first seen."""
    last_changed_at: datetime | None = None
    """When a change was last found (a closed posting: when it closed)."""
    render: str = "plain"
    members: str = "full"
    """The watch's members setting (for a board: whether its members' details are read)."""
    board_marker: str | None = None
    """A member's board's suspect marker: a format break of its jobs' pages, say."""

    @property
    def reads_on_its_own(self) -> bool:
        """Fetched on its own schedule (a watched posting, a board, a member whose
        detail is read), not only through its board's list."""
        return self.role != "member"

    @property
    def reader(self) -> int:
        """The reader version of the current version (0: read before versions were kept)."""
        provenance = (self.current_data or {}).get("provenance") or {}
        return int(provenance.get("reader") or 0)

    @property
    def read_by_older_reader(self) -> bool:
        return bool(self.current_data) and self.reader < READER_VERSION

    @cached_property
    def current(self) -> Posting | None:
        return Posting.from_dict(dict(self.current_data)) if self.current_data else None


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonRecord:
    id: str
    host: str
    pid: int
    started_at: datetime
    beat_at: datetime
    stopped_at: datetime | None
    checks: int
    kind: str = "daemon"
    trouble: str | None = None
    """What the process said at its last beat is wrong with it (a stuck renderer)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneReport:
    check_log: int = 0
    alerts: int = 0
    daemons: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedAlert:
    id: int
    posting_id: int
    channel: str
    alert: Alert
    attempts: int
    status: str
    last_error: str | None
    created_at: datetime


__all__ = [
    "DaemonRecord",
    "PostingState",
    "PruneReport",
    "QueuedAlert",
    "WatchRecord",
    "WatchSpec",
]
