"""The developer's commands: ``test-notify``, ``features`` and ``test-source``
(what a channel, the sources and one URL do, storing nothing)."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import click

from monitor.cli.base import EXIT_ERROR, _shown, _State, echo, pass_state
from monitor.errors import ConfigError, NotifyError
from monitor.present import posting_lines, provenance_lines
from monitor.urls import shown_url


@click.command("test-notify")
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
    alert = sample_alert(Renderer(config.templates), now=datetime.now(UTC))
    failures = 0
    for channel in wanted:
        try:
            asyncio.run(notifier.send(channel.name, alert))
        except NotifyError as exc:
            failures += 1
            why = exc.reason or str(exc)
            echo(f"FAILED     {channel.name:<16} {notifier.masked_url(channel.name)}: {why}")
        else:
            echo(f"delivered  {channel.name:<16} {notifier.masked_url(channel.name)}")
    if failures:
        sys.exit(EXIT_ERROR)


@click.command()
def features() -> None:
    """List source kinds and the URL shapes each one takes, and the systems discovery
    finds behind a careers page."""
    from monitor.core.discover import known_systems
    from monitor.sources import SourceRegistry, reads_jobs_of_members

    for source in SourceRegistry.default():
        echo(f"source  {source.kind:<16} {source.title}")
        for shape in getattr(source, "url_shapes", ()):
            echo(f"        {'':<16} {shape}")
        if reads_jobs_of_members(source):
            echo(
                f"        {'':<16} boards: the list lacks pay and requirements, so each "
                'posting\'s job is read too (members = "full"; "list" for the list only)'
            )
    echo(
        f"discover {'':<15} a careers page on a company's own site: the boards it links, "
        "frames, embeds or calls (posting-monitor discover URL; watch add proposes them)"
    )
    for line in textwrap.wrap(", ".join(known_systems()), 72):
        echo(f"        {'':<16} {line}")


@click.command("test-source")
@click.argument("url")
@click.option(
    "--file",
    "body_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Read this saved response instead of fetching (offline).",
)
@click.option(
    "--content-type",
    metavar="TYPE",
    help="With --file: the response's content type (default: read from the content: "
    "JSON, XML, HTML).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--source", "source_kind", metavar="KIND", help="Read it with this source.")
@pass_state
def test_source(
    state: _State,
    url: str,
    body_file: Path | None,
    content_type: str | None,
    as_json: bool,
    source_kind: str | None,
) -> None:
    """Show which source reads URL and what it extracts; stores nothing."""
    from monitor.preview import preview
    from monitor.sources.base import FetchedPage, sniffed_content_type

    if content_type and body_file is None:
        raise click.UsageError(
            "--content-type needs --file: a fetched response says its own content type"
        )
    page = None
    if body_file is not None:
        from monitor.sources import SourceRegistry

        registry = SourceRegistry.default()
        chosen = registry.get(source_kind) if source_kind else registry.detect(url)
        fetch_url = chosen.fetch_url(url)
        body = body_file.read_bytes()
        page = FetchedPage(
            url=fetch_url,
            status=200,
            content_type=content_type or sniffed_content_type(body),
            body=body,
        )
    seen = asyncio.run(preview(state.config, url, page=page, kind=source_kind))
    if as_json:
        echo(json.dumps([_shown(p) for p in seen.postings], indent=2, ensure_ascii=False))
        return
    kind = "board" if seen.is_board else "posting"
    echo(
        f"source: {seen.source_kind} ({seen.source_title})\n{kind}: {seen.source_id}\n"
        f"fetches: {seen.fetch_url}\n{len(seen.postings)} posting(s)"
    )
    if seen.identified_by_page:
        echo(
            f"identified by its page, not its URL: watch it with "
            f"'watch add --source {seen.source_kind} {shown_url(url)}' "
            f'or source = "{seen.source_kind}" in the configuration'
        )
    for posting in seen.postings:
        echo(f"\n{shown_url(posting.url)}")
        lines = posting_lines(posting) + provenance_lines(posting)
        echo("\n".join(f"  {line}" for line in lines))
