"""Extractors against the YAML case tables in tests/cases/."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from monitor.extract.remote import read_remote, remote_policy
from monitor.extract.requirements import requirements_from_lines
from monitor.extract.salary import parse_salaries, salaries_from_lines
from monitor.extract.text import text_to_lines
from monitor.model import PayPeriod, RemoteKind
from monitor.sources.common import (
    location_kind,
    remote_from_custom_fields,
    remote_from_flags,
    remote_from_word,
)
from tests.conftest import CASES


def load_cases(name: str) -> list[Any]:
    cases = yaml.safe_load((CASES / name).read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["id"]) for case in cases]


def _amount(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@pytest.mark.parametrize("case", load_cases("salary.yaml"))
def test_salary(case: dict[str, Any]) -> None:
    found = [(s.min, s.max, s.currency, s.period, s.label) for s in parse_salaries(case["input"])]
    expected = [
        (_amount(e[0]), _amount(e[1]), e[2], PayPeriod(e[3]), e[4] if len(e) > 4 else "")
        for e in case["expected"]
    ]
    assert found == expected


@pytest.mark.parametrize("case", load_cases("remote.yaml"))
def test_remote_policy(case: dict[str, Any]) -> None:
    hint = RemoteKind(case.get("hint", "unknown"))
    policy = remote_policy(
        text_to_lines("\n".join(case["lines"])), hint=hint, labelled=case.get("labelled", ())
    )
    assert policy.kind is RemoteKind(case["expected"]["kind"])
    assert sorted(policy.details) == sorted(case["expected"]["details"])


@pytest.mark.parametrize("case", load_cases("requirements.yaml"))
def test_requirements(case: dict[str, Any]) -> None:
    found = requirements_from_lines(text_to_lines("\n".join(case["lines"])))
    assert list(found.minimum) == case["expected"]["minimum"]
    assert list(found.preferred) == case["expected"]["preferred"]


def test_case_tables_are_substantial() -> None:
    # The tables are the extractors' specification; keep them broad.
    assert len(load_cases("salary.yaml")) >= 75
    assert len(load_cases("remote.yaml")) >= 100
    assert len(load_cases("requirements.yaml")) >= 35


@pytest.mark.parametrize("case", load_cases("workplace.yaml"))
def test_structured_workplace_values(case: dict[str, Any]) -> None:
    if "word" in case:
        found = remote_from_word(case["word"])
    elif "flags" in case:
        found = remote_from_flags(**case["flags"])
    elif "fields" in case:
        found = remote_from_custom_fields(tuple(pair) for pair in case["fields"])
    else:
        found = location_kind(case["locations"])
    assert found is RemoteKind(case["expected"])
    if "lines" in case:  # the value beside the posting's text, as every ATS source reads it
        reading = read_remote(
            text_to_lines("\n".join(case["lines"])), hint=found
        ).with_stated_regions(case.get("stated", ()), "structured field")
        assert reading.policy.kind is RemoteKind(case.get("kind", case["expected"]))
        assert sorted(reading.policy.details) == sorted(case["details"])
        notes = reading.disagreements("workplace field")
        assert [n.split(":")[0] for n in notes] == case.get("disagreements", [])


@pytest.mark.parametrize("case", load_cases("salary_lines.yaml"))
def test_salary_in_a_posting(case: dict[str, Any]) -> None:
    found = [
        (s.min, s.max, s.currency, s.period)
        for s in salaries_from_lines(text_to_lines("\n".join(case["lines"])))
    ]
    assert found == [
        (_amount(e[0]), _amount(e[1]), e[2], PayPeriod(e[3])) for e in case["expected"]
    ]


@pytest.mark.parametrize(
    ("amount", "period"),
    [("10000", "year"), ("9999.99", None), ("500", None), ("499.99", "hour")],
)
def test_the_period_of_an_amount_nobody_named_one_for(amount: str, period: str | None) -> None:
    from decimal import Decimal

    from monitor.extract.salary import period_from_magnitude

    found = period_from_magnitude(Decimal(amount))
    assert (found.value if found else None) == period


@pytest.mark.parametrize(
    ("html", "lines"),
    [
        # A block right inside a list item keeps the item's bullet, on one line.
        ("<ul><li><p>Python</p></li><li>Go</li></ul>", ["- Python", "- Go"]),
        # ... also with the page's indentation between the item and its block.
        ("<ul><li>\n  <p>Python</p>\n</li></ul>", ["- Python"]),
        # Text before a block is a line of its own, not glued to the block's.
        ("<div>Intro text<p>Para</p></div>", ["Intro text", "Para"]),
    ],
)
def test_blocks_become_lines(html: str, lines: list[str]) -> None:
    from monitor.extract.text import html_to_lines

    assert html_to_lines(html) == lines
