"""What the database says: ``status``, ``history``, ``export``, and the outbox
(``alerts list``, ``alerts retry``)."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.base import EXIT_ERROR, _shown, _State, echo, pass_state
from monitor.health import not_beating
from monitor.present import plural, posting_lines, provenance_lines, when
from monitor.urls import shown_url

if TYPE_CHECKING:
    from monitor.records import PostingState
    from monitor.store.readmodels import HistoryView, PostingRow, WatchRow


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def status(state: _State, as_json: bool) -> None:
    """Per watch: last check, outcome, next check, failures in a row; and the daemons."""
    with state.store() as store:
        now = datetime.now(UTC)
        rows = store.views.all_watches()
        daemons = store.processes.daemons(running_only=True)
        due = store.maintenance.due_count(now=now)
    stale_after = max(state.config.scheduler.heartbeat_every * 3, timedelta(minutes=1))
    gone = [d for d in daemons if not_beating(d, now=now, max_age=stale_after)]
    daemons = [d for d in daemons if d not in gone]
    if as_json:
        payload = {
            "now": now.isoformat(),
            "due": due,
            "daemons": [asdict(d) for d in daemons],
            "not_beating": [asdict(d) for d in gone],
            "watches": [_status_json(r) for r in rows],
        }
        echo(json.dumps(payload, indent=2, default=_json_value))
        return
    for d in daemons:
        echo(
            f"{d.kind} {d.host} pid {d.pid}: started {when(d.started_at)}, "
            f"last beat {when(d.beat_at)}, {d.checks} checks"
        )
        if d.trouble:
            echo(f"  {d.trouble}")
    for d in gone:
        echo(
            f"{d.kind} {d.host} pid {d.pid}: started {when(d.started_at)}, no beat since "
            f"{when(d.beat_at)}: stopped uncleanly (killed, or its database was down) or stuck"
        )
    if not daemons:
        echo("no daemon or worker running")
    echo(f"{plural(len(rows), 'watch', 'watches')}, {due} due now\n")
    echo(f"{'id':>4}  {'last check':<23} {'outcome':<12} {'next check':<23} {'fails':>5}  watch")
    for r in rows:
        what = shown_url(r.url) + (
            f" ({plural(r.members, 'posting')})" if r.role == "board" else ""
        )
        echo(
            f"{r.watch_id:>4}  {when(r.last_checked_at):<23} {r.last_outcome or 'never':<12} "
            f"{when(r.next_check_at):<23} {r.consecutive_failures:>5}  {what}"
        )
        if r.last_error and r.consecutive_failures:
            echo(f"{'':>6}last error: {r.last_error}")


def _status_json(row: WatchRow) -> dict[str, Any]:
    return {
        "watch_id": row.watch_id,
        "url": shown_url(row.url),
        "source_kind": row.source_kind,
        "role": row.role,
        "title": row.title,
        "status": row.status,
        "last_checked_at": row.last_checked_at,
        "last_outcome": row.last_outcome,
        "last_error": row.last_error,
        "next_check_at": row.next_check_at,
        "consecutive_failures": row.consecutive_failures,
        "members": row.members,
    }


@click.command()
@click.argument("posting")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def history(state: _State, posting: str, as_json: bool) -> None:
    """Versions and changes of POSTING (a posting id or URL)."""
    with state.store() as store:
        record = store.views.history(posting)
    if as_json:
        echo(json.dumps(_history_json(record), indent=2, default=_json_value))
        return
    p = record.posting
    if p.role == "board":
        _echo_board(app_members(state, p.id), p)
        return
    echo(
        f"posting #{p.id} {shown_url(p.url)}\nstatus {p.status}, last check {when(p.last_checked_at)}"
        f" ({p.last_outcome or 'never checked'}){', error: ' + p.last_error if p.last_error else ''}"
    )
    numbers = {v.snapshot_id: n for n, v in enumerate(record.versions, start=1)}
    for version in record.versions:
        number = numbers[version.snapshot_id]
        echo(f"\nversion {number} captured {when(version.captured_at)}")
        for change in (c for c in record.changes if c.snapshot_id == version.snapshot_id):
            echo(f"  * {change.summary}")
    if record.versions:
        echo("\ncurrent version:")
        current = record.versions[-1].posting
        lines = posting_lines(current) + provenance_lines(current)
        echo("\n".join(f"  {line}" for line in lines))


def app_members(state: _State, board_id: int) -> list[PostingState]:
    with state.store() as store:
        return store.postings.members_of(board_id)


def _echo_board(members: list[PostingState], board: PostingRow) -> None:
    echo(
        f"board #{board.id} {shown_url(board.url)}\nlast check {when(board.last_checked_at)}"
        f" ({board.last_outcome or 'never checked'}); {plural(len(members), 'posting')} followed:"
    )
    for m in members:
        echo(f"  #{m.id:<5} {m.status.value:<7} {m.title}")
    echo("Show one with: posting-monitor history ID")


def _json_value(value: Any) -> Any:
    """JSON for what json does not know: ISO 8601 times, seconds for durations."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    return str(value)


def _history_json(record: HistoryView) -> dict[str, Any]:
    numbers = {v.snapshot_id: n for n, v in enumerate(record.versions, start=1)}
    return {
        "posting": {
            "id": record.posting.id,
            "url": shown_url(record.posting.url),
            "status": record.posting.status,
        },
        "versions": [
            {
                "version": n,
                "id": v.snapshot_id,
                "captured_at": v.captured_at,
                "posting": _shown(v.posting),
            }
            for n, v in enumerate(record.versions, start=1)
        ],
        "changes": [
            {
                "version": numbers.get(c.snapshot_id),
                "version_id": c.snapshot_id,
                "detected_at": c.detected_at,
                "field": c.field,
                "kind": c.kind,
                "old": c.old,
                "new": c.new,
                "summary": c.summary,
            }
            for c in record.changes
        ],
    }


@click.command()
@click.option(
    "--what",
    type=click.Choice(["postings", "versions", "changes"]),
    required=True,
    help="postings: one row each, as read now; versions: every stored version; changes: "
    "every field change.",
)
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv")
@click.option(
    "--since",
    callback=lambda _ctx, _param, value: _since(value),
    help="Only rows from then on (first seen, captured or detected): a date "
    "(2026-11-01), a time (2026-11-01T09:00+01:00) or a span back from now (7d, 12h).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output.",
)
@pass_state
def export(state: _State, what: str, fmt: str, since: datetime | None, output: Path | None) -> None:
    """Export postings, versions or changes as CSV or JSON Lines, streamed (constant
    memory at a million rows). Pay comes as text for every range and as numbers
    (min, max, currency, period) for the first; lists are joined by "; " in CSV."""
    from monitor.export import write_export

    with state.store() as store:
        rows = store.maintenance.export_rows(what, since=since)
        if output is None:
            count = write_export(rows, what, fmt, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as out:
                count = write_export(rows, what, fmt, out)
    if output is not None:
        echo(f"wrote {plural(count, what.removesuffix('s'))} to {output}", err=True)


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    from monitor.config import parse_duration

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            return datetime.now(UTC) - parse_duration(value)
        except ValueError:
            raise click.BadParameter(
                f"{value!r} is neither a date, a time nor a span such as 7d", param_hint="--since"
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group()
def alerts() -> None:
    """Queued, sent and failed alerts."""


@alerts.command("list")
@click.option("--failed", is_flag=True, help="Alerts that gave up.")
@click.option("--pending", is_flag=True, help="Alerts waiting to be sent.")
@click.option("--sent", is_flag=True, help="Delivered alerts.")
@pass_state
def alerts_list(state: _State, failed: bool, pending: bool, sent: bool) -> None:
    """List alerts in the outbox: all by default, or those of the statuses given
    (several may be combined: --failed --pending)."""
    wanted = [s for s, on in (("failed", failed), ("pending", pending), ("sent", sent)) if on]
    with state.store() as store:
        queued = store.outbox.alerts(statuses=wanted)
    if not queued:
        echo(f"no {' or '.join(wanted)} alerts".replace("  ", " "))
    for q in queued:
        error = f"  last error: {q.last_error}" if q.last_error else ""
        echo(
            f"#{q.id:<5} {q.status:<8} {q.channel:<12} attempts {q.attempts}  {when(q.created_at)}  {q.alert.title}{error}"
        )


@alerts.command("retry")
@click.argument("ids", nargs=-1, type=int)
@pass_state
def alerts_retry(state: _State, ids: tuple[int, ...]) -> None:
    """Queue failed alerts again: the IDS given, or every failed alert."""
    app = state.app()
    try:
        statuses = app.store.outbox.alert_statuses(ids) if ids else {}
        retryable = [i for i in ids if statuses.get(i) == "failed"]
        count = (
            app.store.outbox.retry_alerts(retryable, now=app.clock.now())
            if retryable or not ids
            else 0
        )
    finally:
        asyncio.run(app.aclose())
    for alert_id in ids:
        if alert_id not in statuses:
            echo(f"no alert {alert_id} (see 'posting-monitor alerts list')", err=True)
        elif statuses[alert_id] != "failed":
            echo(f"alert {alert_id} is {statuses[alert_id]}, not failed: left as it is", err=True)
    echo(
        f"{plural(count, 'alert')} queued again"
        + ("; 'posting-monitor check' or the daemon sends them" if count else "")
    )
    if len(retryable) < len(ids):
        sys.exit(EXIT_ERROR)
