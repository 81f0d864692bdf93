"""The commands that run: ``check`` (one pass), ``run`` (the daemon), ``worker``,
``web`` (the dashboard) and ``demo``."""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from monitor.cli.base import EXIT_CHECKS_FAILED, _State, echo, pass_state
from monitor.errors import ConfigError
from monitor.logs import configure_logging
from monitor.model import CheckOutcome
from monitor.present import plural
from monitor.progress import Progress, progress_for

if TYPE_CHECKING:
    from monitor.app import App
    from monitor.engines.runner import PassReport

T = TypeVar("T")


@click.command()
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
    echo(_report_line(report))
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


def _report_line(report: PassReport) -> str:
    counts = ", ".join(f"{n} {o.value}" for o, n in sorted(report.outcomes.items()))
    d = report.delivery
    return (
        f"checked {plural(report.checked, 'posting')} ({counts or 'none'}); "
        f"alerts: {d.sent} sent, {d.retrying} to retry, {d.failed} failed"
    )


@click.command()
@pass_state
def run(state: _State) -> None:
    """Run the daemon: check watches on their intervals until SIGINT or SIGTERM
    (with engine = "procrastinate": one worker, as `posting-monitor worker`)."""
    from monitor.net.reading import start_fork_server_early

    start_fork_server_early()  # first: it imports the parsers while the engine loads
    from monitor.engines.daemon import run_daemon

    _with_app(state, run_daemon, checkers=state.config.checker_processes())


@click.command()
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


@click.command()
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Where to serve (default: web.listen, else 127.0.0.1:8080). Beyond loopback, "
    "web.token or web.username/password must be set.",
)
@click.option(
    "--no-checks",
    is_flag=True,
    help="Only serve: a read-only view beside a daemon (`run`) or workers elsewhere; the "
    "configuration's watches are not synced.",
)
@pass_state
def web(state: _State, listen: str | None, no_checks: bool) -> None:
    """Serve the dashboard, the JSON API (/api/v1) and the Atom feeds (/feeds), and check
    the watches as `run` does, until SIGINT or SIGTERM; --no-checks only serves."""
    from monitor.config import DEFAULT_WEB_LISTEN, check_host_port
    from monitor.engines.daemon import announce_web, stop_on_signals
    from monitor.web.server import bind_web, serve_web

    address = listen or state.config.web.listen or DEFAULT_WEB_LISTEN
    # Where the address came from, for a message the user can act on ("": the default).
    setting = "--listen" if listen else "web.listen" if state.config.web.listen else ""
    try:
        check_host_port(address, example=DEFAULT_WEB_LISTEN)
    except ValueError as exc:
        raise ConfigError(str(exc), source=setting) from None
    sock = bind_web(address, state.config.web, setting=setting)
    if not no_checks:
        from monitor.engines.daemon import run_daemon
        from monitor.net.reading import start_fork_server_early

        start_fork_server_early()
        _with_app(
            state,
            lambda app: run_daemon(app, dashboard=(sock, address)),
            checkers=state.config.checker_processes(),
        )
        return

    async def serve(app: App) -> None:
        announce_web(app, address)
        await serve_web(app, sock, stop_on_signals())

    # Only a view on the database: the watches another configuration (the daemon's,
    # the demo's) put there are left as they are.
    _with_app(state, serve, sync_watches=False)


def _with_app(
    state: _State,
    work: Callable[[App], Coroutine[Any, Any, T]],
    *,
    sync_watches: bool = True,
    checkers: int = 1,
) -> T:
    """``work`` on the app (``checkers``: processes that will check, sharing its readers)."""

    async def body() -> T:
        app = state.app(sync_watches=sync_watches, checkers=checkers)
        try:
            return await work(app)
        finally:
            await app.aclose()

    return asyncio.run(body())


@click.command()
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
    echo(f"\nDemo finished: {plural(sent, 'alert')} delivered.")
    if not temporary:
        database = data_dir / "demo.db"
        echo(
            "See it in the dashboard (pay chart, timeline, alerts):\n"
            f"  MONITOR_DATABASE__URL=sqlite:///{database} {_self_command()} web\n"
            "  then open http://127.0.0.1:8080/"
        )


def _self_command() -> str:
    """How this program was started (.venv/bin/posting-monitor in the README's command)."""
    argv0 = Path(sys.argv[0])
    started_by_path = argv0.name == "posting-monitor" and argv0.parent != Path()
    return str(argv0) if started_by_path else "posting-monitor"
