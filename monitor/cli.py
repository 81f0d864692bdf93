"""The command line: a thin layer over ``monitor.app``.

Every ``MonitorError`` becomes one line on stderr and a non-zero exit code
(2 for configuration errors), never a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from monitor.errors import ConfigError, MonitorError, NotifyError, StoreError
from monitor.logs import configure_logging
from monitor.model import BoardFilters, CheckOutcome
from monitor.present import duration, plural, posting_lines, provenance_lines, when
from monitor.progress import Progress, progress_for
from monitor.urls import shown_url

if TYPE_CHECKING:
    # The shell's heavy parts (HTTP clients, Apprise, parsers, migrations) load inside
    # the commands that use them: `watch list` or `status` never pay for them.
    from monitor.app import App
    from monitor.config import MonitorConfig
    from monitor.engines.runner import PassReport
    from monitor.model import Posting
    from monitor.records import PostingState, WatchRecord
    from monitor.store import Store
    from monitor.store.readmodels import HistoryView, PostingRow, WatchRow

T = TypeVar("T")
EXIT_ERROR = 1
EXIT_CONFIG = 2
EXIT_CHECKS_FAILED = 3
"""``check``: some check failed (error or suspect read) or some alert gave up."""


class _Group(click.Group):
    """Turns MonitorError into a clean message and exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            # Errors found past loading (channels, templates) name the setting; add the file.
            where = "" if exc.source else _config_name(ctx)
            _fail(f"configuration error: {where}{exc}", EXIT_CONFIG, _log_format(ctx))
        except MonitorError as exc:
            _fail(f"error: {exc}", EXIT_ERROR, _log_format(ctx))


def _config_name(ctx: click.Context) -> str:
    state = ctx.obj
    path = state.config_path if isinstance(state, _State) else None
    return f"{path}: " if path else ""


def _log_format(ctx: click.Context) -> str:
    """The configuration's log format; for a configuration that did not load, the
    format it asks for as far as that can be read."""
    from monitor.config import requested_log_format

    state = ctx.obj
    if not isinstance(state, _State):
        return requested_log_format()
    if state._config is not None:
        return state._config.log_format
    return requested_log_format(state.config_path)


def _fail(message: str, code: int, fmt: str = "text") -> NoReturn:
    if fmt == "json":
        from monitor.logs import announce

        announce(message, fmt=fmt, action="error", level=logging.ERROR)
    else:
        click.echo(message, err=True)
    sys.exit(code)


class _State:
    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self._config: MonitorConfig | None = None

    @property
    def config(self) -> MonitorConfig:
        if self._config is None:
            from monitor.config import load_config

            self._config = load_config(self.config_path)
            configure_logging(self._config.log_level, self._config.log_format)
        return self._config

    def app(self, *, sync_watches: bool = True) -> App:
        """The app, its database migrated and (unless told otherwise) the
        configuration's watches synced."""
        from monitor.app import App

        app = App(self.config)
        app.prepare(sync_watches=sync_watches)
        return app

    @contextmanager
    def store(self) -> Iterator[Store]:
        """For commands that only read: the store of an existing database with a
        current schema. Nothing is created or migrated, and no HTTP client, channel or
        parser is loaded."""
        from monitor.store import Store
        from monitor.store.engine import require_database

        engine = require_database(self.config.database_url, setting=self.config.database_setting)
        try:
            yield Store(engine)
        finally:
            engine.dispose()


pass_state = click.make_pass_decorator(_State)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="MONITOR_CONFIG",
    help="TOML configuration file (env: MONITOR_CONFIG).",
)
@click.version_option(package_name="posting-monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Posting Monitor: watches job postings and tells you what changed."""
    ctx.obj = _State(config_path)


@cli.command()
@click.option(
    "-v", "--verbose", is_flag=True, help="Log each posting checked, not only the summary."
)
@pass_state
def check(state: _State, verbose: bool) -> None:
    """Check every watch once, deliver alerts, and exit.

    Exit codes: 0 all checks read their page and every alert went out (or waits for a
    retry); 3 some check failed or some alert gave up; 2 configuration error; 1 other
    errors.
    """
    from monitor.net.reading import start_fork_server_early

    start_fork_server_early()
    if not verbose and state.config.log_level == "INFO":
        # One summary line for cron users; failures are still logged as warnings.
        logging.getLogger().setLevel(logging.WARNING)
    progress = progress_for(sys.stderr)
    report = _with_app(state, lambda app: _one_pass(app, progress))
    click.echo(_report_line(report))
    if _failures(report):
        sys.exit(EXIT_CHECKS_FAILED)


async def _one_pass(app: App, progress: Progress) -> PassReport:
    from monitor.engines.lifecycle import tune_gc
    from monitor.engines.oneshot import check_all

    tune_gc()  # as the daemon does: 10,000 watches' objects need not be traced each pass
    return await check_all(app, progress)


def _failures(report: PassReport) -> int:
    failed = sum(report.outcomes.get(o, 0) for o in (CheckOutcome.ERROR, CheckOutcome.SUSPECT))
    return failed + report.delivery.failed


@cli.command()
@pass_state
def run(state: _State) -> None:
    """Run the daemon: check watches on their intervals until SIGINT or SIGTERM
    (with engine = "procrastinate": one worker, as `posting-monitor worker`)."""
    from monitor.net.reading import start_fork_server_early

    start_fork_server_early()  # first: it imports the parsers while the engine loads
    from monitor.engines.daemon import run_daemon

    _with_app(state, run_daemon)


@cli.command()
@pass_state
def worker(state: _State) -> None:
    """Run a worker (engine = "procrastinate"): take checks and deliveries from the
    shared PostgreSQL queue until SIGINT or SIGTERM. Start as many as you like, on
    any machines that reach the database."""
    if state.config.engine != "procrastinate":
        raise ConfigError(
            'workers need engine = "procrastinate" (and PostgreSQL); with the local engine, '
            "run `posting-monitor run`",
            source="engine",
        )
    from monitor.net.reading import start_fork_server_early

    start_fork_server_early()  # first: it imports the parsers while the engine loads
    from monitor.engines.daemon import run_worker

    _with_app(state, run_worker)


@cli.command()
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Where to serve (default: web.listen, else 127.0.0.1:8080). Beyond loopback, "
    "web.token or web.username/password must be set.",
)
@pass_state
def web(state: _State, listen: str | None) -> None:
    """Serve the dashboard, the JSON API (/api/v1) and the Atom feeds (/feeds) on the
    configured database, until SIGINT or SIGTERM. Checks run elsewhere (`run`)."""
    from monitor.config import DEFAULT_WEB_LISTEN, check_host_port
    from monitor.engines.daemon import announce_web, stop_on_signals
    from monitor.web.server import bind_web, serve_web

    address = listen or state.config.web.listen or DEFAULT_WEB_LISTEN
    setting = "--listen" if listen else "web.listen"
    try:
        check_host_port(address, example=DEFAULT_WEB_LISTEN)
    except ValueError as exc:
        raise ConfigError(str(exc), source=setting) from None
    sock = bind_web(address, state.config.web, setting=setting)

    async def serve(app: App) -> None:
        announce_web(app, address)
        await serve_web(app, sock, stop_on_signals())

    # Only a view on the database: the watches another configuration (the daemon's,
    # the demo's) put there are left as they are.
    _with_app(state, serve, sync_watches=False)


@dataclass(frozen=True, slots=True)
class _WatchOptions:
    every: timedelta
    cron: str | None
    channels: tuple[str, ...]
    filters: BoardFilters


def _watch_options(where: str = "") -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The schedule, channel and board-filter options of `watch add` and `watch import`,
    checked and handed to the command as one ``options`` value; ``where`` says when
    they apply."""
    decorators = [
        click.option(
            "--interval",
            default="1h",
            show_default=True,
            help=f"Time between checks (90s, 15m, 1h, 1d){where}.",
        ),
        click.option(
            "--cron",
            default=None,
            help="Check on a cron schedule instead of an interval, e.g. "
            f"'0 9 * * mon-fri Europe/Berlin'{where}.",
        ),
        click.option(
            "--channel",
            "channels",
            multiple=True,
            help=f"Channel name or tag to alert (repeatable){where}.",
        ),
        click.option(
            "--title", "titles", multiple=True, help="Boards: follow titles with this word."
        ),
        click.option(
            "--exclude-title", "excluded", multiple=True, help="Boards: skip titles with this word."
        ),
        click.option(
            "--department", "departments", multiple=True, help="Boards: follow this department."
        ),
        click.option(
            "--location", "locations", multiple=True, help="Boards: follow postings in this place."
        ),
    ]

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def with_options(
            *args: Any,
            interval: str,
            cron: str | None,
            channels: tuple[str, ...],
            titles: tuple[str, ...],
            excluded: tuple[str, ...],
            departments: tuple[str, ...],
            locations: tuple[str, ...],
            **kwargs: Any,
        ) -> None:
            every = _duration(interval)
            if cron is not None:
                cron, every = _cron(cron, interval_given=_given(interval))
            filters = BoardFilters(
                title=titles, exclude_title=excluded, department=departments, location=locations
            )
            options = _WatchOptions(every=every, cron=cron, channels=channels, filters=filters)
            command(*args, options=options, **kwargs)

        wrapped: Callable[..., None] = with_options
        for decorator in reversed(decorators):
            wrapped = decorator(wrapped)
        return wrapped

    return decorate


@cli.group()
def watch() -> None:
    """Add, list and remove watched postings."""


@watch.command("add")
@click.argument("url")
@_watch_options()
@click.option(
    "--render",
    type=click.Choice(["plain", "browser", "auto"]),
    default="plain",
    show_default=True,
    help="Web pages: browser loads the page in headless Chromium (pages built by "
    "JavaScript; needs posting-monitor[browser]); auto only when a plain fetch finds an "
    "app shell and no posting.",
)
@click.option(
    "--source",
    "source_kind",
    metavar="KIND",
    help="Read it with this source (see 'features'); default: picked from the URL. For a "
    "site nothing in its URL names, e.g. workday on a company's own domain ('test-source' "
    "says which).",
)
@pass_state
def watch_add(
    state: _State, url: str, options: _WatchOptions, render: str, source_kind: str | None
) -> None:
    """Watch a posting or a whole board (the source is picked from the URL)."""
    app = state.app()
    try:
        record = app.watches.add(
            url,
            interval=options.every,
            channels=options.channels,
            filters=options.filters,
            cron=options.cron,
            render=render,
            source_kind=source_kind,
        )
    finally:
        asyncio.run(app.aclose())
    what = "board" if record.filters is not None else "posting"
    click.echo(
        f"watching #{record.id} {shown_url(record.url)} ({record.source_kind} {what}, {_cadence(record)})"
    )


@watch.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@_watch_options(", where FILE sets none")
@pass_state
def watch_import(state: _State, file: Path, options: _WatchOptions) -> None:
    """Watch every URL in FILE ('-': standard input) in one go.

    FILE is one URL per line ('#' starts a comment), or, named *.toml, [[watches]]
    tables, or, named *.json, a list; tables and list items take url and optionally
    interval, cron, channels and filters, as in the configuration. The options apply
    where an entry sets nothing; the filters to boards only. Says what was added,
    skipped as already watched, and refused and why; exits 1 if anything was refused.
    """
    from monitor.imports import read_watch_list

    name = "standard input" if str(file) == "-" else str(file)
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        entries = read_watch_list(str(file), text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read it: {getattr(exc, 'strerror', None) or exc}", source=name
        ) from exc
    except ValueError as exc:
        raise ConfigError(str(exc), source=name) from exc
    app = state.app()
    try:
        report = app.watches.import_entries(
            entries,
            interval=options.every,
            cron=options.cron,
            channels=options.channels,
            filters=options.filters,
            progress=progress_for(sys.stderr),
        )
    finally:
        asyncio.run(app.aclose())
    for refused in report.refused:
        click.echo(f"refused  {name}, {refused.where}: {refused.what}: {refused.reason}", err=True)
    click.echo(
        f"added {plural(len(report.added), 'watch', 'watches')}, "
        f"skipped {len(report.skipped)} already watched, refused {len(report.refused)}"
    )
    if report.refused:
        sys.exit(EXIT_ERROR)


def _cadence(record: WatchRecord) -> str:
    return f"cron '{record.cron}'" if record.cron else f"every {duration(record.interval)}"


def _given(interval: str) -> bool:
    """Whether --interval was given (click reports only the value)."""
    source = click.get_current_context().get_parameter_source("interval")
    return source is not click.core.ParameterSource.DEFAULT


def _cron(expression: str, *, interval_given: bool) -> tuple[str, timedelta]:
    """The schedule, normalised, and its typical gap; ConfigError naming --cron."""
    from monitor.core.schedule import normalized, typical_gap

    if interval_given:
        raise ConfigError("set --interval or --cron, not both", source="--cron")
    try:
        normal = normalized(expression)
        return normal, typical_gap(normal, datetime.now(UTC))
    except ValueError as exc:
        raise ConfigError(str(exc), source="--cron") from exc


@watch.command("list")
@click.option("--all", "include_removed", is_flag=True, help="Include removed watches.")
@pass_state
def watch_list(state: _State, include_removed: bool) -> None:
    """List watches."""
    with state.store() as store:
        records = store.watches.list_watches(include_removed=include_removed)
    if not records:
        click.echo("no watches; add one with: posting-monitor watch add URL")
        return
    rows = [
        (
            f"#{r.id}",
            r.source_kind,
            _cadence(r),
            ",".join(r.channels) or "all channels",
            r.origin,
            shown_url(r.url)
            + (
                f"  filters: {_filters_text(r.filters)}"
                if r.filters and _filters_text(r.filters)
                else ""
            )
            + (f"  removed {when(r.removed_at)}" if r.removed_at else ""),
        )
        for r in records
    ]
    click.echo(_table(("ID", "SOURCE", "SCHEDULE", "CHANNELS", "ORIGIN", "URL"), rows))


@watch.command("remove")
@click.argument("ref")
@pass_state
def watch_remove(state: _State, ref: str) -> None:
    """Stop watching REF (a watch id or URL). History is kept."""
    app = state.app()
    try:
        record = app.store.watches.remove_watch(ref, now=app.clock.now())
    finally:
        asyncio.run(app.aclose())
    note = " (it is in the config file: remove it there too)" if record.origin == "config" else ""
    click.echo(f"removed #{record.id} {shown_url(record.url)}{note}")


@cli.command()
@click.argument("posting")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def history(state: _State, posting: str, as_json: bool) -> None:
    """Versions and changes of POSTING (a posting id or URL)."""
    with state.store() as store:
        record = store.views.history(posting)
    if as_json:
        click.echo(json.dumps(_history_json(record), indent=2, default=_json_value))
        return
    p = record.posting
    if p.role == "board":
        _echo_board(app_members(state, p.id), p)
        return
    click.echo(
        f"posting #{p.id} {shown_url(p.url)}\nstatus {p.status}, last check {when(p.last_checked_at)}"
        f" ({p.last_outcome or 'never checked'}){', error: ' + p.last_error if p.last_error else ''}"
    )
    numbers = {v.snapshot_id: n for n, v in enumerate(record.versions, start=1)}
    for version in record.versions:
        number = numbers[version.snapshot_id]
        click.echo(f"\nversion {number} captured {when(version.captured_at)}")
        for change in (c for c in record.changes if c.snapshot_id == version.snapshot_id):
            click.echo(f"  * {change.summary}")
    if record.versions:
        click.echo("\ncurrent version:")
        current = record.versions[-1].posting
        lines = posting_lines(current) + provenance_lines(current)
        click.echo("\n".join(f"  {line}" for line in lines))


def app_members(state: _State, board_id: int) -> list[PostingState]:
    with state.store() as store:
        return store.postings.members_of(board_id)


def _echo_board(members: list[PostingState], board: PostingRow) -> None:
    click.echo(
        f"board #{board.id} {shown_url(board.url)}\nlast check {when(board.last_checked_at)}"
        f" ({board.last_outcome or 'never checked'}); {plural(len(members), 'posting')} followed:"
    )
    for m in members:
        click.echo(f"  #{m.id:<5} {m.status.value:<7} {m.title}")
    click.echo("Show one with: posting-monitor history ID")


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


@cli.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-data"),
    show_default=True,
    help="Keep the demo database here (its previous demo database is replaced).",
)
@click.option("--temporary", is_flag=True, help="Use a temporary directory and keep nothing.")
def demo(data_dir: Path, temporary: bool) -> None:
    """Watch a sample posting served on 127.0.0.1, change it, and show the alerts. Offline."""
    from monitor.demo import run_demo

    configure_logging("WARNING")
    if temporary:
        with tempfile.TemporaryDirectory(prefix="posting-monitor-demo-") as tmp:
            sent = asyncio.run(run_demo(Path(tmp), sys.stdout))
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        data_dir = data_dir.resolve()
        for stale in data_dir.glob("demo.db*"):
            stale.unlink()
        sent = asyncio.run(run_demo(data_dir, sys.stdout, kept=True, command=_self_command()))
    click.echo(f"\nDemo finished: {plural(sent, 'alert')} delivered.")
    if not temporary:
        database = data_dir / "demo.db"
        click.echo(
            "See it in the dashboard (pay chart, timeline, alerts):\n"
            f"  MONITOR_DATABASE__URL=sqlite:///{database} {_self_command()} web\n"
            "  then open http://127.0.0.1:8080/"
        )


def _self_command() -> str:
    """How this program was started (.venv/bin/posting-monitor in the README's command)."""
    argv0 = Path(sys.argv[0])
    started_by_path = argv0.name == "posting-monitor" and argv0.parent != Path()
    return str(argv0) if started_by_path else "posting-monitor"


@cli.group()
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
        click.echo(f"no {' or '.join(wanted)} alerts".replace("  ", " "))
    for q in queued:
        error = f"  last error: {q.last_error}" if q.last_error else ""
        click.echo(
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
            click.echo(f"no alert {alert_id} (see 'posting-monitor alerts list')", err=True)
        elif statuses[alert_id] != "failed":
            click.echo(
                f"alert {alert_id} is {statuses[alert_id]}, not failed: left as it is", err=True
            )
    click.echo(
        f"{plural(count, 'alert')} queued again"
        + ("; 'posting-monitor check' or the daemon sends them" if count else "")
    )
    if len(retryable) < len(ids):
        sys.exit(EXIT_ERROR)


@cli.command("test-notify")
@click.argument("target", required=False)
@pass_state
def test_notify(state: _State, target: str | None) -> None:
    """Send a sample alert to every channel, or those named or tagged TARGET."""
    config = state.config
    wanted = [c for c in config.channels if target is None or target == c.name or target in c.tags]
    if not wanted:
        raise ConfigError(f"no channel named or tagged {target!r}", source="test-notify")
    from monitor.notify.channels import ChannelNotifier
    from monitor.notify.render import Renderer, sample_alert

    notifier = ChannelNotifier(config.channels)
    alert = sample_alert(Renderer(config.templates))
    failures = 0
    for channel in wanted:
        try:
            asyncio.run(notifier.send(channel.name, alert))
        except NotifyError as exc:
            failures += 1
            why = exc.reason or str(exc)
            click.echo(f"FAILED     {channel.name:<16} {notifier.masked_url(channel.name)}: {why}")
        else:
            click.echo(f"delivered  {channel.name:<16} {notifier.masked_url(channel.name)}")
    if failures:
        sys.exit(EXIT_ERROR)


@cli.group()
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


@cli.command()
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
    from monitor.store.engine import SCHEMA_REVISION, probe_health

    config = state.config
    daemons = probe_health(config.database_url, setting=config.database_setting)
    verdict = judge_daemons(
        daemons,
        host=socket.gethostname(),
        now=datetime.now(UTC),
        max_age=max_age or max(config.scheduler.heartbeat_every * 3, timedelta(minutes=1)),
        require_daemon=require_daemon,
        alive=_process_exists,
    )
    if not verdict.healthy:
        raise StoreError(f"unhealthy: {verdict.message}")
    click.echo(f"ok: database at revision {SCHEMA_REVISION}; {verdict.message}")


@cli.command()
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
        click.echo(f"wrote {plural(count, what.removesuffix('s'))} to {output}", err=True)


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


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def status(state: _State, as_json: bool) -> None:
    """Per watch: last check, outcome, next check, failures in a row; and the daemons."""
    with state.store() as store:
        now = datetime.now(UTC)
        rows = store.views.all_watches()
        daemons = store.processes.daemons(running_only=True)
        due = store.maintenance.due_count(now=now)
    if as_json:
        payload = {
            "now": now.isoformat(),
            "due": due,
            "daemons": [asdict(d) for d in daemons],
            "watches": [_status_json(r) for r in rows],
        }
        click.echo(json.dumps(payload, indent=2, default=_json_value))
        return
    for d in daemons:
        click.echo(
            f"{d.kind} {d.host} pid {d.pid}: started {when(d.started_at)}, "
            f"last beat {when(d.beat_at)}, {d.checks} checks"
        )
    if not daemons:
        click.echo("no daemon or worker running")
    click.echo(f"{plural(len(rows), 'watch', 'watches')}, {due} due now\n")
    click.echo(
        f"{'id':>4}  {'last check':<23} {'outcome':<12} {'next check':<23} {'fails':>5}  watch"
    )
    for r in rows:
        what = shown_url(r.url) + (
            f" ({plural(r.members, 'posting')})" if r.role == "board" else ""
        )
        click.echo(
            f"{r.watch_id:>4}  {when(r.last_checked_at):<23} {r.last_outcome or 'never':<12} "
            f"{when(r.next_check_at):<23} {r.consecutive_failures:>5}  {what}"
        )
        if r.last_error and r.consecutive_failures:
            click.echo(f"{'':>6}last error: {r.last_error}")


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


@cli.command()
def features() -> None:
    """List source kinds and the URL shapes each one takes."""
    from monitor.sources import SourceRegistry

    for source in SourceRegistry.default():
        click.echo(f"source  {source.kind:<16} {source.title}")
        for shape in getattr(source, "url_shapes", ()):
            click.echo(f"        {'':<16} {shape}")


@cli.command("test-source")
@click.argument("url")
@click.option(
    "--file",
    "body_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Read this saved response instead of fetching (offline).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--source", "source_kind", metavar="KIND", help="Read it with this source.")
@pass_state
def test_source(
    state: _State, url: str, body_file: Path | None, as_json: bool, source_kind: str | None
) -> None:
    """Show which source reads URL and what it extracts; stores nothing."""
    from monitor.preview import preview
    from monitor.sources.base import FetchedPage

    page = None
    if body_file is not None:
        from monitor.sources import SourceRegistry

        registry = SourceRegistry.default()
        chosen = registry.get(source_kind) if source_kind else registry.detect(url)
        fetch_url = chosen.fetch_url(url)
        content_type = "text/html" if body_file.suffix in (".html", ".htm") else "application/json"
        page = FetchedPage(
            url=fetch_url, status=200, content_type=content_type, body=body_file.read_bytes()
        )
    seen = asyncio.run(preview(state.config, url, page=page, kind=source_kind))
    if as_json:
        click.echo(json.dumps([_shown(p) for p in seen.postings], indent=2, ensure_ascii=False))
        return
    kind = "board" if seen.is_board else "posting"
    click.echo(
        f"source: {seen.source_kind} ({seen.source_title})\n{kind}: {seen.source_id}\n"
        f"fetches: {seen.fetch_url}\n{len(seen.postings)} posting(s)"
    )
    if seen.identified_by_page:
        click.echo(
            f"identified by its page, not its URL: watch it with "
            f"'watch add --source {seen.source_kind} {shown_url(url)}' "
            f'or source = "{seen.source_kind}" in the configuration'
        )
    for posting in seen.postings:
        click.echo(f"\n{shown_url(posting.url)}")
        lines = posting_lines(posting) + provenance_lines(posting)
        click.echo("\n".join(f"  {line}" for line in lines))


def _duration(text: str) -> timedelta:
    try:
        from monitor.config import check_interval, parse_duration

        return check_interval(parse_duration(text))
    except ValueError as exc:
        raise ConfigError(str(exc), source="--interval") from exc


def _with_app(
    state: _State, work: Callable[[App], Coroutine[Any, Any, T]], *, sync_watches: bool = True
) -> T:
    async def body() -> T:
        app = state.app(sync_watches=sync_watches)
        try:
            return await work(app)
        finally:
            await app.aclose()

    return asyncio.run(body())


def _table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """Columns as wide as their widest cell, so long kinds or intervals never shift them."""
    widths = [max(len(cell) for cell in column) for column in zip(head, *rows, strict=True)]
    lines = [head, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _filters_text(filters: BoardFilters) -> str:
    parts = [
        f"{name} {'|'.join(words)}"
        for name, words in (
            ("title", filters.title),
            ("not-title", filters.exclude_title),
            ("department", filters.department),
            ("location", filters.location),
        )
        if words
    ]
    return "; ".join(parts)


def _shown(posting: Posting) -> dict[str, Any]:
    """A posting as JSON output, credentials in its URL masked."""
    return {**posting.to_dict(), "url": shown_url(posting.url)}


def _report_line(report: PassReport) -> str:
    counts = ", ".join(f"{n} {o.value}" for o, n in sorted(report.outcomes.items()))
    d = report.delivery
    return (
        f"checked {plural(report.checked, 'posting')} ({counts or 'none'}); "
        f"alerts: {d.sent} sent, {d.retrying} to retry, {d.failed} failed"
    )


def main() -> None:
    cli(prog_name="posting-monitor")
