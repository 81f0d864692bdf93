"""What can be watched, and adding it: one watch (the CLI, the web form, the JSON
API), many from a file, and the configuration's own watches kept in step with it.

A watch is checked before it is stored: its URL can be fetched at all, its source
reads it, its channels exist, its filters and render setting fit what it is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.clock import Clock
from monitor.config import (
    FiltersConfig,
    MonitorConfig,
    WatchConfig,
    check_interval,
    parse_duration,
)
from monitor.errors import ConfigError, Conflict, MonitorError, ParseError, SourceError
from monitor.imports import Entry, Refused, WatchEntry
from monitor.model import BoardFilters
from monitor.net.browser import PageRenderer
from monitor.progress import NoProgress, Progress
from monitor.records import WatchRecord, WatchSpec, watch_tags
from monitor.sources import SourceRegistry
from monitor.sources.base import Source
from monitor.sources.page import WebPageSource
from monitor.store import Store
from monitor.urls import shown_url, url_problem
from monitor.version import __version__

IMPORT_CHUNK = 500
MAX_URL_CHARS = 8192  # longer is no job page, and would be shown on every listing


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchEdit:
    """What an edit sets, as the web form or the JSON API sent it; None keeps the
    watch's setting. ``cron = ""`` goes back to the interval."""

    interval: str | None = None
    cron: str | None = None
    channels: Sequence[str] | None = None
    filters: dict[str, Any] | None = None
    render: str | None = None
    source: str | None = None
    members: str | None = None
    tags: Sequence[str] | None = None


@dataclass(slots=True)
class ImportReport:
    """What ``watch import`` did with each entry."""

    added: list[WatchRecord] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(where in the file, URL) of entries already watched."""
    refused: list[Refused] = field(default_factory=list)


class Watches:
    """The watch use cases: each watch checked, then stored through the store's
    ``watches`` aggregate, called directly (not on the database thread)."""

    def __init__(
        self,
        config: MonitorConfig,
        sources: SourceRegistry,
        *,
        store: Store,
        browser: PageRenderer,
        clock: Clock,
    ) -> None:
        self.config = config
        self.sources = sources
        self.store = store
        self.browser = browser
        self.clock = clock

    def watch_spec(
        self,
        url: str,
        *,
        interval: timedelta,
        channels: Sequence[str] = (),
        filters: BoardFilters | None = None,
        cron: str | None = None,
        render: str = "plain",
        source_kind: str | None = None,
        members: str = "full",
        tags: Sequence[str] = (),
    ) -> WatchSpec:
        self._check_channels(channels)
        source = self._source_for(url, source_kind)
        is_board = source.is_board(url)
        if filters and filters != BoardFilters() and not is_board:
            raise ConfigError(
                f"filters only apply to boards, and {url} is one posting", source="filters"
            )
        if members not in ("full", "list"):
            raise ConfigError(f"members must be full or list, not {members!r}", source="members")
        if members != "full" and not is_board:
            raise ConfigError(
                f"members = {members!r} only applies to boards, and {url} is one posting",
                source="members",
            )
        if render != "plain" and not isinstance(source, WebPageSource):
            raise ConfigError(
                f"render = {render!r} is for web pages; {url} is read through the "
                f"{source.kind} API",
                source="render",
            )
        return WatchSpec(
            url=url,
            source_kind=source.kind,
            source_id=source.source_id(url),
            interval=interval,
            channels=tuple(channels),
            is_board=is_board,
            filters=filters or BoardFilters(),
            cron=cron,
            render=render,
            members=members,
            tags=_tags(tags),
        )

    def _source_for(self, url: str, kind: str | None) -> Source:
        """The source a watch is read with: the one named, else the URL's."""
        if not kind:
            return self.sources.detect(url)
        try:
            source = self.sources.get(kind)
        except SourceError as exc:
            raise ConfigError(str(exc), source="source") from exc
        try:
            source.source_id(url)
        except ParseError as exc:
            raise ConfigError(
                f"{shown_url(url)} is not a URL the {kind} source reads", source="source"
            ) from exc
        return source

    def add(
        self,
        url: str,
        *,
        interval: timedelta,
        channels: Sequence[str] = (),
        filters: BoardFilters | None = None,
        cron: str | None = None,
        render: str = "plain",
        source_kind: str | None = None,
        members: str = "full",
        tags: Sequence[str] = (),
    ) -> WatchRecord:
        if len(url) > MAX_URL_CHARS:
            raise ConfigError(f"longer than {MAX_URL_CHARS} characters", source="URL")
        problem = url_problem(url, self.config.http.networks())
        if problem is not None:
            raise ConfigError(f"{shown_url(url)} can never be fetched: {problem}", source="URL")
        if render != "plain":
            self.browser.ensure_available()
        spec = self.watch_spec(
            url,
            interval=interval,
            channels=channels,
            filters=filters,
            cron=cron,
            render=render,
            source_kind=source_kind,
            members=members,
            tags=tags,
        )
        return self.store.watches.add_watch(spec, origin="cli", now=self.clock.now())

    def add_from_text(
        self,
        *,
        url: str,
        interval: str,
        channels: list[str],
        filters: dict[str, Any] | None,
        render: str = "plain",
        source: str | None = None,
        members: str = "full",
        tags: Sequence[str] = (),
    ) -> int:
        """``add`` from what the web form or the JSON API sent (the interval and the
        filters as text); returns the new watch's id."""
        try:
            every = check_interval(parse_duration(interval))
        except ValueError as exc:
            raise ConfigError(f"interval: {exc}", source="interval") from exc
        board_filters = _board_filters(filters)
        record = self.add(
            url.strip(),
            interval=every,
            channels=channels,
            filters=board_filters,
            render=render,
            source_kind=source,
            members=members,
            tags=tags,
        )
        return record.id

    def edit(self, watch_id: int, edit: WatchEdit) -> WatchRecord:
        """Change a watch's settings, each checked as ``add`` checks it. The
        configuration's own watches are edited in the configuration (409 here)."""
        record = self.store.watches.get_watch(watch_id)
        if record.origin == "config":
            raise Conflict(
                f"watch {watch_id} comes from the configuration file: edit it there "
                "(a change made here would be undone at the next start)"
            )
        interval, cron = _schedule(edit, record, now=self.clock.now())
        render = edit.render or record.render
        if render != "plain" and render != record.render:
            self.browser.ensure_available()
        spec = self.watch_spec(
            record.url,
            interval=interval,
            cron=cron,
            channels=record.channels if edit.channels is None else edit.channels,
            filters=record.filters if edit.filters is None else _board_filters(edit.filters),
            render=render,
            source_kind=edit.source or record.source_kind,
            members=edit.members or record.members,
            tags=record.tags if edit.tags is None else edit.tags,
        )
        return self.store.watches.edit_watch(watch_id, spec, now=self.clock.now())

    def tag(self, watch_id: int, tag: str) -> WatchRecord:
        """Add one tag to a watch's (as an edit: refused for the configuration's)."""
        record = self.store.watches.get_watch(watch_id)
        return self.edit(watch_id, WatchEdit(tags=[*record.tags, tag]))

    def import_entries(
        self,
        entries: Sequence[Entry],
        *,
        interval: timedelta,
        cron: str | None = None,
        channels: Sequence[str] = (),
        filters: BoardFilters | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Add many watches at once. What an entry leaves unset comes from the options;
        the option filters apply to the boards among them. An entry that cannot be
        watched is refused with its reason; one already watched is skipped. Written in
        chunks, each one transaction, so an interruption keeps what was added."""
        progress = progress or NoProgress()
        report = ImportReport()
        progress.start(len(entries), what="importing")
        wanted: list[tuple[str, WatchSpec]] = []
        for entry in entries:
            refusal = entry if isinstance(entry, Refused) else None
            if isinstance(entry, WatchEntry):
                try:
                    wanted.append(
                        (entry.where, self._import_spec(entry, interval, cron, channels, filters))
                    )
                except MonitorError as exc:
                    refusal = Refused(entry.where, shown_url(entry.url), str(exc))
            if refusal is not None:
                report.refused.append(refusal)
                progress.advance(failed=1)
        try:
            for start in range(0, len(wanted), IMPORT_CHUNK):
                chunk = wanted[start : start + IMPORT_CHUNK]
                added, skipped = self.store.watches.add_watches(
                    [spec for _, spec in chunk], origin="cli", now=self.clock.now()
                )
                report.added.extend(added)
                skipped_ids = {id(spec) for spec in skipped}
                report.skipped.extend((w, s.url) for w, s in chunk if id(s) in skipped_ids)
                progress.advance(len(chunk))
        finally:
            progress.finish()
        return report

    def _import_spec(
        self,
        entry: WatchEntry,
        interval: timedelta,
        cron: str | None,
        channels: Sequence[str],
        filters: BoardFilters | None,
    ) -> WatchSpec:
        problem = url_problem(entry.url, self.config.http.networks())
        if problem is not None:
            raise ConfigError(f"can never be fetched: {problem}")
        if entry.interval is not None:  # the entry's own schedule (a cron sets both)
            interval, cron = entry.interval, entry.cron
        is_board = self.sources.detect(entry.url).is_board(entry.url)
        return self.watch_spec(
            entry.url,
            interval=interval,
            channels=channels if entry.channels is None else entry.channels,
            filters=entry.filters if entry.filters is not None else (filters if is_board else None),
            cron=cron,
        )

    def _check_channels(self, wanted: Sequence[str]) -> None:
        known = {c.name for c in self.config.channels} | {
            t for c in self.config.channels for t in c.tags
        }
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise ConfigError(
                f"no channel named or tagged {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                source="channels",
            )

    def sync_config(self) -> None:
        """Make the configuration's watches active, and those it no longer lists not."""
        if any(w.render != "plain" for w in self.config.watches):
            self.browser.ensure_available()
        digest = watches_digest(self.config.watches)
        # Every `check` starts here: a configuration synced before and no watch written
        # since costs one read, at 10,000 watches too.
        if self.store.watches.config_digest() == digest:
            return
        stored = {w.url: w for w in self.store.watches.list_watches(include_removed=True)}
        # A watch stored as configured needs no source detection (a tenth of a second
        # per thousand watches).
        specs = [
            self.watch_spec(
                w.url,
                interval=w.interval,
                channels=w.channels,
                filters=BoardFilters(**w.filters.model_dump()),
                cron=w.cron,
                render=w.render,
                source_kind=w.source,
                members=w.members,
                tags=w.tags,
            )
            for w in self.config.watches
            if not _stored_as_configured(stored.get(w.url), w)
        ]
        self.store.watches.sync_config_watches(
            specs,
            listed={w.url for w in self.config.watches},
            now=self.clock.now(),
            digest=digest,
        )


def _tags(words: Sequence[str]) -> tuple[str, ...]:
    try:
        return watch_tags(words)
    except ValueError as exc:
        raise ConfigError(f"tags: {exc}", source="tags") from exc


def _board_filters(filters: dict[str, Any] | None) -> BoardFilters | None:
    if not filters or not any(filters.values()):
        return None
    try:
        return BoardFilters(**FiltersConfig.model_validate(filters).model_dump())
    except ValueError as exc:
        raise ConfigError(f"filters: {exc}", source="filters") from exc


def _schedule(
    edit: WatchEdit, record: WatchRecord, *, now: datetime
) -> tuple[timedelta, str | None]:
    """The edited schedule: an interval, or a cron with its typical gap."""
    from monitor.core.schedule import normalized, typical_gap

    if edit.cron and edit.interval:
        raise ConfigError("set interval or cron, not both", source="cron")
    if edit.cron:
        try:
            cron = normalized(edit.cron)
            return typical_gap(cron, now), cron
        except ValueError as exc:
            raise ConfigError(f"cron: {exc}", source="cron") from exc
    if edit.interval:
        try:
            return check_interval(parse_duration(edit.interval)), None
        except ValueError as exc:
            raise ConfigError(f"interval: {exc}", source="interval") from exc
    return record.interval, (None if edit.cron == "" else record.cron)


def _stored_as_configured(record: WatchRecord | None, watch: WatchConfig) -> bool:
    if record is None or record.removed_at is not None or record.origin != "config":
        return False
    filters = BoardFilters(**watch.filters.model_dump())
    return (
        record.interval == watch.interval
        and record.cron == watch.cron
        and record.render == watch.render
        and record.members == watch.members
        and (watch.source is None or record.source_kind == watch.source)
        and record.channels == watch.channels
        and record.tags == watch.tags
        and (record.filters == filters if record.filters is not None else filters == BoardFilters())
    )


def watches_digest(configured: Sequence[WatchConfig]) -> str:
    """A digest of what the sync stores of the configuration's watches, and of the
    version that detected their sources (a new version may read a URL differently)."""
    entries = [
        [
            w.url,
            w.interval.total_seconds(),
            w.cron,
            list(w.channels),
            w.filters.model_dump(),
            w.render,
            w.source,
            w.members,
            list(w.tags),
        ]
        for w in configured
    ]
    text = json.dumps([__version__, entries], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
