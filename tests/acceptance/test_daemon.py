"""The daemon as a real process: it checks on its intervals, alerts, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.demo import FIRST_VERSION, REVISED_VERSION, SeedServer, seeds_dir
from monitor.store import Store
from monitor.store.engine import create_db_engine
from tests.harness import monitor_process
from tests.peers import webhook_receiver

pytestmark = pytest.mark.slow


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll a condition of another process; fail with a clear message at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.05)


def daemon_config(
    tmp_path: Path,
    db_url: str,
    watch_url: str,
    hook_port: int,
    *,
    tick: float = 0.2,
    jitter: float = 0.1,
) -> Path:
    """A daemon checking ``watch_url`` every second, its timers firing every ``tick``."""
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"""
[database]
url = "{db_url}"
[http]
allowed_networks = ["127.0.0.1/32"]
[scheduler]
dispatch_every = {tick}
deliver_every = {tick}
jitter = {jitter}
[[channels]]
name = "hook"
url = "json://user:topsecret@127.0.0.1:{hook_port}/alerts"
[[watches]]
url = "{watch_url}"
interval = "1s"
""",
        encoding="utf-8",
    )
    return path


def start_daemon(config: Path) -> subprocess.Popen[str]:
    return monitor_process(config, "run")


def test_daemon_checks_on_interval_alerts_and_stops_on_sigterm(tmp_path: Path, db_url: str) -> None:
    with SeedServer(seeds_dir(), FIRST_VERSION) as server, webhook_receiver() as hook:
        config = daemon_config(tmp_path, db_url, server.url, hook.port)
        daemon = start_daemon(config)
        engine = create_db_engine(db_url)
        store = Store(engine)
        try:
            checks = CheckCounter(store)
            wait_until(lambda: checks.seen() >= 3)
            assert hook.posts == []
            server.current = REVISED_VERSION
            wait_until(lambda: len(hook.posts) == 1)
            assert "165,000–300,000" in hook.posts[0]["message"]
            daemon.send_signal(signal.SIGTERM)
            _out, err = daemon.communicate(timeout=15)
            assert daemon.returncode == 0, err
            assert "daemon stopped" in err
            assert "Traceback" not in err
            assert "topsecret" not in err
            assert checks.seen() >= 4
            (record,) = store.processes.daemons()
            assert record.stopped_at is not None
            assert record.checks >= 4
            assert [a.status for a in store.outbox.alerts()] == ["sent"]
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.communicate()
            engine.dispose()


class CheckCounter:
    """Counts the checks of the one watched posting by the times it was checked
    (checks that find nothing new write no log row, only the posting's state)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._times: set[object] = set()

    def seen(self) -> int:
        if _tables_exist(self._store) and self._store.maintenance.count("postings"):
            checked = self._store.views.all_watches()[0].last_checked_at
            if checked is not None:
                self._times.add(checked)
        return len(self._times)


def _tables_exist(store: Store) -> bool:
    try:
        store.maintenance.count("check_log")
    except Exception:
        return False
    return True


def test_daemon_serves_the_dashboard_with_web_listen_and_stops_both(
    tmp_path: Path, db_url: str
) -> None:
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with SeedServer(seeds_dir(), FIRST_VERSION) as server, webhook_receiver() as hook:
        config = daemon_config(tmp_path, db_url, server.url, hook.port)
        config.write_text(
            config.read_text(encoding="utf-8") + f'[web]\nlisten = "127.0.0.1:{port}"\n',
            encoding="utf-8",
        )
        daemon = monitor_process(config, "run")
        try:
            base = f"http://127.0.0.1:{port}"

            def serving_a_checked_posting() -> bool:
                try:
                    watches = httpx.get(f"{base}/api/v1/watches", timeout=2).json()
                except httpx.HTTPError:
                    return False
                return bool(watches["items"]) and watches["items"][0]["last_checked_at"] is not None

            wait_until(serving_a_checked_posting)
            health = httpx.get(f"{base}/api/v1/health", timeout=5).json()
            assert [p["kind"] for p in health["processes"]] == ["daemon"]
            assert httpx.get(f"{base}/watches", timeout=5).status_code == 200
            daemon.send_signal(signal.SIGTERM)
            _out, err = daemon.communicate(timeout=30)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.communicate()
    assert daemon.returncode == 0, err
    assert f"dashboard on http://127.0.0.1:{port}/" in err
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/watches", timeout=2)


def test_web_refuses_to_listen_beyond_loopback_without_sign_in(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n', encoding="utf-8")
    web = monitor_process(config, "web", "--listen", "0.0.0.0:8080")
    _out, err = web.communicate(timeout=60)
    assert web.returncode == 2
    assert "web.token" in err
    assert "Traceback" not in err
    assert not (tmp_path / "monitor.db").exists()


def test_web_says_when_its_port_is_taken(tmp_path: Path) -> None:
    import socket

    config = tmp_path / "monitor.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n', encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        web = monitor_process(config, "web", "--listen", f"127.0.0.1:{port}")
        _out, err = web.communicate(timeout=60)
    assert web.returncode == 2
    assert f"--listen: cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err


def test_web_shows_a_database_without_taking_over_its_watches(tmp_path: Path) -> None:
    """The demo's database holds a watch from the demo's configuration; the dashboard,
    started with another configuration, shows it and leaves it active."""
    import socket

    import httpx
    from click.testing import CliRunner

    from monitor.cli import cli

    demo = tmp_path / "demo"
    assert CliRunner().invoke(cli, ["demo", "--data-dir", str(demo)]).exit_code == 0
    database = f"sqlite:///{demo / 'demo.db'}"
    config = tmp_path / "monitor.toml"
    config.write_text(f'[database]\nurl = "{database}"\n', encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    web = monitor_process(config, "web", "--listen", f"127.0.0.1:{port}")
    try:
        base = f"http://127.0.0.1:{port}"

        def answering() -> bool:
            try:
                return httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answering)
        watches = httpx.get(f"{base}/api/v1/watches", timeout=5).json()
        assert watches["total"] == 1
        assert "Backend Engineer" in httpx.get(f"{base}/watches", timeout=5).text
    finally:
        web.send_signal(signal.SIGTERM)
        web.communicate(timeout=30)
    assert web.returncode == 0
    engine = create_db_engine(database)
    try:
        assert [w.removed_at for w in Store(engine).watches.list_watches(include_removed=True)] == [
            None
        ]
    finally:
        engine.dispose()


def test_in_json_mode_every_line_on_stderr_is_json(tmp_path: Path, db_url: str) -> None:
    import json

    from monitor.errors import StoreError

    with SeedServer(seeds_dir(), FIRST_VERSION) as server, webhook_receiver() as hook:
        config = daemon_config(tmp_path, db_url, server.url, hook.port)
        config.write_text(
            'log_format = "json"\n' + config.read_text(encoding="utf-8"), encoding="utf-8"
        )
        engine = create_db_engine(db_url)
        try:
            daemon = monitor_process(config, "run")

            def running() -> bool:
                try:
                    return bool(Store(engine).processes.daemons(running_only=True))
                except StoreError:  # not migrated yet
                    return False

            wait_until(running)
            daemon.send_signal(signal.SIGTERM)
            _out, err = daemon.communicate(timeout=30)
        finally:
            engine.dispose()
    lines = [line for line in err.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # fails on any plain-text line
    assert any(r["message"].startswith("posting-monitor running;") for r in records)
    assert all({"time", "level", "message"} <= set(r) for r in records)

    bad = tmp_path / "bad.toml"
    bad.write_text('log_format = "json"\n[database]\nurl = "sqlite:////nonexistent/x/db.sqlite"\n')
    failed = monitor_process(bad, "check")
    _out, err = failed.communicate(timeout=60)
    assert failed.returncode == 2
    (record,) = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert record["level"] == "error"
    assert "does not exist" in record["message"]


@pytest.mark.parametrize("checks", [True, False], ids=["checks", "no-checks"])
def test_web_checks_the_watches_unless_told_not_to(
    tmp_path: Path, sqlite_url: str, checks: bool
) -> None:
    """`posting-monitor web` is `run` with the dashboard: the watch is read and no page
    says nothing is checking; with --no-checks nothing is read and every page says so."""
    import socket

    import httpx

    with SeedServer(seeds_dir(), FIRST_VERSION) as server, webhook_receiver() as hook:
        config = daemon_config(tmp_path, sqlite_url, server.url, hook.port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        flags = () if checks else ("--no-checks",)
        web = monitor_process(config, "web", "--listen", f"127.0.0.1:{port}", *flags)
        try:

            def answering() -> bool:
                try:
                    return httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_until(answering)
            if checks:
                wait_until(
                    lambda: bool(httpx.get(f"{base}/api/v1/postings", timeout=5).json()["items"])
                )
            else:
                assert httpx.get(f"{base}/api/v1/postings", timeout=5).json()["items"] == []
            page = httpx.get(f"{base}/watches", timeout=5).text
            assert ("Nothing is checking the watches" in page) is not checks
        finally:
            web.send_signal(signal.SIGTERM)
            _out, err = web.communicate(timeout=30)
        assert web.returncode == 0, err
