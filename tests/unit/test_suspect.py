"""Which reads are suspect: block and login pages, and pages that lost most fields."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from monitor.core.suspect import richness, suspicion
from monitor.model import Posting, RemoteKind, RemotePolicy, Requirements, Salary

FULL = Posting(
    source_kind="html",
    source_id="x",
    url="https://careers.example.com/jobs/1",
    title="Login Systems Engineer",
    company="Northwind",
    locations=("Seattle, WA",),
    salaries=(Salary(min=Decimal(150000), max=Decimal(200000), currency="USD"),),
    remote=RemotePolicy(kind=RemoteKind.HYBRID),
    requirements=Requirements(minimum=("5 years of Go",)),
    employment_type="full-time",
)
BLOCK = Posting(source_kind="html", source_id="x", url=FULL.url, title="Just a moment...")


def test_a_real_posting_is_believed_even_with_a_login_word_in_its_title() -> None:
    assert richness(FULL) == 6
    assert suspicion(None, FULL) is None
    assert suspicion(FULL, FULL) is None


def test_a_block_page_is_suspect_and_never_confirmable() -> None:
    first = suspicion(None, BLOCK)
    assert first is not None
    assert not first.confirmable
    later = suspicion(FULL, BLOCK)
    assert later is not None
    assert "Just a moment" in later.reason


def test_losing_most_fields_is_suspect_but_confirmable() -> None:
    previous = replace(FULL, title="Backend Engineer")
    shell = Posting(source_kind="html", source_id="x", url=FULL.url, title="Backend Engineer")
    doubt = suspicion(previous, shell)
    assert doubt is not None
    assert doubt.confirmable
    assert doubt.reason == "only 0 of the 6 fields of the last good version could be read"


def test_losing_a_few_fields_is_an_ordinary_change() -> None:
    edited = replace(FULL, salaries=(), employment_type=None)
    assert suspicion(FULL, edited) is None


def test_thin_postings_are_not_judged_by_loss() -> None:
    thin = replace(BLOCK, title="Engineer", company="Northwind", locations=("Oslo",))
    bare = replace(thin, company="", locations=())
    assert suspicion(thin, bare) is None
