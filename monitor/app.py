"""The application: owns the engine, store, HTTP client and notifier, and
offers the operations the CLI and the daemon are made of.

Database calls run on the store's one dedicated thread (``store.run``), so the event
loop never blocks on them and SQLite sees one writer at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import random
import secrets
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TextIO

import httpx

import monitor
from monitor.browser import BrowserRenderer, PageRenderer
from monitor.clock import Clock, SystemClock
from monitor.config import DatabaseConfig, MonitorConfig, WatchConfig, parse_daily_time
from monitor.errors import ConfigError, MonitorError, ParseError, SourceError
from monitor.fetch import Fetcher
from monitor.hosts import HostGate
from monitor.imports import Entry, Refused, WatchEntry
from monitor.metrics import Metrics
from monitor.model import (
    Alert,
    BoardFilters,
    CheckOutcome,
    CheckResult,
    Delivery,
    FieldChange,
    Posting,
)
from monitor.netguard import AddressGuard, Resolver
from monitor.notify.channels import ChannelNotifier, Notifier
from monitor.notify.deliver import (
    Claim,
    DeliveryReport,
    DigestContext,
    DigestSchedule,
    RetryPolicy,
    deliver_digests,
    deliver_due,
)
from monitor.notify.payload import change_payload, dumps
from monitor.notify.render import Renderer
from monitor.notify.rules import Rule, route
from monitor.pipeline import CheckContext, Schedule, check, check_board, monitor_notice
from monitor.progress import NoProgress, Progress
from monitor.reading import make_reader
from monitor.records import PostingState, PruneReport, WatchRecord, WatchSpec
from monitor.runner import CheckRunner, PassReport
from monitor.sources import SourceRegistry
from monitor.sources.base import Source
from monitor.sources.page import WebPageSource
from monitor.store import Store
from monitor.store.engine import check_reachable, create_db_engine, upgrade
from monitor.store.postings import NOTHING_NEW, BoardWrite, CheckWrite, PendingWrite
from monitor.urls import shown_url, url_problem

log = logging.getLogger(__name__)
IMPORT_CHUNK = 500
DELIVERY_BATCH = 100
"""Alerts one delivery round sends at most (``drain``: no limit)."""
CLAIM_SIZE = 20
"""Alerts claimed at a time: small enough that several processes share a backlog
to a slow channel, large enough that claiming costs little."""
DELIVER_DURING_PASS_EVERY = 0.5


@dataclass(slots=True)
class ImportReport:
    """What ``watch import`` did with each entry."""

    added: list[WatchRecord] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(where in the file, URL) of entries already watched."""
    refused: list[Refused] = field(default_factory=list)


class App:
    def __init__(
        self,
        config: MonitorConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        notifier: Notifier | None = None,
        clock: Clock | None = None,
        console: TextIO | None = None,
        sources: SourceRegistry | None = None,
        rng: random.Random | None = None,
        resolver: Resolver | None = None,
        browser: PageRenderer | None = None,
    ) -> None:
        self.config = config
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.clock = clock or SystemClock()
        self.sources = sources or SourceRegistry.default()
        self.channels = ChannelNotifier(config.channels, console=console)
        self.notifier: Notifier = notifier or self.channels
        # Everything that can reject the configuration comes before touching the database.
        self.renderer = Renderer(config.templates)
        self.digests = digest_schedules(config)
        self._json_channels = {c.name for c in config.channels if c.format == "json"}
        self.engine = create_db_engine(config.database_url, setting=config.database_setting)
        self.store = Store(self.engine)
        self.metrics = Metrics()
        self.fetcher = Fetcher(
            config.http,
            transport=transport,
            gate=HostGate(config.http, clock=self.clock, rng=self.rng),
            resolver=resolver,
        )
        # Started on the first page that needs it (watches with render = browser/auto).
        self.browser: PageRenderer = browser or BrowserRenderer(
            config.browser,
            AddressGuard(config.http.allowed_networks, resolver),
            user_agent=config.http.user_agent,
        )
        self.reader = make_reader(
            self.sources,
            workers=config.reading.worker_count(),
            time_limit=config.reading.time_limit.total_seconds(),
        )
        self.schedule = Schedule(jitter=config.scheduler.jitter, rng=self.rng)
        self._watch_rules = {w.url: w.rules for w in config.watches}
        self.retry = RetryPolicy(
            max_attempts=config.alerts.max_attempts, base=config.alerts.retry_base
        )
        self.claim = Claim(claimant=process_name(), send_timeout=config.alerts.send_timeout)

    # -- lifecycle -----------------------------------------------------------------

    def prepare(self, *, sync_watches: bool = True) -> None:
        """Migrate (if configured) and make the config's watches active (unless
        ``sync_watches`` is off: the dashboard shows a database, it does not own it)."""
        check_reachable(self.engine)
        if self.config.database.auto_migrate:
            upgrade(self.engine)
        if not sync_watches:
            return
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

    async def aclose(self) -> None:
        self.metrics.close()
        await self.reader.aclose()
        await self.browser.aclose()
        await self.fetcher.aclose()
        self.store.close()
        self.engine.dispose()

    # -- watches ---------------------------------------------------------------------

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
    ) -> WatchSpec:
        self._check_channels(channels)
        source = self._source_for(url, source_kind)
        is_board = source.is_board(url)
        if filters and filters != BoardFilters() and not is_board:
            raise ConfigError(
                f"filters only apply to boards, and {url} is one posting", source="filters"
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

    def add_watch(
        self,
        url: str,
        *,
        interval: timedelta,
        channels: Sequence[str] = (),
        filters: BoardFilters | None = None,
        cron: str | None = None,
        render: str = "plain",
        source_kind: str | None = None,
    ) -> WatchRecord:
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
        )
        return self.store.watches.add_watch(spec, origin="cli", now=self.clock.now())

    def import_watches(
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

    def resolve_channels(self, wanted: Sequence[str]) -> list[str]:
        """Channel names for a watch's list of names or tags; empty means all."""
        if not wanted:
            return [c.name for c in self.config.channels]
        return [
            c.name for c in self.config.channels if c.name in wanted or set(c.tags) & set(wanted)
        ]

    # -- checking ----------------------------------------------------------------------

    @property
    def lease(self) -> timedelta:
        return max(self.config.http.timeout * 3, timedelta(seconds=60))

    def check_context(self) -> CheckContext:
        return CheckContext(
            fetcher=self.fetcher,
            sources=self.sources,
            clock=self.clock,
            close_after=self.config.alerts.close_after,
            repost_window=self.config.alerts.repost_window,
            browser=self.browser,
            schedule=self.schedule,
            confirm_suspect=self.config.alerts.confirm_suspect,
            reader=self.reader,
        )

    async def run_check(self, state: PostingState) -> tuple[CheckOutcome, PendingWrite]:
        """Check one posting or board; returns what to write (the caller batches writes)."""
        if state.role == "board":
            return await self._check_board(state)
        result = await check(state, self.check_context())
        deliveries = self.plan(state, result.snapshot, _alerted(result)) + self.notices(
            state, result
        )
        log.log(
            logging.DEBUG if result.outcome in NOTHING_NEW else logging.INFO,
            "checked %s: %s",
            shown_url(state.url),
            result.outcome.value,
            extra={"action": "check", "outcome": result.outcome.value},
        )
        return result.outcome, CheckWrite(result=result, deliveries=tuple(deliveries))

    async def write_checks(self, writes: Sequence[PendingWrite]) -> None:
        await self.store.run(self.store.postings.record_many, writes)

    async def _check_board(self, board: PostingState) -> tuple[CheckOutcome, PendingWrite]:
        members = await self.store.run(self.store.postings.members_of, board.id)
        result = await check_board(board, members, self.check_context())
        by_id = {m.id: m for m in members}
        deliveries = {board.id: self.notices(board, result.board)}
        for member in result.members:
            deliveries[member.posting_id] = self.plan(
                by_id[member.posting_id], member.snapshot, _alerted(member)
            )
        new = [self.plan(board, n.posting, n.changes) for n in result.new_members]
        log.info(
            "checked board %s: %s, %d new, %d followed",
            shown_url(board.url),
            result.board.outcome.value,
            len(result.new_members),
            len(members),
            extra={"action": "check", "outcome": result.board.outcome.value},
        )
        write = BoardWrite(
            result=result, board_id=board.id, deliveries=deliveries, new_deliveries=new
        )
        return result.board.outcome, write

    # -- alerts ------------------------------------------------------------------------

    def rules_for(self, state: PostingState) -> list[Rule]:
        """The watch's own rules, then the global ones; none: everything to its channels."""
        configured = [*self._watch_rules.get(state.watch_url, ()), *self.config.rules]
        if not configured:
            return [Rule(channels=tuple(self.resolve_channels(state.channels)))]
        return [
            Rule(
                channels=tuple(self.resolve_channels(rule.channels)),
                name=rule.name,
                fields=frozenset(rule.fields),
                salary_min_change_percent=Decimal(str(rule.salary_min_change_percent)),
                salary_direction=rule.salary_direction,
                keywords=rule.keywords,
            )
            for rule in configured
        ]

    def plan(
        self, state: PostingState, posting: Posting | None, changes: Sequence[FieldChange]
    ) -> list[Delivery]:
        """One rendered alert per channel, holding the changes the rules send it."""
        if posting is None or not changes:
            return []
        routed = route(posting, changes, self.rules_for(state))
        before = state.current if state.role != "board" else None
        return [
            Delivery(channel=channel, alert=self._alert(channel, before, posting, picked))
            for channel, picked in routed.items()
        ]

    def _alert(
        self, channel: str, before: Posting | None, posting: Posting, picked: Sequence[FieldChange]
    ) -> Alert:
        alert = self.renderer.render(posting, picked)
        if channel not in self._json_channels:
            return alert
        payload = change_payload(
            posting_id=None, posting=posting, before=before, changes=picked, headline=alert.title
        )
        return replace(alert, body_json=dumps(payload))

    def notices(self, state: PostingState, result: CheckResult) -> list[Delivery]:
        """One alert when checks start failing (after error_after), one when they recover."""
        change = monitor_notice(state, result, error_after=self.config.alerts.error_after)
        if change is None:
            return []
        posting = state.current or Posting(
            source_kind=state.source_kind,
            source_id=state.source_id,
            url=state.url,
            title=state.title or shown_url(state.url),
        )
        return [replace(d, notice=True) for d in self.plan(state, posting, [change])]

    async def check_all(self, progress: Progress | None = None) -> PassReport:
        """One pass over every active posting, due or not, delivering alerts as they
        are queued (as the daemon does) and then every one still due."""
        progress = progress or NoProgress()
        await self.reader.start()  # before leasing anything (see LocalEngine.run)
        progress.start(await self.store.run(self.store.maintenance.active_count), what="checking")
        runner = CheckRunner(self, progress=progress)
        checked = asyncio.Event()
        meanwhile = asyncio.create_task(self._deliver_until(checked), name="monitor-deliver")
        try:
            report = await runner.run_all(self._claimed_in_parts())
        finally:
            progress.finish()
            checked.set()
            sent_meanwhile = await meanwhile
        # One-shot: send everything queued now, not one batch (the daemon comes back).
        report.delivery = _added(sent_meanwhile, await self.deliver(drain=True))
        return report

    async def _deliver_until(self, done: asyncio.Event) -> DeliveryReport:
        total = DeliveryReport()
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), DELIVER_DURING_PASS_EVERY)
            if not done.is_set():
                total = _added(total, await self.deliver())
        return total

    async def _claimed_in_parts(self) -> AsyncIterator[PostingState]:
        """Every active posting, leased a part at a time as the pass reaches it, so
        10,000 watches' stored versions are never all in memory at once."""
        last = 0
        size = self.config.scheduler.batch_size
        while True:
            part = await self.store.run(self._claim_part, limit=size, after_id=last)
            for state in part:
                yield state
            if len(part) < size:
                return
            last = max(state.id for state in part)

    def _claim_part(self, *, limit: int, after_id: int) -> list[PostingState]:
        return self.store.leases.claim_all(
            now=self.clock.now(), lease=self.lease, limit=limit, after_id=after_id
        )

    def prune(self, *, dry_run: bool = False) -> PruneReport:
        """Delete what the retention settings no longer keep."""
        return prune(self.store, self.config.database, now=self.clock.now(), dry_run=dry_run)

    async def deliver(self, *, drain: bool = False) -> DeliveryReport:
        """Send what is due: alerts one by one (a batch; ``drain``: until none is due),
        and the digests whose time has come."""
        single = DeliveryReport()
        while True:
            batch = await deliver_due(
                self.store.outbox,
                self.notifier,
                self.clock,
                self.retry,
                self.claim,
                limit=CLAIM_SIZE,
                db=self.store.run,
                digests=frozenset(self.digests),
            )
            single = _added(single, batch)
            if _handled(batch) < CLAIM_SIZE:  # none left due (or its claim ran short)
                break
            if not drain and _handled(single) >= DELIVERY_BATCH:
                break
        context = DigestContext(
            outbox=self.store.outbox,
            notifier=self.notifier,
            clock=self.clock,
            policy=self.retry,
            renderer=self.renderer,
            claim=self.claim,
            db=self.store.run,
        )
        report = _added(single, await deliver_digests(context, self.digests))
        self.metrics.delivered(sent=report.sent, failed=report.failed, retrying=report.retrying)
        return report


def _handled(report: DeliveryReport) -> int:
    return report.sent + report.retrying + report.failed


def _added(first: DeliveryReport, second: DeliveryReport) -> DeliveryReport:
    return DeliveryReport(
        sent=first.sent + second.sent,
        retrying=first.retrying + second.retrying,
        failed=first.failed + second.failed,
    )


def _stored_as_configured(record: WatchRecord | None, watch: WatchConfig) -> bool:
    if record is None or record.removed_at is not None or record.origin != "config":
        return False
    filters = BoardFilters(**watch.filters.model_dump())
    return (
        record.interval == watch.interval
        and record.cron == watch.cron
        and record.render == watch.render
        and (watch.source is None or record.source_kind == watch.source)
        and record.channels == watch.channels
        and (record.filters == filters if record.filters is not None else filters == BoardFilters())
    )


def prune(
    store: Store, settings: DatabaseConfig, *, now: datetime, dry_run: bool = False
) -> PruneReport:
    """Delete check log rows and sent alerts older than the settings keep (0: forever);
    see ``Maintenance.prune``."""

    def before(keep: timedelta) -> datetime | None:
        return now - keep if keep > timedelta(0) else None

    return store.maintenance.prune(
        check_log_before=before(settings.keep_check_log),
        sent_alerts_before=before(settings.keep_sent_alerts),
        dry_run=dry_run,
    )


def process_name() -> str:
    """This process among all that share the database: host, pid and a random part
    (pids are reused, by containers especially)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


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
        ]
        for w in configured
    ]
    text = json.dumps([monitor.__version__, entries], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def digest_schedules(config: MonitorConfig) -> dict[str, DigestSchedule]:
    schedules = {}
    for channel in config.channels:
        if channel.digest is not None:
            schedules[channel.name] = DigestSchedule(every=channel.digest)
        elif channel.digest_at is not None:
            hour, minute, zone = parse_daily_time(channel.digest_at)
            schedules[channel.name] = DigestSchedule(hour=hour, minute=minute, zone=zone)
    return schedules


def _alerted(result: CheckResult) -> tuple[FieldChange, ...]:
    """The changes to alert on: none when only our reading of the page changed, or
    for a posting closed because its repost appeared (the repost's alert says it)."""
    if result.quiet and result.changes:
        log.info(
            "posting %s: %d change(s) recorded, not alerted (read again by a newer reader, "
            "or closed as reposted)",
            result.posting_id,
            len(result.changes),
            extra={"action": "reread"},
        )
        return ()
    return result.changes
