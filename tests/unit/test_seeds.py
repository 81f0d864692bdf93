"""The web-page source on the recorded seed pages, against golden postings."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from monitor.model import PayPeriod, Posting, RemoteKind
from tests.goldens import expected, read_page

URL = "https://stripe.example/jobs/backend-engineer"
GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def read_seed(name: str) -> Posting:
    return read_page(name)


@pytest.mark.parametrize(
    "seed",
    ["stripe-backend-engineer.html", "stripe-backend-engineer.v2.html", "acme-data-analyst.html"],
)
def test_seed_matches_golden(seed: str) -> None:
    # Only `python -m tests.goldens` rewrites a golden, showing the diff.
    assert read_seed(seed).to_dict() == expected(GOLDEN / f"{seed}.json")


def test_first_version_reads_like_a_person() -> None:
    posting = read_seed("stripe-backend-engineer.html")
    (salary,) = posting.salaries
    assert (salary.min, salary.max, salary.currency, salary.period) == (
        Decimal("155700"),
        Decimal("285600"),
        "USD",
        PayPeriod.YEAR,
    )
    assert posting.remote.kind is RemoteKind.HYBRID
    assert "remote only 35+ miles from an office" in posting.remote.details
    assert len(posting.requirements.minimum) == 4
    assert posting.requirements.preferred[0].startswith("Experience optimizing")


def test_revision_changes_salary_requirement_and_remote_policy() -> None:
    posting = read_seed("stripe-backend-engineer.v2.html")
    assert (posting.salaries[0].min, posting.salaries[0].max) == (Decimal(165000), Decimal(300000))
    assert posting.requirements.minimum[-1] == "Experience operating Kubernetes in production."
    assert posting.remote.kind is RemoteKind.REMOTE


def test_page_without_json_ld_is_read_from_its_text() -> None:
    posting = read_seed("acme-data-analyst.html")
    assert posting.title == "Data Analyst"
    assert posting.salaries
    assert posting.salaries[0].currency == "EUR"
    assert posting.requirements.minimum
