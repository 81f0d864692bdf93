"""Several real processes on one database (daemons, one-shot checks, both): a webhook
receives each alert exactly once."""

from __future__ import annotations

import re
import signal
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.store import Store
from monitor.store.engine import create_db_engine, upgrade
from tests.acceptance.test_daemon import start_daemon, wait_until
from tests.harness import monitor_process, queue_alerts
from tests.peers import webhook_receiver

pytestmark = pytest.mark.slow


def config(tmp_path: Path, db_url: str, port: int) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n[scheduler]\ndispatch_every = 60\ndeliver_every = 0.05\n'
        f'[[channels]]\nname = "hook"\nurl = "json://127.0.0.1:{port}/alerts"\n',
        encoding="utf-8",
    )
    return path


def one_shot_check(config: Path) -> subprocess.Popen[str]:
    return monitor_process(config, "check")


def prepared(db_url: str, alerts: int) -> Store:
    """``alerts`` alerts queued, their watches removed: the processes only deliver."""
    engine = create_db_engine(db_url)
    upgrade(engine)
    store = Store(engine)
    queue_alerts(store, alerts)
    for watch in store.watches.list_watches():
        store.watches.remove_watch(str(watch.id), now=datetime.now(UTC))
    return store


def sent_by(output: str) -> int:
    found = re.search(r"alerts: (\d+) sent", output)
    assert found, output
    return int(found.group(1))


def test_three_daemons_on_one_database_send_each_alert_once(tmp_path: Path, db_url: str) -> None:
    store = prepared(db_url, 12)
    try:
        with webhook_receiver() as hook:
            hook.delay = 0.5  # a slow channel: every daemon finds alerts due while one sends
            cfg = config(tmp_path, db_url, hook.port)
            daemons = [start_daemon(cfg) for _ in range(3)]
            try:
                wait_until(
                    lambda: all(a.status == "sent" for a in store.outbox.alerts()), timeout=90
                )
            finally:
                for daemon in daemons:
                    daemon.send_signal(signal.SIGTERM)
                errors = [daemon.communicate(timeout=30)[1] for daemon in daemons]
            received = Counter(post["title"] for post in hook.posts)
    finally:
        store.engine.dispose()
    assert [d.returncode for d in daemons] == [0, 0, 0], errors
    assert len(received) == 12
    assert max(received.values()) == 1, f"sent more than once: {received}"
    assert len(hook.posts) == 12


def test_checks_and_a_daemon_together_send_each_alert_once(tmp_path: Path, db_url: str) -> None:
    store = prepared(db_url, 60)
    try:
        with webhook_receiver() as hook:
            hook.delay = 0.1
            cfg = config(tmp_path, db_url, hook.port)
            checks = [one_shot_check(cfg) for _ in range(3)]
            daemon = start_daemon(cfg)
            try:
                outputs = [check.communicate(timeout=120) for check in checks]
                wait_until(
                    lambda: all(a.status == "sent" for a in store.outbox.alerts()), timeout=60
                )
            finally:
                daemon.send_signal(signal.SIGTERM)
                _out, daemon_err = daemon.communicate(timeout=30)
            received = Counter(post["title"] for post in hook.posts)
    finally:
        store.engine.dispose()
    assert [c.returncode for c in checks] == [0, 0, 0], outputs
    assert daemon.returncode == 0, daemon_err
    sent = [sent_by(out) for out, _err in outputs]
    assert sum(1 for n in sent if n) >= 2, f"the checks must have shared the work: {sent}"
    assert len(received) == 60
    assert max(received.values()) == 1, f"sent more than once: {received}"
