"""The same board story on every board-capable source added after Greenhouse:
a first read, a renamed posting, a new one, one missing (closed after two checks),
coming back (reopened), and one taken down and put up again under a new id
(reposted). Boards are built from each source's recorded seed."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest

from monitor.model import CheckOutcome, PostingStatus
from monitor.sources import SourceRegistry
from tests.conftest import SEEDS
from tests.harness import Rig

Jobs = list[tuple[str, str]]
"""(job id, title) of each posting on the board."""


def _personio(jobs: Jobs) -> tuple[str, str]:
    root = ET.fromstring((SEEDS / "personio" / "positions.xml").read_bytes())
    template = root.find("position")
    assert template is not None
    board = ET.Element("workzag-jobs")
    for job_id, title in jobs:
        position = copy.deepcopy(template)
        position.find("id").text = job_id  # type: ignore[union-attr]
        position.find("name").text = title  # type: ignore[union-attr]
        board.append(position)
    return ET.tostring(board, encoding="unicode"), "application/xml"


def _teamtailor(jobs: Jobs) -> tuple[str, str]:
    feed = json.loads((SEEDS / "teamtailor" / "jobs.json").read_text(encoding="utf-8"))
    template = feed["items"][0]
    items = []
    for job_id, title in jobs:
        item = copy.deepcopy(template)
        item.update(
            id=f"uuid-{job_id}",
            title=title,
            url=f"https://northwind.teamtailor.com/jobs/{job_id}-x",
        )
        item["_jobposting"].update(title=title, identifier={"value": int(job_id)})
        items.append(item)
    return json.dumps({**feed, "items": items}), "application/feed+json"


def _bamboohr(jobs: Jobs) -> tuple[str, str]:
    listing = json.loads((SEEDS / "bamboohr" / "list.json").read_text(encoding="utf-8"))
    template = listing["result"][0]
    result = [{**template, "id": job_id, "jobOpeningName": title} for job_id, title in jobs]
    return json.dumps({"meta": {"totalCount": len(result)}, "result": result}), "application/json"


def _breezy(jobs: Jobs) -> tuple[str, str]:
    listing = json.loads((SEEDS / "hosted" / "breezy-board.json").read_text(encoding="utf-8"))
    template = listing[0]
    result = [
        {**template, "id": job_id, "name": title, "url": f"https://northwind.breezy.hr/p/{job_id}"}
        for job_id, title in jobs
    ]
    return json.dumps(result), "application/json"


def _jazzhr(jobs: Jobs) -> tuple[str, str]:
    items = "".join(
        f'<li class="list-group-item"><h4><a href="/apply/J{job_id}/x">{title}</a></h4>'
        f'<ul><li><i class="fa fa-map-marker"></i>Reno, NV</li></ul>'
        f'<a href="/apply/J{job_id}/x">Apply</a></li>'
        for job_id, title in jobs
    )
    return f'<html><body><ul class="list-group">{items}</ul></body></html>', "text/html"


BOARDS: dict[str, tuple[str, Callable[[Jobs], tuple[str, str]]]] = {
    "personio": ("https://northwind.jobs.personio.de/", _personio),
    "teamtailor": ("https://northwind.teamtailor.com/jobs", _teamtailor),
    "bamboohr": ("https://northwind.bamboohr.com/careers", _bamboohr),
    "breezy": ("https://northwind.breezy.hr/", _breezy),
    "jazzhr": ("https://northwind.applytojob.com/apply", _jazzhr),
}


class SourceBoard(Rig):
    def __init__(self, db_url: str, kind: str) -> None:
        self.url, self.render = BOARDS[kind]
        self.api = SourceRegistry.default().get(kind).fetch_url(self.url)
        # The list's story: members = "list" where the list is thin (the full read is
        # tests/acceptance/test_full_boards.py's).
        watch = {"url": self.url, "interval": "1h"}
        if SourceRegistry.default().get(kind).thin_list:  # type: ignore[attr-defined]
            watch["members"] = "list"
        super().__init__(db_url, [watch])

    def serve(self, jobs: Jobs) -> CheckOutcome:
        body, content_type = self.render(jobs)
        self.server.publish(self.api, body, content_type=content_type)
        self.clock.advance(timedelta(hours=1))
        return self.check_once()

    def members(self) -> dict[str, PostingStatus]:
        board = self.app.store.postings.get_posting(self.url)
        return {m.title: m.status for m in self.app.store.postings.members_of(board.id)}


@pytest.fixture(params=sorted(BOARDS))
def board(request: pytest.FixtureRequest, db_url: str) -> Iterator[SourceBoard]:
    rig = SourceBoard(db_url, request.param)
    yield rig
    asyncio.run(rig.app.aclose())


def test_new_renamed_closed_and_reopened(board: SourceBoard) -> None:
    first = [("101", "Backend Engineer"), ("102", "Data Engineer"), ("103", "Designer")]
    assert board.serve(first) is CheckOutcome.BASELINE
    assert board.titles() == []

    second = [("101", "Senior Backend Engineer"), ("102", "Data Engineer"), ("104", "Recruiter")]
    assert board.serve(second) is CheckOutcome.CHANGED
    assert board.members()["Designer"] is PostingStatus.OPEN  # missing once is not closed
    # The same answer again (a 304): the board still lacks it, a second time: closed.
    assert board.serve(second) is CheckOutcome.NOT_MODIFIED
    assert board.members()["Designer"] is PostingStatus.CLOSED
    # Reordered (a new body, the same postings): nothing to report.
    assert board.serve(second[::-1]) is CheckOutcome.UNCHANGED

    assert board.serve([*second, ("103", "Designer")]) is CheckOutcome.CHANGED
    assert board.members()["Designer"] is PostingStatus.OPEN

    alerts = board.titles()
    assert sum("new posting: Recruiter" in t for t in alerts) == 1
    assert (
        sum("title changed: Backend Engineer → Senior Backend Engineer" in t for t in alerts) == 1
    )
    assert sum(t.endswith("Designer: posting closed") for t in alerts) == 1
    assert sum(t.endswith("Designer: posting reopened") for t in alerts) == 1
    assert len(alerts) == 4, alerts
