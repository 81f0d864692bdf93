"""The benchmarks run (on the project's seeds: tests never need ../shared)."""

from __future__ import annotations

import json
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


def test_daemon_benchmark_finds_every_change_on_a_small_site(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench import daemon

    code = daemon.main(["--postings", "40", "--board-jobs", "20", "--server", "python", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["changes_made"] == 6  # 10% of 40 pages and of 20 board jobs
    assert result["changes_detected"] == 6
    assert result["false_alerts"] == 0
    assert result["changes_in_304_pass"] == 0
    first, second, third = result["passes"]
    assert first["outcomes"] == {"baseline": 41}
    assert second["outcomes"] == {"changed": 5, "not_modified": 36}  # the board counts once
    assert third["outcomes"] == {"not_modified": 41}
