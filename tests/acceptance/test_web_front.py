"""A crowd of slow, unauthenticated clients against `posting-monitor web` as a real
process on 127.0.0.1, with few open files allowed: the dashboard keeps answering, the
crowd is refused or timed out, and the log stays short."""

from __future__ import annotations

import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.acceptance.test_daemon import wait_until

pytestmark = pytest.mark.slow
CROWD = 600  # more than the server's 256 open files and its listen backlog of 128


def _few_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def _start(tmp_path: Path, command: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``posting-monitor web``, or ``run`` with ``web.listen``, allowed 256 open files."""
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[web]\nlisten = "127.0.0.1:{port}"\n'
        'max_connections = 40\nrequest_timeout = "2s"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    with log.open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), command],
            stdout=subprocess.DEVNULL, stderr=err, env=env, preexec_fn=_few_files,
        )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _status(base: str, timeout: float = 3.0) -> int | None:
    try:
        return httpx.get(f"{base}/api/v1/health", timeout=timeout).status_code
    except httpx.HTTPError:
        return None


def _crowd(port: int) -> list[socket.socket]:
    """Connections that send the first line of a request and then nothing more."""
    crowd = []
    for _ in range(CROWD):
        client = socket.socket()
        client.settimeout(3)
        client.connect(("127.0.0.1", port))
        client.sendall(b"GET /api/v1/health HTTP/1.1\r\n")
        crowd.append(client)
    return crowd


def _answers(crowd: list[socket.socket], timeout: float) -> list[bytes]:
    """The first bytes each member of the crowd was answered with (b"" for none)."""
    answers = dict.fromkeys(crowd, b"")
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as waiting:
        for client in crowd:
            waiting.register(client, selectors.EVENT_READ, data=client)
        while waiting.get_map() and time.monotonic() < deadline:
            for key, _events in waiting.select(0.5):
                client = key.data
                try:
                    answers[client] = client.recv(64)
                except OSError:
                    answers[client] = b"reset"
                waiting.unregister(client)
    return list(answers.values())


@pytest.mark.parametrize("command", ["web", "run"])
def test_the_dashboard_answers_through_a_crowd_of_slow_clients(
    tmp_path: Path, command: str
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "stderr.log"
    web = _start(tmp_path, command, port, log)
    crowd: list[socket.socket] = []
    try:
        wait_until(lambda: _status(base) == 200)
        crowd = _crowd(port)
        started = time.monotonic()
        assert _status(base) in (200, 503)  # answered at once: served, or plainly refused
        wait_until(lambda: _status(base) == 200, timeout=10)
        assert time.monotonic() - started < 8
        answers = _answers(crowd, timeout=10)
        refused = sum(a.startswith(b"HTTP/1.1 503") for a in answers)
        timed_out = sum(a.startswith(b"HTTP/1.1 408") for a in answers)
        assert refused + timed_out == CROWD  # each one answered: none left hanging
        assert refused > CROWD // 2  # most at once, the rest at their deadline
        assert refused + timed_out == CROWD
        assert web.poll() is None
    finally:
        for client in crowd:
            client.close()
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=30)
    assert web.returncode == 0
    assert log.stat().st_size < 5000, log.read_text(encoding="utf-8")[:2000]
