"""Outbox delivery: send what is due, mark it sent, retry with backoff, give up visibly.

Delivery is at-least-once: a row is marked sent only after the channel accepted
it, so a crash between the two may repeat that one message, and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from monitor.clock import Clock
from monitor.errors import NotifyError
from monitor.notify.channels import Notifier
from monitor.notify.render import Renderer
from monitor.store.repository import QueuedAlert, Repository

log = logging.getLogger(__name__)
_MAX_BACKOFF = timedelta(hours=6)
T = TypeVar("T")


class DbRunner(Protocol):
    """Runs a repository call where database work belongs (a dedicated thread)."""

    async def __call__(self, call: Callable[[], T]) -> T: ...


async def run_inline(call: Callable[[], T]) -> T:
    return call()


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    max_attempts: int
    base: timedelta

    def delay(self, attempts_so_far: int) -> timedelta | None:
        """Delay before the next try after ``attempts_so_far`` failures; None to give up."""
        if attempts_so_far >= self.max_attempts:
            return None
        delay: timedelta = self.base * 2 ** (attempts_so_far - 1)
        return min(delay, _MAX_BACKOFF)


async def deliver_due(
    repo: Repository,
    notifier: Notifier,
    clock: Clock,
    policy: RetryPolicy,
    *,
    limit: int = 100,
    db: DbRunner = run_inline,
    digests: frozenset[str] = frozenset(),
) -> DeliveryReport:
    """Send each due alert on its own, except to ``digests`` channels (see deliver_digests)."""
    sent = retrying = failed = 0
    due = await db(lambda: repo.due_alerts(now=clock.now(), limit=limit, skip_channels=digests))
    for queued in due:
        outcome = await _deliver_one(repo, notifier, clock, policy, queued, db)
        sent += outcome == "sent"
        retrying += outcome == "retrying"
        failed += outcome == "failed"
    return DeliveryReport(sent=sent, retrying=retrying, failed=failed)


async def _deliver_one(
    repo: Repository,
    notifier: Notifier,
    clock: Clock,
    policy: RetryPolicy,
    queued: QueuedAlert,
    db: DbRunner,
) -> str:
    try:
        await notifier.send(queued.channel, queued.alert)
    except NotifyError as exc:
        error = str(exc)
        delay = policy.delay(queued.attempts + 1)
        retry_at = clock.now() + delay if delay is not None else None
        await db(lambda: repo.mark_attempt_failed(queued.id, error=error, retry_at=retry_at))
        log.warning(
            "alert %s to %s failed (attempt %d): %s",
            queued.id,
            queued.channel,
            queued.attempts + 1,
            exc,
            extra={"action": "alert_failed"},
        )
        return "retrying" if retry_at is not None else "failed"
    await db(lambda: repo.mark_sent(queued.id, now=clock.now()))
    log.info("alert %s sent to %s", queued.id, queued.channel, extra={"action": "alert_sent"})
    return "sent"


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestSchedule:
    """When a digest channel sends: every ``every``, or daily at ``hour:minute`` in ``zone``."""

    every: timedelta | None = None
    hour: int = 0
    minute: int = 0
    zone: str = "UTC"

    def due(self, oldest: datetime, now: datetime) -> bool:
        """Whether a digest holding an alert queued at ``oldest`` should go out at ``now``."""
        if self.every is not None:
            return now >= oldest + self.every
        return now >= self._next_daily_time(oldest)

    def _next_daily_time(self, after: datetime) -> datetime:
        local = after.astimezone(ZoneInfo(self.zone))
        moment = local.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        if moment <= local:
            moment += timedelta(days=1)
        return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestContext:
    repo: Repository
    notifier: Notifier
    clock: Clock
    policy: RetryPolicy
    renderer: Renderer
    db: DbRunner = run_inline


async def deliver_digests(
    ctx: DigestContext, schedules: Mapping[str, DigestSchedule]
) -> DeliveryReport:
    """One message per digest channel whose schedule is due, holding all it has queued."""
    reports = [await _digest(ctx, channel, schedule) for channel, schedule in schedules.items()]
    return DeliveryReport(
        sent=sum(r.sent for r in reports),
        retrying=sum(r.retrying for r in reports),
        failed=sum(r.failed for r in reports),
    )


async def _digest(ctx: DigestContext, channel: str, schedule: DigestSchedule) -> DeliveryReport:
    now = ctx.clock.now()
    queued = await ctx.db(lambda: ctx.repo.due_alerts(now=now, limit=500, only_channel=channel))
    if not queued or not schedule.due(min(q.created_at for q in queued), now):
        return DeliveryReport()
    ids = [q.id for q in queued]
    try:
        await ctx.notifier.send(channel, ctx.renderer.render_digest([q.alert for q in queued]))
    except NotifyError as exc:
        error = str(exc)
        delay = ctx.policy.delay(max(q.attempts for q in queued) + 1)
        retry_at = now + delay if delay is not None else None
        await ctx.db(lambda: ctx.repo.mark_many_failed(ids, error=error, retry_at=retry_at))
        log.warning("digest to %s failed: %s", channel, exc, extra={"action": "alert_failed"})
        if retry_at is None:
            return DeliveryReport(failed=len(ids))
        return DeliveryReport(retrying=len(ids))
    await ctx.db(lambda: ctx.repo.mark_many_sent(ids, now=ctx.clock.now()))
    log.info("digest of %d alerts sent to %s", len(ids), channel, extra={"action": "alert_sent"})
    return DeliveryReport(sent=len(ids))
