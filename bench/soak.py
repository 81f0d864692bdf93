"""Memory over a long run: ``python -m bench.soak [--minutes 30] [--postings 1000]``.

Starts the real daemon (``posting-monitor run``, in its own process) on N generated
postings served by a local HTTP server (as ``bench.daemon``), checking each every
``--interval`` seconds, while 1% of the pages are edited every minute. Samples the
daemon's RSS every 15 s and reports the growth from the end of the warm-up (the
first fifth of the run) to the end; the goal is under 10%. Every edit is kept and
the changes the daemon stored are scored against them (``bench.scoring``: detected
with the right new value, wrong value, missed, false, extra); edits stop early
enough before the end for every one to be checked.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.daemon import Site, http_server, reload_server
from bench.scoring import Detected, Edit, score


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def write_config(workdir: Path, site: Site, port: int, interval: int) -> Path:
    watches = "".join(
        f'[[watches]]\nurl = "{site.page_url(job, port)}"\ninterval = "{interval}s"\n'
        for job in site.pages
    )
    path = workdir / "monitor.toml"
    path.write_text(
        f"""data_dir = "{workdir / "data"}"
log_level = "WARNING"
[scheduler]
dispatch_every = 1
max_concurrent_checks = 32
[http]
allowed_networks = ["127.0.0.1/32"]
[http.hosts."127.0.0.1"]
concurrency = 32
rate = 0
[[channels]]
name = "console"
url = "console://"
{watches}""",
        encoding="utf-8",
    )
    return path


def soak(args: argparse.Namespace) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="pm-soak-"))
    samples: list[tuple[float, float]] = []
    edits: list[Edit] = []
    try:
        site = Site(workdir / "www", args.postings, board_jobs=0)
        with http_server(site.root, args.server) as (port, server_name, process):
            config = write_config(workdir, site, port, args.interval)
            env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
            daemon = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(config), "run"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            )  # fmt: skip
            started = time.monotonic()
            next_change = started + 60
            # The last edit must still be seen: a few check intervals and a sample.
            last_edit = args.minutes * 60 - (3 * args.interval + 15)
            try:
                while time.monotonic() - started < args.minutes * 60:
                    time.sleep(15)
                    elapsed = time.monotonic() - started
                    if daemon.poll() is not None:
                        raise SystemExit(f"the daemon exited: {daemon.returncode}")
                    samples.append((round(elapsed), round(rss_mb(daemon.pid), 1)))
                    print(f"{samples[-1][0]:>6}s  RSS {samples[-1][1]} MB", flush=True)
                    if time.monotonic() >= next_change and elapsed < last_edit:
                        edits.extend(site.mutate(0.01))
                        reload_server(server_name, process)
                        next_change += 60
            finally:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(timeout=60)
            checks, found = _stored(workdir / "data" / "monitor.db", site, port)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    warm = [rss for t, rss in samples if t >= args.minutes * 60 / 5]
    growth = (warm[-1] - warm[0]) / warm[0] * 100 if len(warm) > 1 else 0.0
    return {
        "minutes": args.minutes,
        "postings": args.postings,
        "interval_seconds": args.interval,
        "rss_after_warmup_mb": warm[0] if warm else None,
        "rss_end_mb": warm[-1] if warm else None,
        "rss_peak_mb": max(rss for _t, rss in samples) if samples else None,
        "growth_percent": round(growth, 1),
        "daemon_exit_code": daemon.returncode,
        "checks": checks,
        "detection": score(edits, found).summary(),
    }


def _stored(database: Path, site: Site, port: int) -> tuple[int, list[Detected]]:
    """Checks made, and every change stored, named by the edited posting's key."""
    keys = {site.page_url(job, port): f"page:{job.index}" for job in site.pages}
    with sqlite3.connect(database) as conn:
        checks = conn.execute("SELECT coalesce(sum(checks), 0) FROM daemons").fetchone()[0]
        rows = conn.execute(
            "SELECT p.url, c.field, c.new FROM changes c JOIN postings p ON p.id = c.posting_id"
            " ORDER BY c.id"
        ).fetchall()
    return int(checks), [Detected(keys.get(url, url), field, new) for url, field, new in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--postings", type=int, default=1000)
    parser.add_argument(
        "--interval", type=int, default=5, help="seconds between checks of a posting"
    )
    parser.add_argument("--server", choices=("auto", "nginx", "python"), default="auto")
    args = parser.parse_args(argv)
    result = soak(args)
    print(json.dumps(result, indent=2))
    detection = result["detection"]
    assert isinstance(detection, dict)
    perfect = detection["edits_detected"] == detection["edits_made"] and not (
        detection["false_changes"] or detection["extra_changes"]
    )
    healthy = result["growth_percent"] < 10 and result["daemon_exit_code"] == 0  # type: ignore[operator]
    return 0 if healthy and perfect else 1


if __name__ == "__main__":
    sys.exit(main())
