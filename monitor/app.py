"""The application: the composition root. Builds the engine, store, HTTP
client, browser, reader, notifier, alert planner, checker and watch use cases once,
prepares the database, delivers and prunes, and closes them in reverse order.

Database calls run on the store's one dedicated thread (``store.run``), so the event
loop never blocks on them and SQLite sees one writer at a time.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
from datetime import datetime, timedelta
from typing import TextIO

import httpx

from monitor.clock import Clock, SystemClock
from monitor.config import DatabaseConfig, MonitorConfig, parse_daily_time
from monitor.core.schedule import Schedule
from monitor.errors import Conflict
from monitor.metrics import Metrics
from monitor.model import CheckOutcome
from monitor.net.browser import BrowserRenderer, PageRenderer
from monitor.net.fetch import Fetcher
from monitor.net.hosts import HostGate
from monitor.net.netguard import AddressGuard, Resolver
from monitor.net.reading import make_reader
from monitor.net.sharedgate import Gate
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
from monitor.notify.plan import AlertPlanner
from monitor.notify.render import Renderer
from monitor.pipeline import CheckContext, Checker
from monitor.records import PruneReport
from monitor.sources import SourceRegistry
from monitor.store import Store
from monitor.store.engine import check_reachable, create_db_engine, upgrade
from monitor.watches import Watches

DELIVERY_BATCH = 100
"""Alerts one delivery round sends at most (``drain``: no limit)."""
CLAIM_SIZE = 20
"""Alerts claimed at a time: small enough that several processes share a backlog
to a slow channel, large enough that claiming costs little."""


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
        gate: Gate | None = None,
        checkers: int = 1,
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
        self.planner = AlertPlanner(config, self.renderer)
        # Built in the order aclose() closes them backwards.
        self.engine = create_db_engine(config.database_url, setting=config.database_setting)
        self.store = Store(self.engine)
        # This process's host limits; a checker process of a daemon with several
        # (``checkers``) takes its places from the main process's instead (``gate``).
        self.gate = HostGate(config.http, clock=self.clock, rng=self.rng)
        self.fetcher = Fetcher(
            config.http, transport=transport, gate=gate or self.gate, resolver=resolver
        )
        # Started on the first page that needs it (watches with render = browser/auto).
        self.browser: PageRenderer = browser or BrowserRenderer(
            config.browser,
            AddressGuard(config.http.allowed_networks, resolver),
            user_agent=config.http.user_agent,
        )
        self.reader = make_reader(
            self.sources,
            workers=config.reading.worker_count(checkers),
            time_limit=config.reading.time_limit.total_seconds(),
        )
        self.metrics = Metrics()
        self.metrics.watch_renderer(self.browser.state)
        self.retry = RetryPolicy(
            max_attempts=config.alerts.max_attempts, base=config.alerts.retry_base
        )
        self.claim = Claim(claimant=process_name(), send_timeout=config.alerts.send_timeout)
        self.checker = Checker(self._check_context(), self.planner, store=self.store)
        self.watches = Watches(
            config, self.sources, store=self.store, browser=self.browser, clock=self.clock
        )

    def _check_context(self) -> CheckContext:
        return CheckContext(
            fetcher=self.fetcher,
            sources=self.sources,
            clock=self.clock,
            close_after=self.config.alerts.close_after,
            repost_window=self.config.alerts.repost_window,
            browser=self.browser,
            schedule=Schedule(jitter=self.config.scheduler.jitter, rng=self.rng),
            confirm_suspect=self.config.alerts.confirm_suspect,
            reader=self.reader,
        )

    # -- lifecycle -----------------------------------------------------------------

    def prepare(self, *, sync_watches: bool = True) -> None:
        """Migrate (if configured) and make the config's watches active (unless
        ``sync_watches`` is off: the dashboard shows a database, it does not own it)."""
        check_reachable(self.engine)
        if self.config.database.auto_migrate:
            upgrade(self.engine)
        if not sync_watches:
            return
        self.watches.sync_config()

    async def aclose(self) -> None:
        self.metrics.close()
        await self.reader.aclose()
        await self.browser.aclose()
        await self.fetcher.aclose()
        self.store.close()
        self.engine.dispose()

    # -- checking ----------------------------------------------------------------------

    @property
    def lease(self) -> timedelta:
        return max(self.config.http.timeout * 3, timedelta(seconds=60))

    async def check_watch(self, watch_id: int) -> CheckOutcome:
        """Check one watch's posting (or board) now, due or not, paused or not, through
        the check path every engine uses, and write what it found (the dashboard's
        "check now"). Conflict while another process is checking it."""
        await self.reader.start()  # before leasing (see lifecycle.start_process)
        states = await self.store.run(
            self.store.leases.claim_watch, watch_id, now=self.clock.now(), lease=self.lease
        )
        if not states:
            raise Conflict(f"watch {watch_id} is being checked right now: look again shortly")
        try:
            outcome, write = await self.checker.run_check(states[0])
        except BaseException:
            await self.store.run(self.store.leases.release_leases, [states[0].id])
            raise
        await self.checker.write_checks([write])
        return outcome

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
            single = added_reports(single, batch)
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
        report = added_reports(single, await deliver_digests(context, self.digests))
        self.metrics.delivered(sent=report.sent, failed=report.failed, retrying=report.retrying)
        return report


def _handled(report: DeliveryReport) -> int:
    return report.sent + report.retrying + report.failed


def added_reports(first: DeliveryReport, second: DeliveryReport) -> DeliveryReport:
    """Two delivery rounds' reports as one."""
    return DeliveryReport(
        sent=first.sent + second.sent,
        retrying=first.retrying + second.retrying,
        failed=first.failed + second.failed,
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


def digest_schedules(config: MonitorConfig) -> dict[str, DigestSchedule]:
    schedules = {}
    for channel in config.channels:
        if channel.digest is not None:
            schedules[channel.name] = DigestSchedule(every=channel.digest)
        elif channel.digest_at is not None:
            hour, minute, zone = parse_daily_time(channel.digest_at)
            schedules[channel.name] = DigestSchedule(hour=hour, minute=minute, zone=zone)
    return schedules
