"""``discover`` and ``watch add`` of a careers page, through click's runner, against
pages served by a real local HTTP server."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.config import load_config
from monitor.core.discover import NO_BOARD
from monitor.demo import SeedServer
from monitor.records import WatchRecord
from monitor.store import Store
from monitor.store.engine import create_db_engine
from tests.conftest import CASES, SEEDS

PAGES = CASES / "careerpages"
DEXORY = PAGES / "dexory_career_greenhouse_boards_api_fetch.html"
TRAP = PAGES / "playlist_careers_opportunities_personio_link.html"
WORKDAY_SITE = (
    "<html><head><script>window.workday = {tenant: 'northwind', siteId: 'External'};"
    "</script></head><body></body></html>"
)


@pytest.fixture
def config_file(tmp_path: Path, sqlite_url: str) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"[database]\nurl = '{sqlite_url}'\n[http]\nallowed_networks = ['127.0.0.1/32']\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, SeedServer]]:
    """A local server of ``page.html`` in a directory the test fills."""
    pages = tmp_path / "pages"
    pages.mkdir()
    with SeedServer(pages, "page.html") as server:
        yield pages, server


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def watches(config: Path) -> list[WatchRecord]:
    engine = create_db_engine(load_config(config).database_url)
    try:
        return Store(engine).watches.list_watches()
    finally:
        engine.dispose()


def test_discover_a_saved_page_names_the_other_companys_board(config_file: Path) -> None:
    url = "https://www.playlist.com/careers/opportunities"
    result = invoke(config_file, "discover", url, "--file", str(TRAP))
    assert result.exit_code == 0, result.output
    assert "Personio board egym" in result.output
    assert "another company's board, not proposed" in result.output
    assert NO_BOARD in result.output
    assert "watch add" not in result.output


def test_discover_json_gives_the_board_and_its_watch_command(config_file: Path) -> None:
    url = "https://www.dexory.com/career"
    result = invoke(config_file, "discover", url, "--file", str(DEXORY), "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["page_kind"] == "board"
    (board,) = found["boards"]
    assert board["system"] == "greenhouse"
    assert board["token"] == "dexory"
    assert board["found_by"] == ["API call in inline script"]
    assert board["watch_command"] == "posting-monitor watch add https://boards.greenhouse.io/dexory"


def test_watch_add_of_a_careers_page_proposes_the_board(
    config_file: Path, site: tuple[Path, SeedServer]
) -> None:
    pages, server = site
    shutil.copy(DEXORY, pages / "page.html")
    proposed = invoke(config_file, "watch", "add", server.url)
    assert proposed.exit_code == 1
    assert "posting-monitor watch add https://boards.greenhouse.io/dexory" in proposed.output
    assert watches(config_file) == []
    followed = invoke(config_file, "watch", "add", server.url, "--follow-board")
    assert followed.exit_code == 0, followed.output
    (watch,) = watches(config_file)
    assert (watch.url, watch.source_kind) == ("https://boards.greenhouse.io/dexory", "greenhouse")


def test_watch_add_of_a_job_list_without_a_board_is_refused_unless_forced(
    config_file: Path, site: tuple[Path, SeedServer]
) -> None:
    pages, server = site
    shutil.copy(TRAP, pages / "page.html")
    refused = invoke(config_file, "watch", "add", server.url, "--follow-board")
    assert refused.exit_code == 1
    assert NO_BOARD in refused.output
    assert watches(config_file) == []
    forced = invoke(config_file, "watch", "add", server.url, "--source", "html")
    assert forced.exit_code == 0, forced.output
    assert [w.source_kind for w in watches(config_file)] == ["html"]


def test_watch_add_knows_a_workday_site_on_a_company_domain_by_its_page(
    config_file: Path, site: tuple[Path, SeedServer]
) -> None:
    pages, server = site
    (pages / "page.html").write_text(WORKDAY_SITE, encoding="utf-8")
    added = invoke(config_file, "watch", "add", server.url)
    assert added.exit_code == 0, added.output
    assert "(workday board," in added.output
    # The page's path is no Workday site's: the site its settings name is watched.
    site_url = server.url.split("/jobs/")[0] + "/External"
    assert [(w.url, w.source_kind) for w in watches(config_file)] == [(site_url, "workday")]


def test_watch_add_of_an_unreachable_page_still_watches_it(config_file: Path) -> None:
    added = invoke(config_file, "watch", "add", "http://127.0.0.1:9/jobs/nothing-listens-here")
    assert added.exit_code == 0, added.output
    assert "could not read the page to look for a board" in added.output


def test_test_source_reads_a_saved_xml_feed_whatever_its_name(
    config_file: Path, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.json"  # a misleading suffix: the content says XML
    feed.write_bytes((SEEDS / "personio" / "positions.xml").read_bytes())
    url = "https://acme.jobs.personio.de"
    result = invoke(config_file, "test-source", url, "--file", str(feed))
    assert result.exit_code == 0, result.output
    assert "3 posting(s)" in result.output
    forced = CliRunner().invoke(
        cli,
        [
            *("--config", str(config_file), "test-source", url),
            *("--file", str(feed), "--content-type", "application/json"),
        ],
    )
    assert forced.exit_code == 1
    assert "application/json" in forced.output


def test_discovery_reads_the_page_where_its_redirects_end() -> None:
    """A careers page that moved (301) is read at its new address: a Workday site found
    by its settings is the new host's, not the old one's."""
    import asyncio

    import httpx

    from monitor.config import MonitorConfig
    from monitor.preview import discover_page

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "northwind.example":
            return httpx.Response(301, headers={"Location": "https://jobs.northwind.example/x"})
        return httpx.Response(200, headers={"Content-Type": "text/html"}, text=WORKDAY_SITE)

    found = asyncio.run(
        discover_page(
            MonitorConfig(),
            "https://northwind.example/careers",
            transport=httpx.MockTransport(answer),
        )
    )
    (board,) = found.boards
    assert board.url == "https://jobs.northwind.example/External"


def test_discover_of_a_page_nested_too_deep_is_a_clear_error(
    config_file: Path, tmp_path: Path
) -> None:
    page = tmp_path / "deep.html"
    page.write_text("<div>" * 5000 + "</div>" * 5000, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(config_file),
            "discover",
            "https://acme.example/careers",
            "--file",
            str(page),
        ],
    )
    assert result.exit_code != 0
    assert "https://acme.example/careers" in result.output
    assert "deep" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_discovery_past_its_time_limit_is_a_read_limit_error() -> None:
    import asyncio

    from monitor.config import MonitorConfig
    from monitor.errors import ReadLimitExceeded
    from monitor.preview import discover_page
    from monitor.sources.base import FetchedPage

    page = FetchedPage(
        url="https://acme.example/careers",
        status=200,
        content_type="text/html",
        body=DEXORY.read_bytes(),
    )
    with pytest.raises(ReadLimitExceeded, match="reading the page for boards took over"):
        asyncio.run(discover_page(MonitorConfig(), page.url, page=page, time_limit=0))
