"""Politeness toward the sites we poll.

Each host gets a concurrency limit and a request rate; a host that answers
``Retry-After`` or keeps failing is paused, with exponential backoff and jitter.
A request that would have to wait long for its host is not made to wait in the
pool (starving other hosts): it raises ``HostPaused`` and the check is put off.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from monitor.clock import Clock, SystemClock
from monitor.config import HostLimits, HttpConfig
from monitor.errors import HostPaused
from monitor.model import HostPacing

log = logging.getLogger(__name__)
FAILURE_PAUSE_BASE = 30.0
"""Seconds a host is paused at the first pause; doubles with each further failure."""
LONGEST_QUEUE_WAIT = 5.0
"""Seconds a request may wait for its host's rate; beyond that the check is put off."""


@dataclass(slots=True)
class _Host:
    limit: asyncio.Semaphore
    spacing: float
    next_start: float = 0.0
    paused_until: float = 0.0
    failures: int = 0
    pauses: int = field(default=0)


class HostGate:
    """Per-host limits and pauses; one per fetcher, used from one event loop.

    Pauses are kept in the injected clock's time (they last minutes to hours, like
    the schedule); the spacing of requests in real monotonic time.
    """

    def __init__(
        self,
        config: HttpConfig,
        *,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._clock = clock or SystemClock()
        self._now = monotonic
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self._hosts: dict[str, _Host] = {}

    def limits(self, host: str) -> HostLimits:
        override = self._config.hosts.get(host)
        if override is not None:
            return override
        return HostLimits(
            concurrency=self._config.per_host_concurrency, rate=self._config.per_host_rate
        )

    def _host(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            limits = self.limits(host)
            state = _Host(
                limit=asyncio.Semaphore(limits.concurrency),
                spacing=1 / limits.rate if limits.rate > 0 else 0.0,
            )
            self._hosts[host] = state
        return state

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        """Hold one of the host's places for a request, at the host's pace."""
        host = host_of(url)
        state = self._host(host)
        self._raise_if_paused(state, host, url)
        async with state.limit:
            self._raise_if_paused(state, host, url)
            now = self._now()
            start = max(now, state.next_start)
            if start - now > LONGEST_QUEUE_WAIT:
                raise HostPaused(url=url, host=host, seconds=start - now)
            state.next_start = start + state.spacing
            if start > now:
                await asyncio.sleep(start - now)
            yield

    def _wall(self) -> float:
        return self._clock.now().timestamp()

    def _raise_if_paused(self, state: _Host, host: str, url: str) -> None:
        wait = state.paused_until - self._wall()
        if wait > 0:
            raise HostPaused(url=url, host=host, seconds=wait)

    def pause(self, url: str, seconds: float, *, reason: str) -> None:
        """Send nothing to the URL's host for ``seconds`` (Retry-After, or failures)."""
        host = host_of(url)
        state = self._host(host)
        until = self._wall() + seconds
        if until > state.paused_until:
            state.paused_until = until
            state.pauses += 1
            log.warning(
                "pausing %s for %.0fs: %s",
                host,
                seconds,
                reason,
                extra={"action": "host_paused", "host": host, "seconds": round(seconds)},
            )

    def failed(self, url: str, *, reason: str) -> None:
        """Count a failure that says the host is in trouble; pause it after a streak."""
        state = self._host(host_of(url))
        state.failures += 1
        streak = state.failures - self._config.host_pause_after
        if streak < 0:
            return
        longest = self._config.max_host_pause.total_seconds()
        seconds = min(FAILURE_PAUSE_BASE * 2 ** min(streak, 20), longest)
        self.pause(url, seconds * self._rng.uniform(0.5, 1.0), reason=reason)

    def succeeded(self, url: str) -> None:
        self._host(host_of(url)).failures = 0

    def pacing(self, host: str) -> HostPacing:
        """The host's pace and pause as another process can take them over."""
        state = self._host(host)
        ahead = state.next_start - self._now()
        return HostPacing(
            next_request_at=(datetime.now(UTC) + timedelta(seconds=ahead) if ahead > 0 else None),
            paused_until=(
                datetime.fromtimestamp(state.paused_until, UTC) if state.paused_until else None
            ),
            failures=state.failures,
        )

    def adopt(self, host: str, pacing: HostPacing) -> None:
        """Take over the pace and pause another process left for ``host`` (the queue
        engine runs a host's batches one after another, on any worker)."""
        state = self._host(host)
        if pacing.next_request_at is not None:
            ahead = (pacing.next_request_at - datetime.now(UTC)).total_seconds()
            state.next_start = max(state.next_start, self._now() + ahead)
        if pacing.paused_until is not None:
            state.paused_until = max(state.paused_until, pacing.paused_until.timestamp())
        state.failures = pacing.failures

    def paused_hosts(self) -> dict[str, float]:
        """Hosts paused now, with the seconds left."""
        now = self._wall()
        return {h: s.paused_until - now for h, s in self._hosts.items() if s.paused_until > now}


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After``: delay seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
