"""Every source: URL detection from a case table, and recorded seeds against golden postings."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from monitor.model import PayPeriod, Posting, RemoteKind
from monitor.normalize import normalize
from monitor.sources import SourceRegistry
from monitor.sources.base import FetchedPage
from tests.conftest import SEEDS
from tests.unit.test_extract_cases import load_cases

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "sources"
REGISTRY = SourceRegistry.default()
# Set to rewrite the goldens after a deliberate change; review the diff before committing.
REGENERATE = os.environ.get("POSTING_MONITOR_REGENERATE_GOLDEN") == "1"


def read(seed: str, url: str, content_type: str = "application/json") -> list[Posting]:
    source = REGISTRY.detect(url)
    page = FetchedPage(
        url=source.fetch_url(url), status=200, content_type=content_type,
        body=(SEEDS / seed).read_bytes(),
    )  # fmt: skip
    return [normalize(p) for p in source.parse(page, url=url)]


@pytest.mark.parametrize("case", load_cases("urls.yaml"))
def test_url_detection(case: dict[str, Any]) -> None:
    source = REGISTRY.detect(case["url"])
    assert source.kind == case["kind"]
    assert source.is_board(case["url"]) is case["board"]
    assert source.source_id(case["url"]) == case["source_id"]
    assert source.fetch_url(case["url"]) == case["fetch"]


@pytest.mark.parametrize("case", load_cases("sources.yaml"))
def test_seed_matches_golden(case: dict[str, Any]) -> None:
    postings = [
        p.to_dict()
        for p in read(case["seed"], case["url"], case.get("content_type", "application/json"))
    ]
    golden = GOLDEN / f"{case['id']}.json"
    if REGENERATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(
            json.dumps(postings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    assert postings == json.loads(golden.read_text(encoding="utf-8"))


def test_every_source_kind_has_a_seed_case() -> None:
    covered = {REGISTRY.detect(case.values[0]["url"]).kind for case in load_cases("sources.yaml")}
    assert covered == {source.kind for source in REGISTRY}


def salaries(posting: Posting) -> list[tuple[object, ...]]:
    return [(s.min, s.max, s.currency, s.period, s.label) for s in posting.salaries]


def test_greenhouse_single_job_prefers_pay_input_ranges() -> None:
    (job,) = read("greenhouse/job.json", "https://job-boards.greenhouse.io/northwind/jobs/101")
    assert salaries(job) == [
        (Decimal(150000), Decimal(190000), "USD", PayPeriod.YEAR, "US"),
        (Decimal(135000), Decimal(170000), "USD", PayPeriod.YEAR, "US Remote (Tier 2)"),
    ]


def test_greenhouse_board_reads_rendered_pay_blocks_with_their_titles() -> None:
    jobs = {
        p.title: p
        for p in read("greenhouse/board-1.json", "https://boards.greenhouse.io/northwind")
    }
    assert salaries(jobs["Site Reliability Engineer"]) == [
        (Decimal(85000), Decimal(100000), "EUR", PayPeriod.YEAR, "Germany")
    ]
    assert jobs["Data Scientist"].remote.kind is RemoteKind.HYBRID
    assert jobs["Backend Engineer, Payments"].requirements.preferred == ("Experience with Kafka.",)


def test_lever_structured_fields_win() -> None:
    platform, support = read("lever/postings.json", "https://jobs.lever.co/northwind")
    assert platform.remote.kind is RemoteKind.ONSITE  # workplaceType "onsite"
    assert salaries(platform) == [(Decimal(160000), Decimal(210000), "USD", PayPeriod.YEAR, "")]
    assert platform.requirements.minimum == ("5+ years with Linux in production.", "Python or Go.")
    assert support.remote.kind is RemoteKind.REMOTE
    assert salaries(support) == [(Decimal(30), Decimal(38), "CAD", PayPeriod.HOUR, "")]


def test_ashby_tiers_unlisted_jobs_and_null_workplace() -> None:
    ae, intern = read("ashby/board.json", "https://jobs.ashbyhq.com/northwind")
    assert [s[4] for s in salaries(ae)] == ["Nationwide", "SF/NY"]
    assert intern.remote.kind is RemoteKind.REMOTE  # workplaceType null, isRemote true
    assert salaries(intern) == [(Decimal(45), Decimal(55), "USD", PayPeriod.HOUR, "")]


def test_recruitee_empty_salary_strings_are_no_salary() -> None:
    analyst, mechanic = read("recruitee/offers.json", "https://northwind.recruitee.com/")
    assert salaries(analyst) == [(Decimal(55000), Decimal(68000), "EUR", PayPeriod.YEAR, "")]
    assert analyst.requirements.minimum == ("Excellent SQL.", "Dutch or English.")
    assert mechanic.salaries == ()
    assert mechanic.remote.kind is RemoteKind.ONSITE
    assert mechanic.requirements.preferred == ("Forklift licence.",)


def test_smartrecruiters_detail_reads_qualifications() -> None:
    (posting,) = read(
        "smartrecruiters/posting.json",
        "https://jobs.smartrecruiters.com/Northwind/744000100000001-warehouse-automation-engineer",
    )
    assert posting.requirements.minimum == ("PLC programming.", "3+ years in automation.")
    assert posting.requirements.preferred == ("ROS experience.",)
    assert posting.remote.kind is RemoteKind.HYBRID
    assert salaries(posting)[0][:2] == (Decimal(115000), Decimal(140000))
