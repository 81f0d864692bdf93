"""Outbox delivery: claim what is due, send it, mark it sent, retry with backoff,
give up visibly.

Any number of processes may deliver from one database: each sends only the alerts
it has claimed, and a claim lasts long enough for every send made under it (each
send is bounded by ``send_timeout``; a send is never started on a claim with less
than that left). A row is marked sent only after the channel accepted it, so a crash
between the two may repeat that one message, and nothing else; the alerts a crashed
process had claimed and not sent go out once its claim runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, Protocol, TypeVar
from zoneinfo import ZoneInfo

from monitor.clock import Clock
from monitor.config import CLAIM_LEASE_SENDS
from monitor.errors import NotifyError
from monitor.model import Alert
from monitor.notify.channels import Notifier
from monitor.notify.payload import with_identity
from monitor.notify.render import Renderer
from monitor.records import QueuedAlert
from monitor.store.outbox import Outbox

log = logging.getLogger(__name__)
_MAX_BACKOFF = timedelta(hours=6)
DIGEST_LIMIT = 500
P = ParamSpec("P")
T = TypeVar("T")


class DbRunner(Protocol):
    """Runs a store call where database work belongs (a dedicated thread: ``Store.run``)."""

    async def __call__(self, call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...


async def run_inline(call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    return call(*args, **kwargs)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """Who is sending (unique per process), and how long one send may take."""

    claimant: str
    send_timeout: timedelta

    @property
    def lease(self) -> timedelta:
        return self.send_timeout * CLAIM_LEASE_SENDS

    def room_for_a_send(self, now: datetime, until: datetime) -> bool:
        return now + self.send_timeout < until


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
    outbox: Outbox,
    notifier: Notifier,
    clock: Clock,
    policy: RetryPolicy,
    claim: Claim,
    *,
    limit: int = 100,
    db: DbRunner = run_inline,
    digests: frozenset[str] = frozenset(),
) -> DeliveryReport:
    """Claim up to ``limit`` due alerts and send each on its own, except to ``digests``
    channels (see deliver_digests). What the claim has no time left for, or a stop
    interrupts, is given back for the next round or another process."""
    sent = retrying = failed = 0
    now = clock.now()
    claimed = await db(
        lambda: outbox.claim_alerts(
            now=now,
            lease=claim.lease,
            claimant=claim.claimant,
            limit=limit,
            skip_channels=digests,
        )
    )
    until = now + claim.lease
    done = 0
    try:
        for queued in claimed:
            if not claim.room_for_a_send(clock.now(), until):
                break
            outcome = await _deliver_one(outbox, notifier, clock, policy, claim, queued, db)
            done += 1
            sent += outcome == "sent"
            retrying += outcome == "retrying"
            failed += outcome == "failed"
    finally:
        unsent = [q.id for q in claimed[done:]]
        if unsent:
            await asyncio.shield(db(lambda: outbox.release_alerts(unsent, claimant=claim.claimant)))
    return DeliveryReport(sent=sent, retrying=retrying, failed=failed)


async def _deliver_one(
    outbox: Outbox,
    notifier: Notifier,
    clock: Clock,
    policy: RetryPolicy,
    claim: Claim,
    queued: QueuedAlert,
    db: DbRunner,
) -> str:
    try:
        await _send(notifier, queued.channel, identified(queued), claim.send_timeout)
    except NotifyError as exc:
        error = str(exc)
        delay = policy.delay(queued.attempts + 1)
        retry_at = clock.now() + delay if delay is not None else None
        # Shielded, as below: a stop must not leave an attempt that happened unrecorded.
        await asyncio.shield(
            db(lambda: outbox.mark_attempt_failed(queued.id, error=error, retry_at=retry_at))
        )
        # pragma: no mutate start (a log line's wording and fields)
        log.warning(
            "alert %s to %s failed (attempt %d): %s",
            queued.id,
            queued.channel,
            queued.attempts + 1,
            exc,
            extra={"action": "alert_failed"},
        )
        # pragma: no mutate end
        return "retrying" if retry_at is not None else "failed"
    # Shielded: stopped here, the alert went out and must be marked sent, or it would
    # be given back and sent again.
    held = await asyncio.shield(
        db(lambda: outbox.mark_sent(queued.id, now=clock.now(), claimant=claim.claimant))
    )
    if not held:
        # pragma: no mutate start (a log line's wording and fields)
        log.warning(
            "alert %s was sent to %s after its claim was taken away (re-queued meanwhile?)",
            queued.id,
            queued.channel,
            extra={"action": "alert_claim_lost"},
        )
        # pragma: no mutate end
    # pragma: no mutate start (a log line's wording and fields)
    log.info("alert %s sent to %s", queued.id, queued.channel, extra={"action": "alert_sent"})
    # pragma: no mutate end
    return "sent"


def identified(queued: QueuedAlert) -> Alert:
    """The alert with its JSON payload naming the posting and the time of the change,
    which are known once it is in the outbox (a posting new on a board had no id before)."""
    if not queued.alert.body_json:
        return queued.alert
    body_json = with_identity(
        queued.alert.body_json, posting_id=queued.posting_id, detected_at=queued.created_at
    )
    return replace(queued.alert, body_json=body_json)


async def _send(notifier: Notifier, channel: str, alert: Alert, timeout: timedelta) -> None:
    """One send, bounded: past ``timeout`` it counts as failed (and may be retried)."""
    try:
        # Not wait_for: on 3.11 it can swallow a cancellation that comes as the send ends.
        async with asyncio.timeout(timeout.total_seconds()):
            await notifier.send(channel, alert)
    except TimeoutError:
        raise NotifyError(
            f"channel {channel!r} did not answer within {timeout.total_seconds():g} s",
            reason="no answer in time",
        ) from None


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
    outbox: Outbox
    notifier: Notifier
    clock: Clock
    policy: RetryPolicy
    renderer: Renderer
    claim: Claim
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
    waiting = await ctx.db(lambda: ctx.outbox.due_alerts(now=now, limit=1, only_channel=channel))
    if not waiting or not schedule.due(waiting[0].created_at, now):
        return DeliveryReport()
    claim = ctx.claim
    queued = await ctx.db(
        lambda: ctx.outbox.claim_alerts(
            now=now,
            lease=claim.lease,
            claimant=claim.claimant,
            limit=DIGEST_LIMIT,
            only_channel=channel,
        )
    )
    if not queued:  # another process took them
        return DeliveryReport()
    ids = [q.id for q in queued]
    settled = False
    try:
        report = await _send_digest(ctx, channel, queued)
        settled = True
        return report
    finally:
        if not settled:
            await asyncio.shield(
                ctx.db(lambda: ctx.outbox.release_alerts(ids, claimant=claim.claimant))
            )


async def _send_digest(
    ctx: DigestContext, channel: str, queued: Sequence[QueuedAlert]
) -> DeliveryReport:
    ids = [q.id for q in queued]
    digest = ctx.renderer.render_digest([identified(q) for q in queued])
    try:
        await _send(ctx.notifier, channel, digest, ctx.claim.send_timeout)
    except NotifyError as exc:
        error = str(exc)
        delay = ctx.policy.delay(max(q.attempts for q in queued) + 1)
        retry_at = ctx.clock.now() + delay if delay is not None else None
        await asyncio.shield(
            ctx.db(lambda: ctx.outbox.mark_many_failed(ids, error=error, retry_at=retry_at))
        )
        # pragma: no mutate start (a log line's wording and fields)
        log.warning("digest to %s failed: %s", channel, exc, extra={"action": "alert_failed"})
        # pragma: no mutate end
        if retry_at is None:
            return DeliveryReport(failed=len(ids))
        return DeliveryReport(retrying=len(ids))
    await asyncio.shield(ctx.db(lambda: ctx.outbox.mark_many_sent(ids, now=ctx.clock.now())))
    # pragma: no mutate start (a log line's wording and fields)
    log.info("digest of %d alerts sent to %s", len(ids), channel, extra={"action": "alert_sent"})
    # pragma: no mutate end
    return DeliveryReport(sent=len(ids))
