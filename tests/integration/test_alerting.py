"""Rules, digests and error alerts through the App, with a recording notifier."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.engines.oneshot import check_all
from monitor.testing import FrozenClock, PageServer, RecordingNotifier
from tests.conftest import UNPACED, seed_text

URL = "https://careers.example.com/jobs/backend-engineer"
V1 = seed_text("stripe-backend-engineer.html")
V2 = seed_text(
    "stripe-backend-engineer.v2.html"
)  # pay +6.0%/+5.0%, requirement added, hybrid -> remote
CUT = V1.replace("$155,700 - $285,600", "$140,000 - $260,000")
CHANNELS = [
    {"name": "mail", "url": "json://127.0.0.1:9/mail", "tags": ["everything"]},
    {"name": "discord", "url": "json://127.0.0.1:9/discord", "tags": ["pay"]},
    {"name": "daily", "url": "json://127.0.0.1:9/daily", "digest": "2h"},
]


class Setup:
    def __init__(self, db_url: str, **config: Any) -> None:
        self.server = PageServer()
        self.clock = FrozenClock()
        self.notifier = RecordingNotifier()
        data = {"database": {"url": db_url}, "channels": CHANNELS, "http": UNPACED,
                "watches": [{"url": URL, "interval": "1h", **config.pop("watch", {})}], **config}  # fmt: skip
        self.app = App(
            MonitorConfig.model_validate(data), transport=self.server.transport(),
            notifier=self.notifier, clock=self.clock,
        )  # fmt: skip
        self.app.prepare()

    def check(self, body: str | None = None) -> None:
        if body is not None:
            self.server.publish(URL, body)
        self.clock.advance(timedelta(hours=1))
        asyncio.run(check_all(self.app))

    def sent(self, channel: str) -> list[str]:
        return [alert.title for name, alert in self.notifier.sent if name == channel]


@pytest.fixture
def make(db_url: str) -> Iterator[Any]:
    made: list[Setup] = []

    def build(**config: Any) -> Setup:
        made.append(Setup(db_url, **config))
        return made[-1]

    yield build
    for setup in made:
        asyncio.run(setup.app.aclose())


def test_without_rules_every_change_goes_to_the_watch_channels(make: Any) -> None:
    s = make(watch={"channels": ["everything"]})
    s.check(V1)
    s.check(V2)
    assert len(s.sent("mail")) == 1
    assert s.sent("discord") == []


def test_rules_route_each_channel_its_own_changes(make: Any) -> None:
    s = make(rules=[
        {"name": "pay cuts", "fields": ["salary"], "salary_direction": "decrease", "channels": ["pay"]},
        {"name": "workplace", "fields": ["remote", "requirements"], "channels": ["mail"]},
    ])  # fmt: skip
    s.check(V1)
    s.check(V2)  # a raise: not for the pay-cut rule
    assert s.sent("discord") == []
    (mail,) = [a for name, a in s.notifier.sent if name == "mail"]
    assert "remote policy hybrid → remote" in mail.body_text
    assert "requirement added" in mail.body_text
    assert "salary" not in mail.body_text.lower()
    s.check(CUT)  # back to v1's text with a lower range: a cut, and the other changes revert
    (discord,) = [a for name, a in s.notifier.sent if name == "discord"]
    assert discord.title.endswith(
        "salary range 165,000–300,000 USD/yr → 140,000–260,000 (-15.2% / -13.3%)"
    )


def test_a_change_no_rule_matches_is_stored_but_not_sent(make: Any) -> None:
    s = make(rules=[{"fields": ["title"], "channels": ["mail"]}])
    s.check(V1)
    s.check(V2)
    assert s.notifier.sent == []
    assert len(s.app.store.views.history(URL).changes) == 3


def test_watch_rules_come_before_global_ones(make: Any) -> None:
    s = make(watch={"rules": [{"fields": ["salary"], "salary_min_change_percent": 10, "channels": ["discord"]}]},
             rules=[{"fields": ["remote"], "channels": ["mail"]}])  # fmt: skip
    s.check(V1)
    s.check(V2)  # +6%: under this watch's 10% threshold
    assert s.sent("discord") == []
    assert len(s.sent("mail")) == 1


def test_digest_channel_gets_one_message_per_period(make: Any) -> None:
    s = make(rules=[{"channels": ["daily"]}])
    s.check(V1)
    s.check(V2)  # alert A queued
    s.check(CUT)  # alert B queued an hour later; A is not yet 2h old
    assert s.sent("daily") == []
    s.clock.advance(timedelta(minutes=59))
    assert asyncio.run(s.app.deliver()).sent == 0
    s.clock.advance(timedelta(minutes=1))
    report = asyncio.run(s.app.deliver())
    assert report.sent == 2
    (digest,) = [a for name, a in s.notifier.sent if name == "daily"]
    assert digest.title == "Posting Monitor digest: 2 updates"
    assert "165,000–300,000" in digest.body_text
    assert "140,000–260,000" in digest.body_text
    asyncio.run(s.app.deliver())
    assert len(s.sent("daily")) == 1


def test_failing_checks_alert_once_then_recovery_once(make: Any) -> None:
    s = make()
    s.check(V1)
    s.server.fail(URL, lambda _r: httpx.Response(503))
    for _ in range(6):
        s.check()
    failing = [t for t in s.sent("mail") if "checks failing" in t]
    assert failing == [
        "Stripe · Backend Engineer, Core Technology: checks failing (3 in a row): HTTP 503 (https://careers.example.com/jobs/backend-engineer)"
    ]
    s.check(V1)
    s.check(V1)
    recovered = [t for t in s.sent("mail") if "working again" in t]
    assert recovered == [
        "Stripe · Backend Engineer, Core Technology: checks working again after 6 failures"
    ]


def test_error_alerts_follow_rules_too(make: Any) -> None:
    s = make(
        rules=[
            {"fields": ["error"], "channels": ["pay"]},
            {"fields": ["salary"], "channels": ["mail"]},
        ]
    )
    s.check(V1)
    s.server.fail(URL, lambda _r: httpx.Response(500))
    for _ in range(3):
        s.check()
    assert len(s.sent("discord")) == 1
    assert s.sent("mail") == []
