"""What every command shares: the root group, the error handling that turns a
``MonitorError`` into one line and an exit code, the lazily loaded configuration
(``_State``), and the exit codes."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from monitor.errors import ConfigError, MonitorError
from monitor.logs import configure_logging
from monitor.safetext import for_terminal
from monitor.urls import shown_url

if TYPE_CHECKING:
    # The shell's heavy parts (HTTP clients, Apprise, parsers, migrations) load inside
    # the commands that use them: `watch list` or `status` never pay for them.
    from monitor.app import App
    from monitor.config import MonitorConfig
    from monitor.model import Posting
    from monitor.store import Store

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
        echo(message, err=True)
    sys.exit(code)


def echo(message: str = "", *, err: bool = False) -> None:
    """``click.echo`` for every line that may carry a posting's or a site's text: no
    escape sequence or control character in it reaches the terminal (click removes
    only colour codes, and only when the output is not a terminal)."""
    click.echo(for_terminal(message), err=err)


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

    def app(self, *, sync_watches: bool = True, checkers: int = 1) -> App:
        """The app, its database migrated and (unless told otherwise) the
        configuration's watches synced."""
        from monitor.app import App

        app = App(self.config, checkers=checkers)
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
    # Not readable=True: a file it cannot read is reported by the loader, as a
    # configuration error in the log format asked for (a JSON line in the container).
    type=click.Path(path_type=Path, dir_okay=False, readable=False),
    envvar="MONITOR_CONFIG",
    help="TOML configuration file (env: MONITOR_CONFIG).",
)
@click.version_option(package_name="posting-monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Posting Monitor: watches job postings and tells you what changed."""
    ctx.obj = _State(config_path)


def _shown(posting: Posting) -> dict[str, Any]:
    """A posting as JSON output, credentials in its URL masked."""
    return {**posting.to_dict(), "url": shown_url(posting.url)}
