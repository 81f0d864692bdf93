"""procrastinate workers as real processes on PostgreSQL: they share the work within
each host's limit, stop cleanly on SIGTERM, and a worker killed mid-batch loses
nothing."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor.store import Store
from monitor.store.engine import create_db_engine, upgrade
from monitor.store.tables import snapshots
from tests.acceptance.test_daemon import wait_until
from tests.conftest import seed_text
from tests.harness import monitor_process, queue_alerts
from tests.peers import webhook_receiver

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
PAGE = seed_text("stripe-backend-engineer.html").encode()
HOST_LIMIT = 2


class CountingServer:
    """Serves the same posting at every path after ``pause`` seconds, counting
    requests per path and the most in flight at once."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.hits: Counter[str] = Counter()
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()

    def handle(self, path: str) -> bytes:
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.hits[path] += 1
        try:
            time.sleep(self.pause)
        finally:
            with self._lock:
                self.in_flight -= 1
        return PAGE


@contextmanager
def counting_server(pause: float) -> Iterator[tuple[CountingServer, int]]:
    counter = CountingServer(pause)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = counter.handle(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield counter, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def worker_config(tmp_path: Path, db_url: str, port: int, postings: int) -> Path:
    path = tmp_path / "monitor.toml"
    watches = "".join(
        f'[[watches]]\nurl = "http://127.0.0.1:{port}/jobs/{n}"\ninterval = "1h"\n'
        for n in range(postings)
    )
    path.write_text(
        f'engine = "procrastinate"\n'
        f'[database]\nurl = "{db_url}"\n'
        f'[http]\nallowed_networks = ["127.0.0.1/32"]\n'
        f'hosts = {{ "127.0.0.1" = {{ concurrency = {HOST_LIMIT}, rate = 0 }} }}\n'
        f'[scheduler]\ndispatch_every = "1s"\ndeliver_every = "1s"\nheartbeat_every = "1s"\n'
        f"{watches}",
        encoding="utf-8",
    )
    return path


def upgraded(config: Path) -> str:
    out, err = monitor_process(config, "db", "upgrade").communicate(timeout=60)
    assert "procrastinate job tables created" in out, err
    return out


def stop_all(workers: list[subprocess.Popen[str]]) -> list[tuple[int | None, str]]:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    results = []
    for worker in workers:
        _out, err = worker.communicate(timeout=60)
        results.append((worker.returncode, err))
    return results


def versions(db_url: str) -> int:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(snapshots)) or 0)
    finally:
        engine.dispose()


def test_three_workers_share_the_checks_within_the_host_limit(
    tmp_path: Path, postgres_url: str
) -> None:
    with counting_server(pause=0.05) as (server, port):
        config = worker_config(tmp_path, postgres_url, port, postings=120)
        upgraded(config)
        workers = [monitor_process(config, "worker") for _ in range(3)]
        try:
            wait_until(lambda: len(server.hits) == 120, timeout=90)
            wait_until(lambda: versions(postgres_url) == 120, timeout=30)
        finally:
            results = stop_all(workers)
        status = monitor_process(config, "status").communicate(timeout=60)[0]
    assert [code for code, _err in results] == [0, 0, 0], results
    assert set(server.hits.values()) == {1}, "a posting was fetched twice"
    assert server.peak <= HOST_LIMIT, f"{server.peak} requests at once to one host"
    assert "no daemon or worker running" in status  # all three stopped and said so


def test_a_worker_killed_mid_batch_loses_nothing(tmp_path: Path, postgres_url: str) -> None:
    with counting_server(pause=0.3) as (server, port):
        config = worker_config(tmp_path, postgres_url, port, postings=20)
        upgraded(config)
        doomed = monitor_process(config, "worker")
        wait_until(lambda: server.hits.total() >= 4, timeout=60)
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate()
        killed_at = time.monotonic()
        others = [monitor_process(config, "worker") for _ in range(2)]
        try:
            wait_until(lambda: versions(postgres_url) == 20, timeout=150)
            recovered_in = time.monotonic() - killed_at
        finally:
            results = stop_all(others)
    assert [code for code, _err in results] == [0, 0], results
    assert sorted(server.hits) == sorted(f"/jobs/{n}" for n in range(20))
    # The killed worker's batch runs again once its heartbeat is stale (30 s) or
    # its lease ends (60 s), whichever comes first.
    assert recovered_in < 100, recovered_in


def test_a_worker_killed_while_delivering_loses_no_alert_and_repeats_one_at_most(
    tmp_path: Path, postgres_url: str
) -> None:
    engine = create_db_engine(postgres_url)
    upgrade(engine)
    store = Store(engine)
    try:
        queue_alerts(store, 12)
        for watch in store.watches.list_watches():  # the workers only deliver
            store.watches.remove_watch(str(watch.id), now=datetime.now(UTC))
        with webhook_receiver() as hook:
            hook.delay = 0.3  # the kill lands while a send is in flight
            config = tmp_path / "monitor.toml"
            config.write_text(
                f'engine = "procrastinate"\n[database]\nurl = "{postgres_url}"\n'
                '[scheduler]\ndeliver_every = "1s"\nheartbeat_every = "1s"\n'
                '[alerts]\nsend_timeout = "1s"\n'
                f'[[channels]]\nname = "hook"\nurl = "json://127.0.0.1:{hook.port}/alerts"\n',
                encoding="utf-8",
            )
            upgraded(config)
            doomed = monitor_process(config, "worker")
            wait_until(lambda: hook.attempts >= 3, timeout=60)
            doomed.send_signal(signal.SIGKILL)
            doomed.communicate()
            others = [monitor_process(config, "worker") for _ in range(2)]
            try:
                wait_until(
                    lambda: all(a.status == "sent" for a in store.outbox.alerts()), timeout=90
                )
            finally:
                results = stop_all(others)
            received = Counter(post["title"] for post in hook.posts)
        assert [code for code, _err in results] == [0, 0], results
        assert set(received) == {a.alert.title for a in store.outbox.alerts()}  # none lost
        assert sum(n - 1 for n in received.values()) <= 1, received  # the one in flight
    finally:
        engine.dispose()
