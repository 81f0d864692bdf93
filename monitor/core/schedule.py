"""When to check next: ``Schedule`` (an interval with jitter, or a cron schedule), and
the cron schedules themselves.

Cron schedules for watches: ``minute hour day month weekday``, optionally followed
by a time zone (default UTC), e.g. ``0 9 * * mon-fri Europe/Berlin``.
APScheduler's ``CronTrigger`` does the calendar arithmetic; this module names the
errors for the config and answers in UTC.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

_EXAMPLE = "e.g. '0 9 * * mon-fri' or '0 9 * * mon-fri Europe/Berlin'"


@lru_cache(maxsize=1024)
def cron_trigger(expression: str) -> CronTrigger:
    """The trigger for ``expression``; ``ValueError`` saying what is wrong."""
    # Imported here: a pass over watches without a cron schedule never needs it.
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) not in (5, 6):
        raise ValueError(
            f"{expression!r} is not a cron schedule: it needs 5 fields "
            f"(minute hour day month weekday) and may end with a time zone, {_EXAMPLE}"
        )
    zone = fields[5] if len(fields) == 6 else "UTC"
    try:
        timezone = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{expression!r}: {zone!r} is not a time zone") from None
    try:
        trigger = CronTrigger.from_crontab(" ".join(fields[:5]), timezone=timezone)
    except ValueError as exc:
        raise ValueError(f"{expression!r} is not a cron schedule ({exc}), {_EXAMPLE}") from None
    if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
        raise ValueError(f"{expression!r} never fires")
    return trigger


def normalized(expression: str) -> str:
    """``expression`` with single spaces, once it has been checked (``ValueError`` if bad)."""
    normal = " ".join(expression.split())
    cron_trigger(normal)
    return normal


def next_fire(expression: str, after: datetime) -> datetime:
    """The first time the schedule fires strictly after ``after`` (whole seconds), in UTC."""
    fire = cron_trigger(expression).get_next_fire_time(None, after + timedelta(seconds=1))
    if fire is None:  # cron_trigger refuses schedules that never fire
        raise ValueError(f"{expression!r} never fires after {after:%Y-%m-%d}")
    return fire.astimezone(UTC)  # type: ignore[no-any-return]


def typical_gap(expression: str, now: datetime) -> timedelta:
    """Time between two fires from ``now``: the ceiling for retry back-off and what
    ``watch list`` reports as the interval."""
    first = next_fire(expression, now)
    return next_fire(expression, first) - first


@dataclass(frozen=True, slots=True)
class Schedule:
    """When to check next: the interval spread by ``jitter`` (0.1: +/-10%), so postings
    added together drift apart instead of hitting their sites in the same second; or
    the next fire of the watch's cron schedule, on time (the user chose the time)."""

    jitter: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    def next_check(self, now: datetime, interval: timedelta, cron: str | None = None) -> datetime:
        if cron is not None:
            return next_fire(cron, now)
        if not self.jitter:
            return now + interval
        return now + interval * self.rng.uniform(1 - self.jitter, 1 + self.jitter)

    def spread(self, now: datetime, interval: timedelta, cron: str | None = None) -> datetime:
        """The next check of one of many postings read for the first time together (a
        board's members): anywhere in the coming interval, so that their later checks
        are spread over it instead of coming in one burst. A cron schedule is kept."""
        if cron is not None or not self.jitter:
            return self.next_check(now, interval, cron)
        return now + interval * self.rng.uniform(self.jitter, 1.0)

    def backoff_factor(self) -> float:
        """A random factor for retry delays, so failing postings do not retry in step."""
        return self.rng.uniform(0.75, 1.25) if self.jitter else 1.0
