"""Keeping the database: ``db upgrade``, ``db prune`` and ``health``."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import click

from monitor.cli.base import _State, pass_state
from monitor.errors import ConfigError, StoreError
from monitor.present import plural


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: _State) -> None:
    """Apply schema migrations (and, with engine = "procrastinate", its job tables)."""
    from monitor.store.engine import create_db_engine, current_revision, upgrade

    engine = create_db_engine(state.config.database_url, setting=state.config.database_setting)
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"database is up to date (revision {after})")
    else:
        click.echo(f"database upgraded from revision {before or 'none (new database)'} to {after}")
    if state.config.engine == "procrastinate":
        from monitor.engines.queue import apply_queue_schema

        created = apply_queue_schema(state.config.database_url)
        click.echo("procrastinate job tables " + ("created" if created else "are in place"))


@db.command("prune")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@pass_state
def db_prune(state: _State, dry_run: bool) -> None:
    """Delete check log rows and sent alerts older than database.keep_check_log and
    database.keep_sent_alerts (daemons and workers also do this hourly). The versions
    and changes that are the history are never deleted."""
    from monitor.store import Store
    from monitor.store.engine import require_database

    config = state.config
    engine = require_database(config.database_url, setting=config.database_setting)
    try:
        from monitor.app import prune

        report = prune(Store(engine), config.database, now=datetime.now(UTC), dry_run=dry_run)
    finally:
        engine.dispose()
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"{verb} {plural(report.check_log, 'check log row')}, "
        f"{plural(report.alerts, 'sent alert')} and "
        f"{plural(report.daemons, 'record')} of stopped daemons and workers; "
        "versions and changes are kept"
    )


def _max_age(_ctx: click.Context, _param: click.Parameter, value: str | None) -> timedelta | None:
    if not value:
        return None
    try:
        from monitor.config import parse_duration

        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(str(exc), source="--max-age") from exc


@click.command()
@click.option(
    "--require-daemon",
    is_flag=True,
    help="Unhealthy unless a daemon runs on this host (use in the daemon's container).",
)
@click.option(
    "--max-age",
    callback=_max_age,
    help="Oldest acceptable heartbeat (default: 3 x scheduler.heartbeat_every, at least 1m).",
)
@pass_state
def health(state: _State, require_daemon: bool, max_age: timedelta | None) -> None:
    """Exit 0 if the database is reachable, its schema current and this host's daemon
    beats (for the container HEALTHCHECK); exit 1 with the reason otherwise."""
    from monitor.health import judge_daemons
    from monitor.pids import process_exists
    from monitor.store.engine import SCHEMA_REVISION, probe_health

    config = state.config
    daemons = probe_health(config.database_url, setting=config.database_setting)
    verdict = judge_daemons(
        daemons,
        host=socket.gethostname(),
        now=datetime.now(UTC),
        max_age=max_age or max(config.scheduler.heartbeat_every * 3, timedelta(minutes=1)),
        require_daemon=require_daemon,
        alive=process_exists,
    )
    if not verdict.healthy:
        raise StoreError(f"unhealthy: {verdict.message}")
    click.echo(f"ok: database at revision {SCHEMA_REVISION}; {verdict.message}")
