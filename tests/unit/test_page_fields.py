"""Title, company and places of pages without JSON-LD, from tests/cases/page_fields.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.extract.page_fields import choose_title, locations_from_lines, title_parts
from tests.unit.test_extract_cases import load_cases

CASES = load_cases("page_fields.yaml")


@pytest.mark.parametrize("case", [c for c in CASES if "title" in c.values[0]])
def test_title_and_company(case: dict[str, Any]) -> None:
    assert choose_title(case["h1"], case["title"], "") == case["expected"]["job"]
    assert title_parts(case["title"]).company == case["expected"]["company"]


@pytest.mark.parametrize("case", [c for c in CASES if "lines" in c.values[0]])
def test_locations(case: dict[str, Any]) -> None:
    assert list(locations_from_lines(case["lines"])) == case["locations"]


@pytest.mark.parametrize(
    ("value", "place"),
    [
        ("Berlin.", "Berlin"),
        ("- Berlin -", "Berlin"),
        ("Aa" * 40, "Aa" * 40),  # 80 characters: the longest a place may be
        ("Aa" * 40 + "A", ""),
        ("Remote", ""),
        ("Berlin / Hybrid.", "Berlin"),
        ("Munich · On-site", "Munich"),
        ("Paris - Remote", "Paris"),
        ("Paris-Nord", "Paris-Nord"),
        ("Austin, TX (Hybrid)", "Austin, TX"),
        ("Frankfurt am Main", "Frankfurt am Main"),  # a particle is not a sentence
        ("Berlin mitte", "Berlin mitte"),  # one lower-case word may be a place's
        ("berlin mitte", ""),  # two: what is left of a sentence
        ("NYC", "NYC"),
        ("12345", ""),
        ("Berlin / Munich", "Berlin, Munich"),
        ("Remote Berlin", "Berlin"),
        ("stadt eBerlin", ""),  # two words starting lower-case, whatever follows
    ],
)
def test_clean_place(value: str, place: str) -> None:
    from monitor.extract.page_fields import clean_place

    assert clean_place(value) == place


@pytest.mark.parametrize(
    ("title", "job", "company"),
    [
        ("- Engineer at Acme |", "Engineer", "Acme"),
        ("", "", ""),
        ("Careers", "", ""),
        ("Jobs | Careers", "", ""),
        ("Engineer | Careers", "Engineer", ""),
        ("Xbox Developer at Xerox", "Xbox Developer", "Xerox"),
        ("Data Engineer at Careers", "Data Engineer", ""),  # a generic word is no company
    ],
)
def test_title_parts_of_generic_titles(title: str, job: str, company: str) -> None:
    parts = title_parts(title)
    assert (parts.job, parts.company) == (job, company)


@pytest.mark.parametrize(
    ("page_title", "og_title", "job"),
    [
        ("Careers", "Jobs", "Jobs"),  # nothing better: og:title before <title>
        ("Careers", "Data Engineer | Acme", "Data Engineer"),  # og:title's job part
    ],
)
def test_without_a_heading_the_title_comes_from_og_title(
    page_title: str, og_title: str, job: str
) -> None:
    assert choose_title("", page_title, og_title) == job
