"""Server time of the dashboard's pages and the API's lists at scale:
``python -m bench.web [--watches 30000] [--changes 1000000] [--database sqlite|postgresql]``.

Fills a fresh database (SQLite file, or a fresh PostgreSQL schema) with N single-posting
watches across 300 companies, each with a stored version holding pay, and M changes
spread over a year (pay, remote, requirements, title, status), then requests each page
and list in-process (httpx's ASGI transport: no network, so what is timed is the
application and its queries) and reports the median and 95th percentile of 15
requests each. Targets (issue 14): pages under 150 ms, API lists under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import Engine, text

from monitor.app import App
from monitor.config import ChannelConfig, MonitorConfig
from monitor.store.engine import create_db_engine, upgrade
from monitor.testing import postgres_schema
from monitor.web.app import close_web_app, create_web_app

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1/test"
PAGES = {
    "page: watches": "/watches",
    "page: watches, sorted by last change, page 300": "/watches?sort=last_change&order=desc&page=300",
    "page: watches, search": "/watches?q=engineer%2012",
    "page: watches, one company": "/watches?company=Company%20007",
    "page: a posting": "/postings/{posting}",
    "page: changes, pay": "/changes?field=pay",
    "page: changes, one company": "/changes?company=Company%20007",
    "page: changes, requirements since a date": "/changes?field=requirements&since={since}",
}
API = {
    "api: watches": "/api/v1/watches",
    "api: watches, page 300 by next check": "/api/v1/watches?sort=next_check&page=300",
    "api: postings, one company": "/api/v1/postings?company=Company%20007",
    "api: changes": "/api/v1/changes",
    "api: changes, pay": "/api/v1/changes?field=pay",
    "api: changes, one watch": "/api/v1/changes?watch={watch}",
    "api: changes, one company, page 2": "/api/v1/changes?company=Company%20007&cursor={cursor}",
    "api: alerts": "/api/v1/alerts",
}
TARGETS = {"page": 150.0, "api": 100.0}

_SEQ = "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :n) "
_FILL = (
    _SEQ
    + """INSERT INTO watches (id, url, source_kind, interval_seconds, channels, origin, created_at)
    SELECT n, 'https://jobs.example.com/' || n, 'jsonld', 3600, '[]', 'cli', :t0 FROM seq""",
    _SEQ
    + """INSERT INTO snapshots (id, posting_id, content_hash, data, captured_at)
    SELECT n, n, 'h' || n, CAST(:data AS {json}), :t0 FROM seq""",
    _SEQ
    + """INSERT INTO postings (id, watch_id, source_kind, source_id, url, title, company,
        status, current_snapshot_id, next_check_at, last_checked_at, consecutive_failures,
        gone_count, created_at, role, suspect_count, last_changed_at)
    SELECT n, n, 'jsonld', 'https://jobs.example.com/' || n, 'https://jobs.example.com/' || n,
        'Engineer ' || n, 'Company ' || substr('00' || (n % 300), length('00' || (n % 300)) - 2, 3), 'open', n,
        :t0, :t0, 0, 0, :t0, 'single', 0, :t0 FROM seq""",
    _SEQ
    + """INSERT INTO changes (posting_id, snapshot_id, detected_at, field, kind, old, new, summary,
        percent)
    SELECT (n % :w) + 1, (n % :w) + 1, :t0,
        CASE n % 5 WHEN 0 THEN 'salary' WHEN 1 THEN 'remote' WHEN 2 THEN 'requirements.minimum'
             WHEN 3 THEN 'title' ELSE 'status' END,
        'changed', 'old ' || n, 'new ' || n,
        'salary range 100,000–120,000 USD/yr → 106,000–126,000 (+6.0% / +5.0%)',
        CASE n % 5 WHEN 0 THEN 6.0 END FROM seq""",
    _SEQ
    + """INSERT INTO outbox (dedupe_key, posting_id, channel, title, body_text, body_markdown,
        status, attempts, next_attempt_at, created_at)
    SELECT 'k' || n, n, 'console', 'alert ' || n, 'b', 'b', 'sent', 1, :t0, :t0 FROM seq""",
)
_DATA = {
    "source_kind": "jsonld",
    "source_id": "x",
    "url": "https://jobs.example.com/x",
    "title": "Engineer",
    "company": "Company",
    "locations": ["Berlin"],
    "salaries": [
        {"min": "100000", "max": "120000", "currency": "EUR", "period": "year", "label": ""}
    ],
    "remote": {"kind": "hybrid", "details": ["3 days in office"]},
    "requirements": {"minimum": ["Python"], "preferred": []},
    "status": "open",
}


def fill(engine: Engine, watches: int, changes: int) -> float:
    started = time.perf_counter()
    t0 = "2026-01-01 00:00:00+00:00"
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA recursive_triggers = OFF")
        params = {"n": watches, "t0": t0, "data": json.dumps(_DATA), "w": watches}
        for statement in (_FILL[0], _FILL[2], _FILL[1]):  # postings before their versions
            json_type = "jsonb" if engine.dialect.name == "postgresql" else "TEXT"
            conn.execute(text(statement.replace("{json}", json_type)), params)
        conn.execute(text(_FILL[3]), {**params, "n": changes})
        conn.execute(text(_FILL[4]), {**params, "n": min(watches, 100_000)})
        # Spread the changes over a year, in id order (as they are written).
        conn.execute(
            text(
                "UPDATE changes SET detected_at = :t0"
                if engine.dialect.name == "sqlite"
                else "UPDATE changes SET detected_at = timestamptz '2026-01-01' "
                "+ (id * interval '31536 seconds') / :scale"
            ),
            {"t0": t0, "scale": max(changes // 1000, 1)},
        )
        if engine.dialect.name == "postgresql":
            for table in ("watches", "postings", "snapshots", "changes", "outbox"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


async def measure(config: MonitorConfig, requests: int) -> dict[str, tuple[float, float]]:
    app = App(config, console=io.StringIO())
    web = create_web_app(app)
    results: dict[str, tuple[float, float]] = {}
    try:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            first = (await client.get("/api/v1/changes?company=Company%20007")).json()
            values = {
                "posting": "15000",
                "watch": "7",
                "since": "2026-07-01",
                "cursor": first["next_cursor"] or "",
            }
            for name, path in {**PAGES, **API}.items():
                url = path.format(**values)
                times = []
                for _ in range(requests):
                    started = time.perf_counter()
                    response = await client.get(url)
                    times.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        raise SystemExit(
                            f"{url}: HTTP {response.status_code} {response.text[:200]}"
                        )
                times.sort()
                results[name] = (statistics.median(times), times[int(len(times) * 0.95) - 1])
    finally:
        close_web_app(web)
        await app.aclose()
    return results


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1000
    return 0.0


def stream_exports(database_url: str) -> dict[str, tuple[float, float, float]]:
    """Every change as JSON Lines and as CSV from a real ``posting-monitor web``
    process: seconds, and the server's resident memory before and at its peak while
    streaming (flat when rows are streamed rather than gathered)."""
    port = _free_port()
    env = {
        **os.environ,
        "MONITOR_DATABASE__URL": database_url,
        "MONITOR_WEB__LISTEN": f"127.0.0.1:{port}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "monitor", "web"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    found: dict[str, tuple[float, float, float]] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/api/v1/health")
        for what in ("changes.jsonl", "changes.csv"):
            before, peak, lines = _rss_mb(server.pid), 0.0, 0
            started = time.perf_counter()
            with httpx.stream("GET", f"{base}/api/v1/{what}", timeout=600) as response:
                for count, chunk in enumerate(response.iter_bytes()):
                    lines += chunk.count(b"\n")
                    if count % 50 == 0:
                        peak = max(peak, _rss_mb(server.pid))
            found[f"{what} ({lines:,} lines)"] = (time.perf_counter() - started, before, peak)
    finally:
        server.terminate()
        server.wait(30)
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the web server did not answer at {url}")


@contextmanager
def database(kind: str, folder: Path, pg_url: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    with postgres_schema(pg_url, prefix="pm_bench_web") as url:
        yield url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, default=30_000)
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--requests", type=int, default=15)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(args.database, Path(tmp), args.postgres_url) as url,
    ):
        engine = create_db_engine(url)
        upgrade(engine)
        took = fill(engine, args.watches, args.changes)
        engine.dispose()
        print(
            f"{args.database}: {args.watches:,} watches, {args.changes:,} changes "
            f"(filled in {took:.0f} s)",
            flush=True,
        )
        config = MonitorConfig(
            database={"url": url},  # type: ignore[arg-type]
            channels=(ChannelConfig(name="console", url=SecretStr("console://")),),
        )
        results = asyncio.run(measure(config, args.requests))
        streamed = stream_exports(url)
    missed = 0
    for name, (took, before, peak) in streamed.items():
        print(
            f"  export: {name:<40} {took:6.1f} s; the server's memory {before:.0f} MB before, "
            f"{peak:.0f} MB at most while streaming"
        )
    for name, (median, p95) in results.items():
        target = TARGETS[name.split(":")[0]]
        verdict = "ok" if median < target else "OVER"
        missed += verdict != "ok"
        print(
            f"  {name:<48} median {median:7.1f} ms   p95 {p95:7.1f} ms   ({verdict} < {target:.0f})"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
