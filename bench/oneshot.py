"""The one-shot path at scale: ``python -m bench.oneshot [--postings 1000 10000]``.

What cron users and peer benchmarks run: ``posting-monitor check`` started as a new
process over N watches listed in its configuration file, on the same local site as
``bench.daemon`` (N posting pages with JSON-LD, served on 127.0.0.1). For each N:

1. first pass: a new database; start, sync the configuration's watches, check
   every page (all new), write, exit;
2. second pass: 10% of the pages changed in between; start again, check all
   (most answer 304), exit;

and, for comparison, the daemon's engine over the same pages on the same server
(in this process, as ``bench.daemon`` runs it). Reported per pass: wall seconds
including start-up and exit, checks/s, the check process's peak RSS (and with its
page readers), and the one-shot rate as a share of the daemon's. Also the start-up
of ``--version`` and of ``status`` on an empty database, median of 5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.daemon import Site, build_app, http_server, reload_server, run_pass
from bench.scoring import Detected, Edit, score
from monitor.engines.lifecycle import tune_gc

TARGET_SHARE = 0.8
TARGET_RSS_MB = 150.0


@dataclass
class OneShot:
    name: str
    checks: int
    seconds: float
    checks_per_second: float
    peak_rss_mb: float
    peak_rss_with_readers_mb: float
    exit_code: int
    summary: str


def _cli() -> list[str]:
    return [sys.executable, "-m", "monitor"]


def write_config(path: Path, urls: list[str], data_dir: Path, concurrency: int) -> None:
    lines = [
        f"data_dir = {json.dumps(str(data_dir))}",
        'log_level = "WARNING"',
        "[scheduler]",
        f"max_concurrent_checks = {concurrency}",
        "[http]",
        f"max_connections = {concurrency}",
        'allowed_networks = ["127.0.0.1/32"]',
        f'hosts = {{ "127.0.0.1" = {{ concurrency = {concurrency}, rate = 0 }} }}',
    ]
    lines += [f"[[watches]]\nurl = {json.dumps(url)}" for url in urls]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _tree(pid: int) -> list[int]:
    """The process and its descendants, from /proc."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            tasks = Path(f"/proc/{current}/task")
            for task in tasks.iterdir():
                children = (task / "children").read_text().split()
                queue.extend(int(c) for c in children)
        except OSError:
            continue
    return found


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_check(name: str, config: Path, checks: int) -> OneShot:
    """One `posting-monitor check`, timed from exec to exit, memory sampled from /proc."""
    # Files, not pipes: the console channel prints every alert, more than a pipe holds.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*_cli(), "--config", str(config), "check"], stdout=out, stderr=err
        )
        peak_main = peak_tree = 0
        while process.poll() is None:
            peak_main = max(peak_main, _status_kb(process.pid, "VmHWM"))
            tree = sum(_status_kb(p, "VmRSS") for p in _tree(process.pid))
            peak_tree = max(peak_tree, tree)
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        last_lines = out.read().strip().splitlines() or err.read().strip().splitlines()
    return OneShot(
        name=name,
        checks=checks,
        seconds=round(seconds, 2),
        checks_per_second=round(checks / seconds, 1),
        peak_rss_mb=round(peak_main / 1024, 1),
        peak_rss_with_readers_mb=round(peak_tree / 1024, 1),
        exit_code=process.returncode,
        summary=(last_lines or [""])[-1],
    )


async def daemon_passes(
    workdir: Path, site: Site, port: int, args: argparse.Namespace, reload: Callable[[], None]
) -> list[Any]:
    """The daemon's engine over the same pages (no board), first and second pass."""
    engine_args = argparse.Namespace(
        database=None, concurrency=args.concurrency, readers=None, processes=1
    )
    app = build_app(workdir, port, engine_args)
    try:
        app.prepare()
        specs = [
            app.watches.watch_spec(site.page_url(job, port), interval=timedelta(hours=1))
            for job in site.pages
        ]
        app.store.watches.sync_config_watches(specs, now=app.clock.now())
        tune_gc()
        first = await run_pass(app, "daemon 1: all new")
        site.mutate(args.change_share)
        reload()
        second = await run_pass(app, "daemon 2: 10% changed")
    finally:
        await app.aclose()
    return [first, second]


def measure(postings: int, args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="pm-oneshot-"))
    try:
        site = Site(workdir / "www", postings, board_jobs=0)
        with http_server(site.root, args.server) as (port, server_name, process):
            urls = [site.page_url(job, port) for job in site.pages]
            config = workdir / "monitor.toml"
            write_config(config, urls, workdir / "data", args.concurrency)
            first = run_check("one-shot 1: all new", config, postings)
            since = datetime.now(UTC)
            edits = site.mutate(args.change_share)
            reload_server(server_name, process)
            second = run_check("one-shot 2: 10% changed", config, postings)
            detection = _scored(config, edits, since)
            # The daemon on a site of its own, in the same state as the one-shot's was.
            daemon_site = Site(workdir / "www-daemon", postings, board_jobs=0)
        with http_server(daemon_site.root, args.server) as (port, name, server):
            daemon = asyncio.run(
                daemon_passes(
                    workdir / "daemon", daemon_site, port, args, lambda: reload_server(name, server)
                )
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    shares = [
        round(o.checks_per_second / d.checks_per_second, 2)
        for o, d in zip((first, second), daemon, strict=True)
    ]
    return {
        "postings": postings,
        "server": server_name,
        "oneshot": [asdict(first), asdict(second)],
        "daemon": [asdict(d) for d in daemon],
        "share_of_daemon": shares,
        "detection": detection,
    }


def _scored(config: Path, edits: list[Edit], since: datetime) -> dict[str, Any]:
    """The one-shot pass's changes scored against the edits made (bench.scoring), like
    bench.daemon's: each page's URL stands for the posting the edit names."""
    from sqlalchemy import select

    from monitor.config import load_config
    from monitor.store.engine import create_db_engine
    from monitor.store.tables import changes, postings

    engine = create_db_engine(load_config(config).database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(postings.c.url, changes.c.field, changes.c.new)
                .join(changes, changes.c.posting_id == postings.c.id)
                .where(changes.c.detected_at >= since)
                .order_by(changes.c.id)
            ).all()
    finally:
        engine.dispose()
    found = [Detected(_page_key(url), field, new) for url, field, new in rows]
    scored = score(edits, found)
    return {**scored.summary(), "perfect": scored.perfect}


def _page_key(url: str) -> str:
    """'http://127.0.0.1:8123/p/17.html' -> 'page:17' (the key the edits use)."""
    return "page:" + url.rsplit("/", 1)[-1].removesuffix(".html")


def startup(repeats: int = 5) -> dict[str, float]:
    """Median wall seconds of `--version` and of `status` on an empty database."""
    with tempfile.TemporaryDirectory(prefix="pm-startup-") as tmp:
        env = {**os.environ, "MONITOR_DATA_DIR": tmp}
        subprocess.run([*_cli(), "db", "upgrade"], env=env, check=True, capture_output=True)
        figures = {}
        for name, command in (("--version", ["--version"]), ("status", ["status"])):
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                subprocess.run([*_cli(), *command], env=env, check=True, capture_output=True)
                times.append(time.perf_counter() - started)
            figures[name] = round(statistics.median(times), 3)
    return figures


def print_report(result: dict[str, Any]) -> None:
    start = result["startup"]
    print(
        f"start-up (median): --version {start['--version']} s (target < 0.3), "
        f"status on an empty database {start['status']} s (target < 0.6)"
    )
    for run in result["runs"]:
        print(f"\n{run['postings']:,} postings, server: {run['server']}")
        print(
            f"{'pass':<26} {'seconds':>8} {'checks/s':>9} {'of daemon':>10} "
            f"{'peak RSS MB':>12} {'with readers':>13}  summary"
        )
        for shot, share in zip(run["oneshot"], run["share_of_daemon"], strict=True):
            print(
                f"{shot['name']:<26} {shot['seconds']:>8} {shot['checks_per_second']:>9} "
                f"{share:>9.0%} {shot['peak_rss_mb']:>12} {shot['peak_rss_with_readers_mb']:>13}"
                f"  {shot['summary']}"
            )
        for d in run["daemon"]:
            print(f"{d['name']:<26} {d['seconds']:>8} {d['checks_per_second']:>9}")
        found = run["detection"]
        kinds = ", ".join(
            f"{kind} {k['detected']}/{k['made']}" for kind, k in found["by_kind"].items()
        )
        print(
            f"one-shot pass 2 found {found['edits_detected']} of {found['edits_made']} edits "
            f"({kinds}); {found['wrong_values']} wrong, {found['false_changes']} false, "
            f"{found['extra_changes']} extra"
        )
    print(
        f"\ntargets: one-shot at least {TARGET_SHARE:.0%} of the daemon's checks/s at 10,000, "
        f"peak RSS under {TARGET_RSS_MB:.0f} MB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.oneshot", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--postings", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--change-share", type=float, default=0.10)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--server", choices=("auto", "nginx", "python"), default="auto")
    parser.add_argument(
        "--repeats", type=int, default=5, help="start-up runs to take the median of"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    runs = [measure(n, args) for n in args.postings]
    result = {"startup": startup(args.repeats), "runs": runs}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_report(result)
    failed = [shot for run in runs for shot in run["oneshot"] if shot["exit_code"] != 0]
    missed = [run for run in runs if not run["detection"]["perfect"]]
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
