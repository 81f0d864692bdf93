"""An App under test with fakes for its seams: pages from a ``PageServer``, a
``FrozenClock`` and a ``RecordingNotifier``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.engines.oneshot import check_all
from monitor.model import Alert, CheckOutcome, CheckResult, Delivery, Posting, PostingStatus
from monitor.records import WatchSpec
from monitor.store import Store
from monitor.testing import FrozenClock, PageServer, RecordingNotifier
from tests.conftest import UNPACED


class Rig:
    def __init__(self, db_url: str, watches: list[dict[str, Any]], **settings: Any) -> None:
        self.server = PageServer()
        self.clock = FrozenClock()
        self.notifier = RecordingNotifier()
        config = MonitorConfig.model_validate(
            {"database": {"url": db_url}, "watches": watches, "http": UNPACED, **settings}
        )
        self.app = App(
            config, transport=self.server.transport(), notifier=self.notifier, clock=self.clock
        )
        self.app.prepare()

    def check_once(self) -> CheckOutcome:
        """One pass over what is due; the one outcome it had."""
        (outcome,) = asyncio.run(check_all(self.app)).outcomes
        return outcome

    def titles(self) -> list[str]:
        return [alert.title for _channel, alert in self.notifier.sent]

    def close(self) -> None:
        asyncio.run(self.app.aclose())


def outbox_rows(store: Store) -> list[dict[str, Any]]:
    """The outbox as stored, claims and sent times included (no public call shows them)."""
    from sqlalchemy import select

    from monitor.store.tables import outbox

    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(outbox).order_by(outbox.c.id))]


def queue_alerts(
    store: Store,
    count: int,
    *,
    channel: str = "hook",
    now: datetime | None = None,
    first: int = 0,
) -> None:
    """``count`` postings (numbered from ``first``), each with one alert queued for
    ``channel`` (titled ``alert-<posting id>``), none due for a check for a month."""
    now = now or datetime.now(UTC) - timedelta(minutes=1)
    for i in range(first, first + count):
        url = f"https://jobs.example.com/{i}"
        store.watches.add_watch(
            WatchSpec(url=url, source_kind="html", source_id=url, interval=timedelta(days=30)),
            origin="cli", now=now,
        )  # fmt: skip
    for state in store.leases.claim_all(now=now, lease=timedelta(minutes=1)):
        posting = Posting(
            source_kind="html", source_id=state.url, url=state.url, title=f"job {state.id}"
        )
        alert = Alert(title=f"alert-{state.id}", body_text="b", body_markdown="b")
        result = CheckResult(
            posting_id=state.id, outcome=CheckOutcome.CHANGED, checked_at=now,
            next_check_at=now + timedelta(days=30), status=PostingStatus.OPEN, snapshot=posting,
        )  # fmt: skip
        store.postings.record(result, deliveries=[Delivery(channel=channel, alert=alert)])


def monitor_process(config: Path, *args: str) -> subprocess.Popen[str]:
    """``posting-monitor --config CONFIG ARGS...`` as a real process, with pipes, and
    without this environment's MONITOR_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
