"""The mutation score's list of equivalents: a listed name that names no mutant of a
module the run made is reported (mutmut renumbers a function's mutants when it changes)."""

from __future__ import annotations

from tests.mutation import stale_listings

FOUND = {"monitor.a.x_f__mutmut_1": "killed", "monitor.a.x_f__mutmut_2": "survived"}


def test_a_listed_name_of_a_module_the_run_made_must_name_one_of_its_mutants() -> None:
    listed = [
        ("monitor.a.x_f__mutmut_2", "equivalent"),
        ("monitor.a.x_f__mutmut_7", "was _2 before a pragma"),
        ("monitor.a.x_g*", "a pattern: may match none"),
        ("monitor.b.x_h__mutmut_1", "a module this run did not make"),
    ]
    assert stale_listings(listed, FOUND, []) == ["monitor.a.x_f__mutmut_7"]
    assert stale_listings(listed, FOUND, ["b"]) == []  # only the modules asked about
