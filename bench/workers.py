"""The procrastinate engine at scale: ``python -m bench.workers [--workers 0 1 2]``.

Real ``posting-monitor worker`` processes on PostgreSQL (a fresh schema) check N
generated postings served by nginx on several loopback addresses (each a host of
its own to the monitor: batches of one host run one after another, so one host
would measure politeness, not workers). For each number of workers (0: one
``posting-monitor run`` daemon, the local engine in one process, on the same
database, hosts and settings, the yardstick workers are held to):

1. all postings new: every one is made due at once, and the pass ends when every
   posting has its first version;
2. 10% of the pages changed: all due again, the pass ends when every posting has
   been checked again (most answer 304).

Reported per pass: checks/s from the moment postings are due until the last is
stored; CPU per check of the monitor's processes (with their page readers) and of
PostgreSQL's; and what PostgreSQL absorbed per check: WAL bytes, rows inserted,
updated and deleted, and how much the tables grew. That gives the README's
capacity note. ``--profile FOLDER`` runs the first process under cProfile."""

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

from bench.daemon import Site, _cpu, _tree_cpu, http_server, reload_server
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
    monitor_cpu_ms_per_check: float
    """CPU of the monitor's processes (workers or daemon, their page readers)."""
    postgres_cpu_ms_per_check: float
    """CPU of every PostgreSQL process on this machine."""


def write_config(
    path: Path, db_url: str, urls: list[str], concurrency: int, *, engine: str = "procrastinate"
) -> None:
    hosts = ", ".join(
        f'"127.0.0.{k}" = {{ concurrency = {concurrency}, rate = 0 }}' for k in range(1, HOSTS + 1)
    )
    lines = [
        f"engine = {json.dumps(engine)}",
        'log_level = "WARNING"',
        f"[database]\nurl = {json.dumps(db_url)}",
        '[http]\nallowed_networks = ["127.0.0.0/8"]\nmax_connections = 64',
        f"hosts = {{ {hosts} }}",
        '[scheduler]\ndispatch_every = "1s"\ndeliver_every = "5s"\nheartbeat_every = "5s"',
        "max_concurrent_checks = 64\nworker_batches = 8\nprocesses = 1",
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


def _monitor_cpu() -> float:
    """CPU seconds of the processes this benchmark started, nginx left out."""
    return _tree_cpu() - _cpu()


def _postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process alive (Linux; 0 where it cannot see them):
    the benchmark assumes the machine, and its PostgreSQL, are its own. Like the
    monitor's, a process that ended during a pass takes its CPU with it (connections
    live as long as their pools, so few do)."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, IndexError, ValueError):
            continue
        if name.startswith("postgres"):
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def _make_all_due(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(postings).values(next_check_at=func.now(), lease_until=None))


def timed_pass(engine: Engine, workers: int, name: str, count: int) -> WorkerPass:
    """Make every posting due; the pass ends when each has been checked since."""
    time.sleep(1.0)  # statistics of what came before are flushed
    before = _load(engine)
    cpu_before = (_monitor_cpu(), _postgres_cpu())
    started, since = time.perf_counter(), datetime.now(UTC)
    _make_all_due(engine)
    checked = select(func.count()).select_from(postings).where(postings.c.last_checked_at >= since)
    _wait(lambda: _count(engine, checked) >= count, timeout=600, what=name)
    seconds = time.perf_counter() - started
    cpu = (_monitor_cpu() - cpu_before[0], _postgres_cpu() - cpu_before[1])
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
        monitor_cpu_ms_per_check=round(cpu[0] * 1000 / count, 2),
        postgres_cpu_ms_per_check=round(cpu[1] * 1000 / count, 2),
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


def _profiled(command: list[str], folder: str | None, workers: int) -> list[str]:
    """``command`` under cProfile (CPU per function, where an event loop's waits land in
    its ``select``), its pstats written to ``folder`` when it exits."""
    if folder is None:
        return command
    name = "local" if workers == 0 else f"worker-of-{workers}"
    out = Path(folder) / f"{name}.pstats"
    return [command[0], "-m", "cProfile", "-o", str(out), *command[1:]]


def measure(workers: int, postings_count: int, args: argparse.Namespace) -> list[WorkerPass]:
    """Passes of ``workers`` worker processes; 0 workers: one ``posting-monitor run``
    daemon (the local engine, one process) on the same database, hosts and settings."""
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
            local = workers == 0
            engine_name = "local" if local else "procrastinate"
            write_config(config, url, urls, args.concurrency, engine=engine_name)
            subprocess.run(_cli(config, "db", "upgrade"), env=env, check=True, capture_output=True)
            sync_watches(config)
            engine = create_db_engine(url)
            with engine.begin() as conn:  # nothing due until the pass starts
                later = func.now() + text("interval '1 day'")
                conn.execute(update(postings).values(next_check_at=later))
            command = _cli(config, "run") if local else _cli(config, "worker")
            processes = [
                subprocess.Popen(
                    _profiled(command, args.profile, workers) if n == 0 else command,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for n in range(max(workers, 1))
            ]
            # Started: every process registered, and the configured watches synced.
            _wait(
                lambda: (
                    _count(engine, select(func.count()).select_from(daemons)) == max(workers, 1)
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
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="numbers of workers to measure; 0: the local engine (one `run` process)",
    )
    parser.add_argument("--change-share", type=float, default=0.10)
    parser.add_argument("--concurrency", type=int, default=16, help="per host")
    parser.add_argument("--database", default=DEFAULT_URL, help="PostgreSQL to use a schema of")
    parser.add_argument(
        "--profile",
        metavar="FOLDER",
        help="run the first process under cProfile; its pstats file is written here",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    passes = [p for w in args.workers for p in measure(w, args.postings, args)]
    if args.json:
        print(json.dumps([asdict(p) for p in passes], indent=2))
        return 0
    print(f"{args.postings:,} postings on {HOSTS} hosts, PostgreSQL, nginx")
    print(
        f"{'workers':>7}  {'pass':<16} {'seconds':>8} {'checks/s':>9} "
        f"{'WAL B/check':>12} {'rows/check':>11} {'stored B/check':>15} "
        f"{'CPU ms/check: monitor':>22} {'PostgreSQL':>10}"
    )
    for p in passes:
        who = "local" if p.workers == 0 else str(p.workers)
        print(
            f"{who:>7}  {p.name:<16} {p.seconds:>8} {p.checks_per_second:>9} "
            f"{p.wal_bytes_per_check:>12,} {p.rows_written_per_check:>11} "
            f"{p.stored_bytes_per_check:>15,} {p.monitor_cpu_ms_per_check:>22} "
            f"{p.postgres_cpu_ms_per_check:>10}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
