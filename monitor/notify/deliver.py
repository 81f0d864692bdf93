"""Outbox delivery: send what is due, mark it sent, retry with backoff, give up visibly.

Delivery is at-least-once: a row is marked sent only after the channel accepted
it, so a crash between the two may repeat that one message, and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, TypeVar

from monitor.clock import Clock
from monitor.errors import NotifyError
from monitor.notify.channels import Notifier
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
) -> DeliveryReport:
    sent = retrying = failed = 0
    for queued in await db(lambda: repo.due_alerts(now=clock.now(), limit=limit)):
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
