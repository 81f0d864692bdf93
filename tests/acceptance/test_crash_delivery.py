"""Killing the daemon (SIGKILL) while it delivers loses no alert and repeats only those in flight."""

from __future__ import annotations

import random
import signal
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.store import Store
from monitor.store.engine import create_db_engine, upgrade
from tests.acceptance.test_daemon import start_daemon, wait_until
from tests.harness import queue_alerts
from tests.peers import webhook_receiver

pytestmark = pytest.mark.slow
ALERTS = 24
KILLS = 6


def config(tmp_path: Path, db_url: str, port: int) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n[scheduler]\ndispatch_every = 60\ndeliver_every = 0.05\n'
        f'[alerts]\nsend_timeout = "1s"\n'
        f'[[channels]]\nname = "hook"\nurl = "json://127.0.0.1:{port}/alerts"\n',
        encoding="utf-8",
    )
    return path


def test_sigkill_during_delivery_loses_nothing(tmp_path: Path, db_url: str) -> None:
    engine = create_db_engine(db_url)
    upgrade(engine)
    store = Store(engine)
    queue_alerts(store, ALERTS)
    chooser = random.Random(20261124)
    kills = 0
    with webhook_receiver() as hook:
        hook.delay = 0.1  # each delivery is in flight for a while: kills land mid-send
        cfg = config(tmp_path, db_url, hook.port)
        try:
            while kills < KILLS and len({p["title"] for p in hook.posts}) < ALERTS:
                # Kill right after the receiver has taken 1 to 4 more requests: the last
                # one is still in flight (the receiver is slow), so a repeat may follow.
                daemon = start_daemon(cfg)
                target = hook.attempts + chooser.randint(1, 4)
                wait_until(lambda: hook.attempts >= target, timeout=60)  # noqa: B023
                daemon.send_signal(signal.SIGKILL)
                daemon.communicate()
                kills += 1
            daemon = start_daemon(cfg)
            wait_until(lambda: all(a.status == "sent" for a in store.outbox.alerts()), timeout=60)
            daemon.send_signal(signal.SIGTERM)
            _out, err = daemon.communicate(timeout=20)
            assert daemon.returncode == 0, err
            statuses = Counter(a.status for a in store.outbox.alerts())
            received = Counter(p["title"] for p in hook.posts)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.communicate()
    assert statuses == {"sent": ALERTS}
    assert set(received) == {a.alert.title for a in store.outbox.alerts()}  # nothing lost
    repeats = sum(n - 1 for n in received.values())
    assert kills == KILLS, "the backlog must outlast the kills, or the test proves nothing"
    assert repeats <= kills, f"{repeats} repeats after {kills} kills: {received}"
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    engine.dispose()
