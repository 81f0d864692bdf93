"""Query plans at scale: ``python -m bench.explain [--postings 1000000]``.

Fills a fresh PostgreSQL schema with N watches and postings (next checks spread over
an hour, each with a stored version), an outbox of N/10 alerts (most sent) and a check log of 2N rows, runs
ANALYZE, then lets the store run every query the daemons and workers run
periodically (claiming due postings, counting them, claiming alerts, the digest
look-up, the retention counts) and asks PostgreSQL for each one's plan, executed
(``EXPLAIN ANALYZE``, inside a transaction that is rolled back). It fails (exit 1)
if any of them reads a whole large table (a sequential scan of postings, watches,
snapshots, outbox or check_log).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event, text

from monitor.store import Store
from monitor.store.engine import create_db_engine, upgrade
from monitor.testing import postgres_schema

LARGE_TABLES = ("postings", "watches", "snapshots", "outbox", "check_log")
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1/test"


@dataclass
class Plan:
    query: str
    statement: str
    milliseconds: float
    scans: list[str]
    full_scans: list[str]


def fill(engine: Engine, postings: int, now: datetime) -> float:
    """Generated rows, in SQL (a million rows in seconds, not minutes)."""
    started = time.perf_counter()
    statements = [
        """INSERT INTO watches (id, url, source_kind, interval_seconds, channels, origin,
               created_at)
           SELECT n, 'https://jobs.example.com/' || n, 'html', 3600, '[]', 'config', :now
           FROM generate_series(1, :n) AS n""",
        """INSERT INTO postings (id, watch_id, source_kind, source_id, url, title, status,
               next_check_at, consecutive_failures, gone_count, created_at, role,
               suspect_count, last_checked_at, last_outcome)
           SELECT n, n, 'html', 'https://jobs.example.com/' || n,
               'https://jobs.example.com/' || n, 'Engineer ' || n, 'open',
               :now + make_interval(secs => (n % 3600)), 0, 0, :now, 'single', 0,
               :now - interval '1 hour', 'unchanged'
           FROM generate_series(1, :n) AS n""",
        """INSERT INTO snapshots (id, posting_id, content_hash, data, captured_at)
           SELECT n, n, md5(n::text), jsonb_build_object('title', 'Engineer ' || n),
               :now - interval '1 hour'
           FROM generate_series(1, :n) AS n""",
        "UPDATE postings SET current_snapshot_id = id",
        """INSERT INTO check_log (posting_id, checked_at, outcome, http_status, latency_ms)
           SELECT 1 + (n % :n), :now - make_interval(secs => n % (200 * 86400)),
               'unchanged', 304, 40
           FROM generate_series(1, 2 * :n) AS n""",
        """INSERT INTO outbox (dedupe_key, posting_id, channel, title, body_text,
               body_markdown, status, attempts, next_attempt_at, sent_at, created_at)
           SELECT 'k' || n, 1 + (n % :n), CASE WHEN n % 7 = 0 THEN 'daily' ELSE 'hook' END,
               't', 'b', 'b',
               CASE WHEN n % 50 = 0 THEN 'pending' ELSE 'sent' END, 1,
               :now - make_interval(secs => n % (60 * 86400)),
               CASE WHEN n % 50 = 0 THEN NULL ELSE :now - make_interval(secs => n % (60 * 86400)) END,
               :now - make_interval(secs => n % (60 * 86400))
           FROM generate_series(1, :n / 10) AS n""",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), {"n": postings, "now": now})
        for table in ("watches", "postings", "snapshots", "check_log", "outbox"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def periodic_queries(store: Store, now: datetime) -> dict[str, Callable[[], Any]]:
    """What runs every tick, every delivery round or every hour, as the engines call it."""
    due = now + timedelta(minutes=1)  # a minute of the hour's postings is due
    return {
        "claim due postings (dispatch)": lambda: store.leases.claim_due(
            now=due, limit=200, lease=timedelta(minutes=1)
        ),
        "count due postings (heartbeat)": lambda: store.maintenance.due_count(now=due),
        "claim due alerts (delivery)": lambda: store.outbox.claim_alerts(
            now=now, lease=timedelta(minutes=2), claimant="bench", skip_channels=["daily"]
        ),
        "digest look-up (delivery)": lambda: store.outbox.due_alerts(
            now=now, limit=1, only_channel="daily"
        ),
        "old check log rows (prune)": lambda: store.maintenance.prune(
            check_log_before=now - timedelta(days=90), sent_alerts_before=None, dry_run=True
        ),
        "old sent alerts (prune)": lambda: store.maintenance.prune(
            check_log_before=None, sent_alerts_before=now - timedelta(days=30), dry_run=True
        ),
    }


def explain(engine: Engine, name: str, call: Callable[[], Any]) -> list[Plan]:
    """Run ``call``, record its SELECTs, and EXPLAIN ANALYZE each one."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    plans = []
    for statement, parameters in seen:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters)
            row = cursor.fetchone()
            assert row is not None
            document = row[0]
            raw.rollback()
        finally:
            raw.close()
        top = document[0]
        scans = list(_scans(top["Plan"]))
        plans.append(
            Plan(
                query=name,
                statement=" ".join(statement.split())[:160],
                milliseconds=round(top["Execution Time"], 2),
                scans=scans,
                full_scans=[s for s in scans if s.startswith("Seq Scan on ") and
                            s.removeprefix("Seq Scan on ") in LARGE_TABLES],
            )
        )  # fmt: skip
    return plans


def _scans(node: dict[str, Any]) -> Iterator[str]:
    kind = node["Node Type"]
    if "Scan" in kind and "Relation Name" in node:
        index = f" using {node['Index Name']}" if "Index Name" in node else ""
        yield f"{kind} on {node['Relation Name']}{index}"
    for child in node.get("Plans", []):
        yield from _scans(child)


def run(postings: int, base_url: str) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    with postgres_schema(base_url, prefix="pm_bench") as url:
        engine = create_db_engine(url)
        upgrade(engine)
        seconds = fill(engine, postings, now)
        store = Store(engine)
        plans = [
            plan
            for name, call in periodic_queries(store, now).items()
            for plan in explain(engine, name, call)
        ]
        engine.dispose()
    return {"postings": postings, "fill_seconds": round(seconds, 1),
            "plans": [asdict(p) for p in plans]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.explain", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--postings", type=int, default=1_000_000)
    parser.add_argument("--database", default=DEFAULT_URL, help="PostgreSQL to fill a schema of")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.postings, args.database)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['postings']:,} postings (filled in {result['fill_seconds']} s)\n")
        for plan in result["plans"]:
            verdict = "FULL SCAN" if plan["full_scans"] else "ok"
            print(f"{plan['query']:<32} {plan['milliseconds']:>9.2f} ms  {verdict}")
            for scan in plan["scans"]:
                print(f"    {scan}")
    return 1 if any(p["full_scans"] for p in result["plans"]) else 0


if __name__ == "__main__":
    sys.exit(main())
