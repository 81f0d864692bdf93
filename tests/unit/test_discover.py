"""Discovery: careers pages -> the boards they name, from a case table of real and
hand-made pages; what the source registry can read decides what is proposed."""

from __future__ import annotations

import base64
import re
from typing import Any, ClassVar

import pytest

from monitor.core.discover import Discovery, FoundBoard, FoundBy, discover, readable
from monitor.model import Posting
from monitor.sources import SourceRegistry
from monitor.sources.base import FetchedPage
from monitor.sources.common import AtsSource
from tests.conftest import CASES
from tests.unit.test_extract_cases import load_cases

REGISTRY = SourceRegistry.default()
KINDS = {source.kind for source in REGISTRY}


def _page(case: dict[str, Any]) -> Discovery:
    html = case.get("html")
    if html is None:
        html = (CASES / "careerpages" / case["page"]).read_text(encoding="utf-8")
    return readable(discover(case["url"], html), REGISTRY)


def _named(boards: tuple[FoundBoard, ...]) -> list[str]:
    return [f"{b.system}:{b.token}" for b in boards]


@pytest.mark.parametrize("case", load_cases("discovery.yaml"))
def test_careers_page_boards(case: dict[str, Any]) -> None:
    found = _page(case)
    own = tuple(b for b in found.boards if b.other_company is None)
    assert _named(own) == case["boards"]
    assert _named(found.others) == case.get("others", [])
    # Proposed: exactly the page's own boards whose system a registered source reads.
    readable_here = [n for n in case["boards"] if n not in case.get("unreadable", [])]
    assert _named(found.proposed) == [n for n in readable_here if n.split(":")[0] in KINDS]
    if "page_kind" in case:
        assert found.kind.value == case["page_kind"]
    if own:
        first = own[0]
        assert first.url == case["first_url"]
        assert [way.value for way in first.found_by] == case["found_by"]
        assert dict(first.parts) == case.get("parts", dict(first.parts))
        assert first.needs_source is case.get("needs_source", False)


def test_the_trap_page_names_the_other_company_and_why() -> None:
    (case,) = (c.values[0] for c in load_cases("discovery.yaml") if c.id.startswith("playlist"))
    found = _page(case)
    assert found.proposed == ()
    (egym,) = found.others
    assert egym.url == "https://egym.jobs.personio.de"
    assert "EGYM team" in (egym.other_company or "")


class _Rippling(AtsSource):
    """A stand-in for a source another package registers later."""

    kind: ClassVar[str] = "rippling"
    title: ClassVar[str] = "Rippling"
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(r"^https://ats\.rippling\.com/(?P<board>[\w-]+)/jobs$"),
    )

    def fetch_url(self, url: str) -> str:
        return url

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        return []


def test_a_source_registered_later_makes_its_boards_proposed() -> None:
    html = '<a href="https://ats.rippling.com/nexcess/jobs">Open roles</a>'
    found = discover("https://www.nexcess.com/careers/", html)
    assert readable(found, SourceRegistry([])).proposed == ()
    (board,) = readable(found, SourceRegistry([_Rippling()])).proposed
    assert board.source_kind == "rippling"
    assert board.watch_command == "posting-monitor watch add https://ats.rippling.com/nexcess/jobs"


def test_a_source_that_does_not_read_the_board_url_proposes_nothing() -> None:
    # iCIMS is read one job page at a time: its board is named, not proposed.
    found = discover("https://northwind.example/", '<a href="https://careers-nw.icims.com/jobs">')
    (board,) = readable(found, REGISTRY).boards
    assert (board.system, board.source_kind, board.proposed) == ("icims", None, False)


def test_workday_on_the_company_domain_is_proposed_with_its_source_named() -> None:
    html = "<script>window.workday = {tenant: 'acme', siteId: 'Jobs'};</script>"
    found = readable(discover("https://jobs.acme.example/en-US/Jobs", html), REGISTRY)
    (board,) = found.proposed
    assert board.watch_command == (
        "posting-monitor watch add --source workday https://jobs.acme.example/Jobs"
    )


def test_a_board_seen_several_ways_is_one_board_with_every_way() -> None:
    html = (
        '<a href="https://boards.greenhouse.io/acme">Jobs</a>'
        '<script>fetch("https://boards-api.greenhouse.io/v1/boards/acme/jobs")</script>'
        '<a href="https://job-boards.greenhouse.io/acme/jobs/42">Engineer</a>'
    )
    (board,) = discover("https://acme.example/careers", html).boards
    assert board.found_by == (FoundBy.LINK, FoundBy.INLINE_SCRIPT)
    assert board.evidence == "https://boards.greenhouse.io/acme"


def _widget_page(payload: bytes | str) -> str:
    middle = (
        payload
        if isinstance(payload, str)
        else base64.urlsafe_b64encode(payload).decode().rstrip("=")
    )
    return f"<script>s.src='https://join.com/api/widget/bundle/aaa.{middle}.ccc'</script>"


@pytest.mark.parametrize(
    "payload",
    [
        "bm90LWpzb24",  # base64 of "not-json"
        "Zm9vYmFy_x",  # not base64 of anything (a stray character)
        b"[" * 1400 + b"]" * 1400,  # JSON nested past Python's recursion limit
        b'{"companyPublicId": {"nested": "object"}}',  # not a plain id
        b'{"companyPublicId": "../../admin"}',
        b'{"companyPublicId": "' + b"a" * 5000 + b'"}',  # longer than any board URL
    ],
)
def test_a_broken_widget_token_is_no_board(payload: bytes | str) -> None:
    assert discover("https://acme.example/jobs", _widget_page(payload)).boards == ()


def test_a_good_widget_token_is_a_board() -> None:
    """The control for the broken tokens above: the same page with a plain id."""
    page = _widget_page(b'{"companyPublicId": "a18207b2f1792496b47e341e5e97ca29"}')
    (board,) = discover("https://acme.example/jobs", page).boards
    assert (board.system, board.token) == ("join", "a18207b2f1792496b47e341e5e97ca29")
