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
