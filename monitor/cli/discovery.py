"""``discover``: the boards behind a careers page, and the lines ``watch add`` prints
when it is given a careers page instead of a board or a posting."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.base import _State, echo, pass_state
from monitor.urls import shown_url

if TYPE_CHECKING:
    from monitor.core.discover import Discovery, FoundBoard


@click.command()
@click.argument("url")
@click.option(
    "--file",
    "page_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Read this saved careers page instead of fetching URL (offline).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def discover(state: _State, url: str, page_file: Path | None, as_json: bool) -> None:
    """List the job boards the careers page at URL names, and how to watch them."""
    from monitor.preview import discover_page
    from monitor.sources.base import FetchedPage

    page = None
    if page_file is not None:
        body = page_file.read_bytes()
        page = FetchedPage(url=url, status=200, content_type="text/html", body=body)
    found = asyncio.run(discover_page(state.config, url, page=page))
    if as_json:
        echo(json.dumps(discovery_json(found), indent=2, ensure_ascii=False))
        return
    echo("\n".join(discovery_lines(found)))


def discovery_json(found: Discovery) -> dict[str, Any]:
    """A discovery as the ``--json`` output and the API give it."""
    return {
        "page_url": shown_url(found.page_url),
        "page_kind": found.kind.value,
        "boards": [board.to_dict() for board in found.boards],
        "advice": None if found.proposed else found.advice,
    }


def discovery_lines(found: Discovery) -> list[str]:
    """Each board with how it was found, then what to do."""
    lines = [f"{shown_url(found.page_url)}: {_count(found)}"]
    for board in found.boards:
        lines.extend(_board_lines(board))
    if found.proposed:
        lines.append("\nwatch it with:")
        lines.extend(f"  {board.watch_command}" for board in found.proposed)
    else:
        lines.append(f"\n{found.advice}")
    return lines


def _count(found: Discovery) -> str:
    mine = len(found.boards) - len(found.others)
    return f"{mine} board(s) of its own, {len(found.others)} of other companies"


def _board_lines(board: FoundBoard) -> list[str]:
    parts = "".join(f", {name} {value}" for name, value in board.parts)
    ways = ", ".join(way.value for way in board.found_by)
    lines = [
        f"\n{board.system_name} board {board.token}{parts}",
        f"  url:      {board.url}",
        f"  found by: {ways} ({shown_url(board.evidence)})",
    ]
    if board.other_company is not None:
        lines.append(f"  another company's board, not proposed: {board.other_company}")
    elif board.source_kind is None:
        lines.append(f"  no installed source reads {board.system_name} boards yet")
    return lines
