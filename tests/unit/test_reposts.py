"""When a new posting on a board is the same job as one that closed (a repost)."""

from __future__ import annotations

import pytest

from monitor.core.boards import same_job
from monitor.model import Posting, Requirements

REQUIREMENTS = (
    "5+ years building backend services in Go or Python",
    "Experience with PostgreSQL and message queues",
    "Fluent English",
)


def _posting(
    title: str = "Backend Engineer",
    locations: tuple[str, ...] = ("Berlin, Germany",),
    company: str = "Northwind",
    minimum: tuple[str, ...] = REQUIREMENTS,
) -> Posting:
    return Posting(
        source_kind="greenhouse",
        source_id="x",
        url="https://example.com/x",
        title=title,
        company=company,
        locations=locations,
        requirements=Requirements(minimum=minimum),
    )


@pytest.mark.parametrize(
    ("new", "same"),
    [
        pytest.param(_posting(), True, id="identical"),
        pytest.param(_posting(title="backend  ENGINEER"), True, id="title case and spacing"),
        pytest.param(
            _posting(minimum=(*REQUIREMENTS[:2], "Fluent English; German is a plus")),
            True,
            id="one requirement reworded",
        ),
        pytest.param(_posting(company=""), True, id="company not stated on one"),
        pytest.param(_posting(title="Senior Backend Engineer"), False, id="another title"),
        pytest.param(_posting(locations=("Munich, Germany",)), False, id="another place"),
        pytest.param(_posting(company="Southwind"), False, id="another company"),
        pytest.param(
            _posting(minimum=("Forklift licence", "Night shifts", "Lifting 25 kg")),
            False,
            id="other requirements",
        ),
        pytest.param(_posting(minimum=()), False, id="requirements gone"),
    ],
)
def test_same_job(new: Posting, same: bool) -> None:
    assert same_job(_posting(), new) is same


def test_postings_without_requirements_match_on_title_and_place() -> None:
    assert same_job(_posting(minimum=()), _posting(minimum=()))


def test_requirements_that_appear_make_another_job() -> None:
    assert same_job(_posting(minimum=()), _posting()) is False


def test_requirements_alike_at_exactly_the_threshold_are_the_same_job() -> None:
    # difflib's ratio 2 × 4 / (4 + 6) = 0.8, the threshold itself.
    assert same_job(_posting(minimum=("abcd",)), _posting(minimum=("abcdef",))) is True
    assert same_job(_posting(minimum=("abcd",)), _posting(minimum=("abcdefg",))) is False


def test_a_long_requirements_list_is_compared_character_by_character() -> None:
    """difflib's autojunk (on by default past 200 characters) would treat the commonest
    characters as junk and call these two lists different (0.76 instead of 0.84)."""
    items = tuple(f"experience with technology number {i} in production systems" for i in range(30))
    reworded = (*items[:20], *(f"familiarity with tool {i}" for i in range(20, 30)))
    assert same_job(_posting(minimum=items), _posting(minimum=reworded)) is True


def test_short_requirements_are_weighed_by_their_words_not_the_breaks_between_them() -> None:
    """Three of eight skills replaced: 0.75 alike, another job. Each separator between
    items matches itself, so a wider one would lift the same lists to 0.83 (a repost)."""
    old = ("python", "go", "postgresql", "kafka", "docker", "kubernetes", "terraform", "aws")
    new = ("python", "go", "postgresql", "redis", "docker", "helm", "terraform", "gcp")
    assert same_job(_posting(minimum=old), _posting(minimum=new)) is False


def test_requirements_are_weighed_by_their_words_not_the_spaces_between_them() -> None:
    """0.74 alike, another job; a wider join between words would lift it to 0.84."""
    old = ("5 years of go in production", "sql on big tables", "on call one week in six")
    new = ("2 years of go at a startup", "sql on small tables", "on call two weeks in six")
    assert same_job(_posting(minimum=old), _posting(minimum=new)) is False
