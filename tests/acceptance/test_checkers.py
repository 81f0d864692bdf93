"""The daemon on several cores (``scheduler.processes``): checker processes share the
postings, the host limits hold across them, one that dies is replaced, and a stop
ends them all."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from monitor.demo import FIRST_VERSION, seeds_dir
from monitor.store import Store
from monitor.store.engine import create_db_engine
from tests.acceptance.test_daemon import wait_until
from tests.harness import monitor_process

pytestmark = pytest.mark.slow
POSTINGS = 40


class CountingServer:
    """Serves the seed posting at /job/N (a distinct posting per N), slowly, and
    records how many requests were in flight at once."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.in_flight = 0
        self.most_at_once = 0
        self.served = 0
        self._lock = threading.Lock()
        self._body = (seeds_dir() / FIRST_VERSION).read_bytes()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = int(self._server.server_address[1])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.arrived()
                try:
                    time.sleep(server.delay)
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(server._body)))
                    self.end_headers()
                finally:
                    # Before the last bytes: the client frees its place once it has
                    # them, and its next request may come before this thread runs on.
                    server.left()
                self.wfile.write(server._body)

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        return Handler

    def arrived(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.served += 1
            self.most_at_once = max(self.most_at_once, self.in_flight)

    def left(self) -> None:
        with self._lock:
            self.in_flight -= 1

    @contextmanager
    def running(self) -> Iterator[CountingServer]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


def config_for(tmp_path: Path, db_url: str, port: int, *, concurrency: int) -> Path:
    watches = "".join(
        f'[[watches]]\nurl = "http://127.0.0.1:{port}/job/{n}"\ninterval = "1h"\n'
        for n in range(POSTINGS)
    )
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"""
[database]
url = "{db_url}"
[http]
allowed_networks = ["127.0.0.1/32"]
per_host_concurrency = {concurrency}
per_host_rate = 0
[scheduler]
processes = 2
max_concurrent_checks = 2
dispatch_every = 0.2
deliver_every = 0.2
heartbeat_every = 0.5
batch_size = 5
[reading]
workers = 1
[[channels]]
name = "console"
url = "console://"
{watches}""",
        encoding="utf-8",
    )
    return path


def checked(store: Store) -> int:
    try:
        return sum(1 for w in store.views.all_watches() if w.last_checked_at is not None)
    except Exception:  # not migrated yet
        return 0


def checker_pids(err: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"checker process 1 started \(pid (\d+)\)", err)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


def test_two_processes_share_the_postings_and_one_host_limit(tmp_path: Path, db_url: str) -> None:
    with CountingServer(delay=0.25).running() as server:
        config = config_for(tmp_path, db_url, server.port, concurrency=2)
        engine = create_db_engine(db_url)
        daemon = monitor_process(config, "run")
        try:
            store = Store(engine)
            wait_until(lambda: checked(store) == POSTINGS)
            daemon.send_signal(signal.SIGTERM)
            _out, err = daemon.communicate(timeout=60)
            (record,) = store.processes.daemons()
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.communicate()
            engine.dispose()
    assert daemon.returncode == 0, err
    assert "Traceback" not in err
    assert "checked in 2 processes" in err
    # Both processes checked, and never more than the host's 2 requests at once in all.
    (by_checker,) = re.findall(r"checker \S+/1 stopped after (\d+) checks", err)
    assert 0 < int(by_checker) < POSTINGS
    assert server.most_at_once == 2
    assert server.served == POSTINGS
    assert record.checks == POSTINGS  # the heartbeat and the stop count every process
    (pid,) = checker_pids(err)
    assert not alive(pid)


def test_a_checker_that_dies_is_replaced_and_its_postings_checked(
    tmp_path: Path, db_url: str
) -> None:
    with CountingServer(delay=0.3).running() as server:
        config = config_for(tmp_path, db_url, server.port, concurrency=1)
        engine = create_db_engine(db_url)
        daemon = monitor_process(config, "run")
        lines: list[str] = []
        reading = threading.Thread(target=lambda: lines.extend(daemon.stderr or []), daemon=True)
        reading.start()
        try:
            store = Store(engine)
            wait_until(lambda: bool(checker_pids("".join(lines))) and checked(store) >= 2)
            (first,) = checker_pids("".join(lines))
            os.kill(first, signal.SIGKILL)
            wait_until(lambda: len(checker_pids("".join(lines))) == 2, timeout=30)
            # Sooner than its leases (60 s) would run out: what it held was given back.
            wait_until(lambda: checked(store) == POSTINGS, timeout=45)
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
            reading.join(timeout=10)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
            for pipe in (daemon.stdout, daemon.stderr):
                if pipe is not None:
                    pipe.close()
            engine.dispose()
    err = "".join(lines)
    assert daemon.returncode == 0, err
    assert "checker process 1 ended (killed by SIGKILL); starting it again in 5s" in err
    assert "Traceback" not in err
    second = checker_pids(err)[1]
    assert not alive(second)
    assert not alive(first)
