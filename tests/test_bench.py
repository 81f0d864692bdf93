"""The benchmarks run (on the project's seeds: tests never need ../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import accuracy


def test_accuracy_report_falls_back_to_seeds(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert accuracy.main(["--corpus", str(tmp_path / "absent")]) == 0
    out = capsys.readouterr().out
    assert "seeds/ instead" in out
    assert "salary invented where none is written: 0" in out


def test_accuracy_counts_agreement_on_a_small_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus" / "lever"
    corpus.mkdir(parents=True)
    (corpus / "acme_postings.json").write_text(
        '[{"id": "x", "text": "Engineer", "categories": {"location": "Remote"},'
        ' "salaryRange": {"min": 100000, "max": 120000, "currency": "USD", "interval": "per-year-salary"},'
        ' "salaryDescription": "<p>The salary range is $100,000 - $120,000 per year.</p>"}]',
        encoding="utf-8",
    )
    report = accuracy.evaluate(tmp_path / "corpus")
    assert (report.postings, report.salary_structured, report.salary_text_agrees) == (1, 1, 1)
    assert report.salary_invented == []
