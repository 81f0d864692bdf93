"""Killing the daemon (SIGKILL) at random moments while it checks a posting that keeps
changing loses no version, change or alert, and corrupts nothing: after the last
restart the history is what a run without crashes stores, and every change is
alerted (repeats only for alerts in flight at a kill)."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.demo import FIRST_VERSION, SeedServer, seeds_dir
from monitor.store import Store
from monitor.store.engine import create_db_engine
from tests.acceptance.test_daemon import daemon_config, start_daemon, wait_until
from tests.peers import webhook_receiver

pytestmark = pytest.mark.slow
VERSIONS = 5
ORIGINAL_PAY = "$155,700 - $285,600"


def write_versions(directory: Path) -> list[str]:
    """The seed posting, then VERSIONS - 1 edits of its pay range."""
    page = (seeds_dir() / FIRST_VERSION).read_text(encoding="utf-8")
    assert ORIGINAL_PAY in page
    names = []
    for n in range(VERSIONS):
        name = f"v{n}.html"
        pay = ORIGINAL_PAY if n == 0 else f"${155_700 + n * 5_000:,} - ${285_600 + n * 9_000:,}"
        (directory / name).write_text(page.replace(ORIGINAL_PAY, pay), encoding="utf-8")
        names.append(name)
    return names


def versions_stored(store: Store, url: str) -> int:
    try:
        return len(store.views.history(url).versions)
    except Exception:  # before the first start has created the schema
        return 0


def kill(daemon: subprocess.Popen[str]) -> None:
    daemon.send_signal(signal.SIGKILL)
    daemon.communicate()


def test_sigkill_while_checking_loses_no_version_change_or_alert(
    tmp_path: Path, db_url: str
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    names = write_versions(site)
    chooser = random.Random(7)
    kills = 0
    engine = create_db_engine(db_url)
    store = Store(engine)
    with SeedServer(site, names[0]) as server, webhook_receiver() as hook:
        cfg = daemon_config(tmp_path, db_url, server.url, hook.port, tick=0.1, jitter=0)
        # A daemon killed mid-delivery holds its claim on the alert for 4 send timeouts
        # (2 minutes by default): short sends here, so the claims of the killed daemons run
        # out within the wait below and the last daemon sends what they held.
        cfg.write_text(
            cfg.read_text(encoding="utf-8") + '[alerts]\nsend_timeout = "2s"\n', encoding="utf-8"
        )
        daemon = None
        try:
            for index, name in enumerate(names):
                server.current = name
                # Kill at random moments (start-up, mid-check, mid-write, mid-delivery)
                # until this version is stored; the next start must pick up the pieces.
                attempts = 0
                while versions_stored(store, server.url) < index + 1:
                    assert attempts < 40, f"version {index} never stored in {attempts} runs"
                    daemon = start_daemon(cfg)
                    # Later attempts live longer, so a slow machine still gets through.
                    time.sleep(chooser.uniform(0.3, 1.2 + 0.4 * attempts))
                    kill(daemon)
                    kills += 1
                    attempts += 1
            daemon = start_daemon(cfg)
            started = daemon
            wait_until(
                lambda: any(
                    d.pid == started.pid for d in store.processes.daemons(running_only=True)
                )
            )
            wait_until(
                lambda: (
                    len(store.outbox.alerts()) == VERSIONS - 1
                    and all(a.status == "sent" for a in store.outbox.alerts())
                ),
                timeout=60,
            )
            daemon.send_signal(signal.SIGTERM)
            _out, err = daemon.communicate(timeout=30)
            assert daemon.returncode == 0, err
        finally:
            if daemon is not None and daemon.poll() is None:
                kill(daemon)
    history = store.views.history(server.url)
    pays = [v.posting.salaries[0].min for v in history.versions]
    assert [int(p or 0) for p in pays] == [155_700 + n * 5_000 for n in range(VERSIONS)]
    salary_changes = [c for c in history.changes if c.field == "salary"]
    assert len(salary_changes) == VERSIONS - 1  # each edit once, none twice
    received = Counter(p["title"] for p in hook.posts)
    alerted = [a.alert.title for a in store.outbox.alerts()]
    assert set(received) == set(alerted)  # every queued alert arrived
    assert len(alerted) == VERSIONS - 1
    repeats = sum(n - 1 for n in received.values())
    assert repeats <= kills
    assert kills >= VERSIONS, "the kills must land throughout, or the test proves nothing"
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    engine.dispose()
