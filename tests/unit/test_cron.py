"""Cron schedules: next fires in UTC from a schedule in any time zone, and errors
that say what is wrong."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import WatchConfig
from monitor.core.schedule import cron_trigger, next_fire, typical_gap

FRIDAY_NOON_UTC = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "fire"),
    [
        ("0 9 * * mon-fri Europe/Berlin", FRIDAY_NOON_UTC, datetime(2026, 11, 30, 8, 0)),
        ("0 9 * * mon-fri", FRIDAY_NOON_UTC, datetime(2026, 11, 30, 9, 0)),
        ("*/15 * * * *", FRIDAY_NOON_UTC, datetime(2026, 11, 27, 12, 15)),  # strictly after
        ("*/15 * * * *", FRIDAY_NOON_UTC - timedelta(seconds=1), datetime(2026, 11, 27, 12, 0)),
        ("30 6 1 * * America/New_York", FRIDAY_NOON_UTC, datetime(2026, 12, 1, 11, 30)),
        ("0 9 * * * Europe/Berlin", datetime(2026, 3, 28, 9, tzinfo=UTC), datetime(2026, 3, 29, 7)),
    ],
    ids=[
        "weekdays-berlin",
        "weekdays-utc",
        "quarter-hours",
        "one-second-before",
        "monthly-new-york",
        "dst-start",
    ],
)
def test_next_fire_is_in_utc_and_after_now(
    expression: str, after: datetime, fire: datetime
) -> None:
    assert next_fire(expression, after) == fire.replace(tzinfo=UTC)


@pytest.fixture
def machine_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("machine_in_new_york")
def test_next_fire_is_in_utc_whatever_the_machine_s_time_zone() -> None:
    fire = next_fire("0 9 * * mon-fri Europe/Berlin", FRIDAY_NOON_UTC)
    assert fire.isoformat() == "2026-11-30T08:00:00+00:00"


def test_a_schedule_with_no_fire_left_says_so() -> None:
    # The calendar ends in 9999: the one place a checked schedule has no next fire.
    with pytest.raises(ValueError, match="'0 9 \\* \\* \\*' never fires after 9999-12-31"):
        next_fire("0 9 * * *", datetime(9999, 12, 31, 12, tzinfo=UTC))


def test_typical_gap() -> None:
    assert typical_gap("*/15 * * * *", FRIDAY_NOON_UTC) == timedelta(minutes=15)
    assert typical_gap("0 9 * * *", FRIDAY_NOON_UTC) == timedelta(days=1)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "is not a cron schedule"),
        ("* * *", "it needs 5 fields"),
        ("0 9 * * * Mars/Olympus", "'Mars/Olympus' is not a time zone"),
        ("0 0 30 2 *", "never fires"),
    ],
)
def test_bad_schedules_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cron_trigger(expression)


def test_a_watch_takes_a_cron_schedule_or_an_interval_not_both() -> None:
    watch = WatchConfig(url="https://x.test/j", cron="0  9 * * mon-fri")
    assert watch.cron == "0 9 * * mon-fri"
    assert watch.interval in (timedelta(days=1), timedelta(days=3))  # its typical gap
    with pytest.raises(ValueError, match="set interval or cron, not both"):
        WatchConfig.model_validate({"url": "https://x.test/j", "cron": "0 9 * * *", "interval": 60})
