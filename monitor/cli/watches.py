"""``watch add``, ``watch import``, ``watch list`` and ``watch remove``, and the
schedule, channel and board-filter options the first two share."""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.base import EXIT_ERROR, _State, echo, pass_state
from monitor.errors import ConfigError
from monitor.model import BoardFilters
from monitor.present import duration, plural, when
from monitor.progress import progress_for
from monitor.urls import shown_url

if TYPE_CHECKING:
    from monitor.app import App
    from monitor.records import WatchRecord


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


@click.group()
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
@click.option(
    "--members",
    type=click.Choice(["full", "list"]),
    default="full",
    show_default=True,
    help="Boards whose list lacks pay and requirements (Workday, SmartRecruiters, BambooHR, "
    "JazzHR, Breezy): full reads each posting's job too, one request per posting per "
    "interval; list reads the list only (new and closed postings, titles, places).",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    help="File it under this tag in the dashboard (repeatable): letters, digits, '-', '_', '.'.",
)
@click.option(
    "--follow-board",
    is_flag=True,
    help="URL is a company's careers page: watch the board it names (see 'discover').",
)
@pass_state
def watch_add(
    state: _State,
    url: str,
    options: _WatchOptions,
    render: str,
    source_kind: str | None,
    members: str,
    tags: tuple[str, ...],
    follow_board: bool,
) -> None:
    """Watch a posting or a whole board (the source is picked from the URL).

    A company's careers page is read for the board behind it: the board watch is
    proposed (added with --follow-board); a job list with no board is refused, as its
    text changes with every opening ('--source html' watches the page anyway)."""
    app = state.app()
    try:
        if source_kind is None and _only_the_page_source(app, url):
            url, source_kind = _behind_careers_page(state, app, url, follow=follow_board)
        record = app.watches.add(
            url,
            interval=options.every,
            channels=options.channels,
            filters=options.filters,
            cron=options.cron,
            render=render,
            source_kind=source_kind,
            members=members,
            tags=tags,
        )
    finally:
        asyncio.run(app.aclose())
    what = "board" if record.filters is not None else "posting"
    echo(
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
        echo(f"refused  {name}, {refused.where}: {refused.what}: {refused.reason}", err=True)
    echo(
        f"added {plural(len(report.added), 'watch', 'watches')}, "
        f"skipped {len(report.skipped)} already watched, refused {len(report.refused)}"
    )
    if report.refused:
        sys.exit(EXIT_ERROR)


def _behind_careers_page(
    state: _State, app: App, url: str, *, follow: bool
) -> tuple[str, str | None]:
    """What to watch for a URL only the page source takes: the page itself when it
    is one posting (or cannot be read now), else the board it names, or nothing."""
    from monitor.cli.discovery import discovery_lines
    from monitor.core.discover import PageKind
    from monitor.errors import MonitorError
    from monitor.preview import discover_page

    try:
        found = asyncio.run(discover_page(state.config, url, sources=app.sources))
    except MonitorError as exc:
        echo(
            f"could not read the page to look for a board ({exc}); watching it as a page", err=True
        )
        return url, None
    if found.kind is PageKind.POSTING:
        return url, None
    if found.kind is PageKind.NO_BOARD:
        echo("\n".join(discovery_lines(found)), err=True)
        echo("to watch the page as text anyway: watch add --source html URL", err=True)
        sys.exit(EXIT_ERROR)
    board = found.own_site or found.proposed[0]
    if board is found.own_site:  # the page is a Workday site's own
        echo(f"a Workday site on its own domain (tenant {board.token}): read as source workday")
        return (url if _reads(app, board.source_kind, url) else board.url), board.source_kind
    if not follow:
        echo("\n".join(discovery_lines(found)))
        echo("\nor add it now: watch add --follow-board URL")
        sys.exit(EXIT_ERROR)
    echo(f"following the {board.system_name} board {board.token} found on {shown_url(url)}")
    return board.url, board.source_kind if board.needs_source else None


def _only_the_page_source(app: App, url: str) -> bool:
    """Whether ``url`` is one only the page source takes, and can be fetched at all
    (other URLs are refused by ``add`` with the reason)."""
    from monitor.errors import MonitorError
    from monitor.urls import url_problem

    try:
        page_only = app.sources.detect(url).kind == "html"
    except MonitorError:
        return False
    return page_only and url_problem(url, app.config.http.networks()) is None


def _reads(app: App, kind: str | None, url: str) -> bool:
    """Whether the source ``kind`` reads ``url`` (a job of a Workday site, say)."""
    from monitor.errors import MonitorError

    try:
        app.sources.get(kind or "").source_id(url)
    except MonitorError:
        return False
    return True


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
        echo("no watches; add one with: posting-monitor watch add URL")
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
    echo(_table(("ID", "SOURCE", "SCHEDULE", "CHANNELS", "ORIGIN", "URL"), rows))


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
    echo(f"removed #{record.id} {shown_url(record.url)}{note}")


def _duration(text: str) -> timedelta:
    try:
        from monitor.config import check_interval, parse_duration

        return check_interval(parse_duration(text))
    except ValueError as exc:
        raise ConfigError(str(exc), source="--interval") from exc


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
