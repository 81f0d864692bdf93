"""The procrastinate engine at scale: ``python -m bench.workers [--workers 1 2]``.

Real ``posting-monitor worker`` processes on PostgreSQL (a fresh schema) check N
generated postings served by nginx on several loopback addresses (each a host of
its own to the monitor: batches of one host run one after another, so one host
would measure politeness, not workers). For each number of workers:

1. all postings new: every one is made due at once, and the pass ends when every
   posting has its first version;
2. 10% of the pages changed: all due again, the pass ends when every posting has
   been checked again (most answer 304).

Reported per pass: checks/s from the moment postings are due until the last is
stored, and what PostgreSQL absorbed per check: WAL bytes, rows inserted, updated
and deleted, and how much the tables grew. That gives the README's capacity note.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text, update

from bench.daemon import Site, http_server, reload_server
from bench.explain import DEFAULT_URL
from monitor.store.engine import create_db_engine
from monitor.store.tables import daemons, postings, watches
from monitor.testing import postgres_schema

HOSTS = 8


@dataclass
class WorkerPass:
    workers: int
    name: str
    checks: int
    seconds: float
    checks_per_second: float
    wal_bytes_per_check: int
    rows_written_per_check: float
    stored_bytes_per_check: int


def write_config(path: Path, db_url: str, urls: list[str], concurrency: int) -> None:
    hosts = ", ".join(
        f'"127.0.0.{k}" = {{ concurrency = {concurrency}, rate = 0 }}' for k in range(1, HOSTS + 1)
    )
    lines = [
        'engine = "procrastinate"',
        'log_level = "WARNING"',
        f"[database]\nurl = {json.dumps(db_url)}",
        '[http]\nallowed_networks = ["127.0.0.0/8"]\nmax_connections = 64',
        f"hosts = {{ {hosts} }}",
        '[scheduler]\ndispatch_every = "1s"\ndeliver_every = "5s"\nheartbeat_every = "5s"',
        "max_concurrent_checks = 64\nworker_batches = 8",
    ]
    lines += [f'[[watches]]\nurl = {json.dumps(url)}\ninterval = "1d"' for url in urls]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _cli(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", "--config", str(config), *args]


def _count(engine: Engine, query: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(query) or 0)


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def _load(engine: Engine) -> tuple[int, int, int]:
    """WAL position, rows written so far in this schema, and its tables' size."""
    with engine.connect() as conn:
        wal = conn.scalar(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))
        rows, size = conn.execute(
            text(
                "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0), "
                "coalesce(sum(pg_total_relation_size(relid)), 0) "
                "FROM pg_stat_user_tables WHERE schemaname = current_schema()"
            )
        ).one()
    return int(wal or 0), int(rows), int(size)


def _make_all_due(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(postings).values(next_check_at=func.now(), lease_until=None))


def timed_pass(engine: Engine, workers: int, name: str, count: int) -> WorkerPass:
    """Make every posting due; the pass ends when each has been checked since."""
    time.sleep(1.0)  # statistics of what came before are flushed
    before = _load(engine)
    started, since = time.perf_counter(), datetime.now(UTC)
    _make_all_due(engine)
    checked = select(func.count()).select_from(postings).where(postings.c.last_checked_at >= since)
    _wait(lambda: _count(engine, checked) >= count, timeout=600, what=name)
    seconds = time.perf_counter() - started
    time.sleep(1.5)  # let the last transactions' statistics arrive
    after = _load(engine)
    return WorkerPass(
        workers=workers,
        name=name,
        checks=count,
        seconds=round(seconds, 2),
        checks_per_second=round(count / seconds, 1),
        wal_bytes_per_check=round((after[0] - before[0]) / count),
        rows_written_per_check=round((after[1] - before[1]) / count, 1),
        stored_bytes_per_check=round((after[2] - before[2]) / count),
    )


def sync_watches(config: Path) -> None:
    """Store the configuration's watches before the workers start (they find them
    synced and start at once)."""
    from monitor.app import App
    from monitor.config import load_config

    app = App(load_config(config))
    try:
        app.prepare()
    finally:
        asyncio.run(app.aclose())


def measure(workers: int, postings_count: int, args: argparse.Namespace) -> list[WorkerPass]:
    workdir = Path(tempfile.mkdtemp(prefix="pm-workers-"))
    addresses = tuple(f"127.0.0.{k}" for k in range(1, HOSTS + 1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        site = Site(workdir / "www", postings_count, board_jobs=0)
        with (
            postgres_schema(args.database, prefix="pm_bench") as url,
            http_server(site.root, "nginx", addresses) as (port, server_name, server),
        ):
            urls = [
                f"http://{addresses[job.index % HOSTS]}:{port}/p/{job.index}.html"
                for job in site.pages
            ]
            config = workdir / "monitor.toml"
            write_config(config, url, urls, args.concurrency)
            subprocess.run(_cli(config, "db", "upgrade"), env=env, check=True, capture_output=True)
            sync_watches(config)
            engine = create_db_engine(url)
            with engine.begin() as conn:  # nothing due until the pass starts
                later = func.now() + text("interval '1 day'")
                conn.execute(update(postings).values(next_check_at=later))
            processes = [
                subprocess.Popen(
                    _cli(config, "worker"),
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(workers)
            ]
            # Started: every worker registered, and the configured watches synced.
            _wait(
                lambda: (
                    _count(engine, select(func.count()).select_from(daemons)) == workers
                    and _count(engine, select(func.count()).select_from(watches)) == postings_count
                ),
                timeout=120,
                what="the workers to start",
            )
            first = timed_pass(engine, workers, "1: all new", postings_count)
            site.mutate(args.change_share)
            reload_server(server_name, server)
            second = timed_pass(engine, workers, "2: 10% changed", postings_count)
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
            engine.dispose()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    return [first, second]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.workers", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--postings", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--change-share", type=float, default=0.10)
    parser.add_argument("--concurrency", type=int, default=16, help="per host")
    parser.add_argument("--database", default=DEFAULT_URL, help="PostgreSQL to use a schema of")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    passes = [p for w in args.workers for p in measure(w, args.postings, args)]
    if args.json:
        print(json.dumps([asdict(p) for p in passes], indent=2))
        return 0
    print(f"{args.postings:,} postings on {HOSTS} hosts, PostgreSQL, nginx")
    print(
        f"{'workers':>7}  {'pass':<16} {'seconds':>8} {'checks/s':>9} "
        f"{'WAL B/check':>12} {'rows/check':>11} {'stored B/check':>15}"
    )
    for p in passes:
        print(
            f"{p.workers:>7}  {p.name:<16} {p.seconds:>8} {p.checks_per_second:>9} "
            f"{p.wal_bytes_per_check:>12,} {p.rows_written_per_check:>11} "
            f"{p.stored_bytes_per_check:>15,}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
