from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from datetime import date
from decimal import Decimal

import pytest

from monitor.core.diff import compare
from monitor.core.normalize import normalize
from monitor.model import Posting, PostingStatus, RemoteKind, RemotePolicy, Salary
from monitor.notify.render import render_alert
from monitor.urls import canonical_url

POSTING = Posting(
    source_kind="html",
    source_id="https://x.test/j",
    url="https://x.test/j",
    title="Engineer",
    company="Acme",
    locations=("Berlin",),
    salaries=(Salary(min=Decimal("34.62"), max=Decimal(40), currency="USD"),),
    remote=RemotePolicy(kind=RemoteKind.HYBRID, details=("in office 2 days a week",)),
    posted_at=date(2026, 1, 2),
)


def test_round_trip_through_json_dict() -> None:
    assert Posting.from_dict(POSTING.to_dict()) == POSTING


def test_postings_are_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        POSTING.title = "x"  # type: ignore[misc]


def test_content_hash_ignores_updated_at_only() -> None:
    assert replace(POSTING, updated_at=date(2026, 5, 1)).content_hash() == POSTING.content_hash()
    assert replace(POSTING, title="Other").content_hash() != POSTING.content_hash()


def test_normalize_sorts_unordered_and_cleans_values() -> None:
    messy = replace(
        POSTING, title="  Engineer\n", locations=("Paris", "Berlin", "Paris"),
        employment_type="FULL_TIME",
        salaries=(Salary(min=Decimal(9), max=Decimal(5), currency="usd"),),
    )  # fmt: skip
    clean = normalize(messy)
    assert clean.title == "Engineer"
    assert clean.locations == ("Berlin", "Paris")
    assert clean.employment_type == "full-time"
    assert (clean.salaries[0].min, clean.salaries[0].max, clean.salaries[0].currency) == (
        5,
        9,
        "USD",
    )


def test_alert_says_what_changed_in_title_and_body() -> None:
    after = replace(POSTING, status=PostingStatus.CLOSED)
    alert = render_alert(compare(POSTING, after))
    assert alert.title == "Acme · Engineer: posting closed"
    assert "posting closed" in alert.body_text
    assert POSTING.url in alert.body_text
    assert "**Status**" in alert.body_markdown


def test_single_change_title_is_the_whole_change() -> None:
    raised = replace(POSTING, salaries=(Salary(min=Decimal(40), max=Decimal(44), currency="USD"),))
    title = render_alert(compare(POSTING, raised)).title
    assert title == "Acme · Engineer: salary range 34.62–40 USD → 40–44 (+15.5% / +10.0%)"


@pytest.mark.parametrize(("new_max", "verb"), [(44, "raised 15.5%"), (30, "changed")])
def test_several_changes_title_names_the_salary_direction(new_max: int, verb: str) -> None:
    raised = replace(
        POSTING, title="Staff Engineer",
        salaries=(Salary(min=Decimal(40), max=Decimal(new_max), currency="USD"),),
    )  # fmt: skip
    title = render_alert(compare(POSTING, raised)).title
    assert title == f"Acme · Staff Engineer: salary range {verb}, title changed"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "HTTPS://Jobs.Example.com/a?utm_source=x&b=2&a=1#apply",
            "https://jobs.example.com/a?a=1&b=2",
        ),
        ("https://boards.example/j?gh_src=abc&gh_jid=7", "https://boards.example/j?gh_jid=7"),
        ("https://x.test", "https://x.test/"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical
