"""Secrets never show: every command, the daemon's log and its /metrics page, at
DEBUG, with channels that fail (so error messages are made and stored) and, on
PostgreSQL, a database password in the URL."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.demo import FIRST_VERSION, REVISED_VERSION, SeedServer, seeds_dir
from monitor.urls import shown_url
from tests.acceptance.test_daemon import wait_until
from tests.peers import free_port

HOOK_PASSWORD = "HookPassw0rdQ7"
HEADER_TOKEN = "HeaderTok3nZ9"
PAYLOAD_SECRET = "PayloadS3cretK4"
ENV_TOKEN = "EnvTok3nW2"
DB_PASSWORD = "DbPassw0rdM5"
WATCH_PASSWORD = "WatchPassw0rdR8"
SECRETS = (HOOK_PASSWORD, HEADER_TOKEN, PAYLOAD_SECRET, ENV_TOKEN, DB_PASSWORD, WATCH_PASSWORD)


def with_credentials(url: str, user: str) -> str:
    """A watched URL holding a login, as people paste from a browser."""
    return url.replace("http://", f"http://{user}:{WATCH_PASSWORD}@", 1)


def with_password(db_url: str) -> str:
    """PostgreSQL's trust authentication ignores the password, so any will do."""
    if not db_url.startswith("postgresql"):
        return db_url
    return db_url.replace("postgres@", f"postgres:{DB_PASSWORD}@", 1)


@pytest.fixture
def server() -> Iterator[SeedServer]:
    with SeedServer(seeds_dir(), FIRST_VERSION) as seed_server:
        yield seed_server


@pytest.fixture
def config(tmp_path: Path, db_url: str, server: SeedServer) -> Path:
    closed = free_port()  # nothing listens: every delivery fails and says why
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"""
log_level = "DEBUG"
[database]
url = "{with_password(db_url)}"
[http]
allowed_networks = ["127.0.0.1/32"]
[scheduler]
dispatch_every = 0.2
deliver_every = 0.2
metrics_listen = "127.0.0.1:0"
[alerts]
max_attempts = 2
retry_base = "1s"
[[channels]]
name = "hook"
url = "json://alice:{HOOK_PASSWORD}@127.0.0.1:{closed}/alerts?+X-Token={HEADER_TOKEN}&:key={PAYLOAD_SECRET}"
[[channels]]
name = "from-env"
url = "${{env:PM_TEST_HOOK}}"
[[watches]]
url = "{server.url}"
interval = "1h"
[[watches]]
url = "{with_credentials(server.url, "carol")}"
interval = "1h"
[[watches]]
url = "{with_credentials(f"http://127.0.0.1:{closed}/jobs/gone", "dave")}"
interval = "1h"
""",
        encoding="utf-8",
    )
    return path


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text or quote(s) in text]


def test_no_command_prints_or_logs_a_secret(
    config: Path,
    server: SeedServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed = free_port()
    monkeypatch.setenv("PM_TEST_HOOK", f"json://bob:{ENV_TOKEN}@127.0.0.1:{closed}/env")
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    commands = [
        ["check"],
        ["alerts"],
        ["test-notify"],
        ["status"],
        ["status", "--json"],
        ["watch", "list"],
        ["history", server.url],
        ["history", with_credentials(server.url, "carol")],
        ["history", with_credentials(server.url, "carol"), "--json"],
        ["health"],
        ["db", "upgrade"],
        ["test-source", server.url],
    ]
    outputs = []
    for args in commands:
        if args == ["alerts"]:
            server.current = REVISED_VERSION  # a change, so alerts are made and fail
            outputs.append(runner.invoke(cli, ["--config", str(config), "check"]).output)
        result = runner.invoke(cli, ["--config", str(config), *args])
        typed = " ".join(shown_url(a) for a in args)  # what the user typed is not our output
        outputs.append(f"$ {typed} (exit {result.exit_code})\n{result.output}")
    everything = "\n".join(outputs) + "\n" + caplog.text
    assert "did not accept the message" in everything, "deliveries must fail for this test"
    assert "alice:****@" in everything  # the channel is named, masked
    assert "carol:***@127.0.0.1" in everything  # so is a watched URL's login
    assert "dave:***@127.0.0.1" in everything
    assert leaks(everything) == [], everything


def test_the_daemon_log_and_metrics_page_show_no_secret(config: Path, tmp_path: Path) -> None:
    closed, metrics = free_port(), free_port()
    config.write_text(
        config.read_text().replace('"127.0.0.1:0"', f'"127.0.0.1:{metrics}"'), encoding="utf-8"
    )
    env = {**os.environ, "PM_TEST_HOOK": f"json://bob:{ENV_TOKEN}@127.0.0.1:{closed}/env"}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pages: list[str] = []

    def metrics_page() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics") as answer:
                pages.append(answer.read().decode())
        except OSError:
            return False
        return "posting_monitor_checks_total" in pages[-1]

    try:
        wait_until(metrics_page, timeout=30)
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=30)
    assert "daemon started" in err
    assert leaks(out + err + pages[-1]) == [], err


def test_an_unreadable_secret_file_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 0600 file of another user (what `umask 077` or a secrets tool writes); the tests
    run as root, who reads any file, so the refusal is played by the file system call."""
    import os

    from monitor.config import load_config
    from monitor.errors import ConfigError

    secret = tmp_path / "db_password.txt"
    secret.write_text("hunter2\n", encoding="utf-8")
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[database]\nurl = "postgresql+psycopg://monitor:${{file:{secret}}}@db/monitor"\n',
        encoding="utf-8",
    )
    real = Path.read_text

    def refuse(path: Path, *args: object, **kwargs: object) -> str:
        if path == secret:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    message = str(caught.value)
    assert f"readable by uid {os.getuid()}" in message
    assert f"chmod 0644 {secret}" in message
    assert "hunter2" not in message
