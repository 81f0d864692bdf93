"""Goldens change only through `python -m tests.goldens`, which shows each diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tests.goldens as goldens


def test_check_shows_the_diff_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    golden = tmp_path / "golden" / "x.json"
    golden.parent.mkdir()
    golden.write_text(goldens.written({"salary": 100}), encoding="utf-8")
    monkeypatch.setattr(goldens, "GOLDEN", tmp_path / "golden")
    monkeypatch.setattr(goldens, "goldens", lambda: iter([(golden, lambda: {"salary": 200})]))

    assert goldens.main(["--check"]) == 1
    out = capsys.readouterr()
    assert '-  "salary": 100' in out.out
    assert '+  "salary": 200' in out.out
    assert json.loads(golden.read_text(encoding="utf-8")) == {"salary": 100}

    assert goldens.main([]) == 0
    assert json.loads(golden.read_text(encoding="utf-8")) == {"salary": 200}
    assert "1 golden file(s) rewritten" in capsys.readouterr().err


def test_no_test_rewrites_a_golden() -> None:
    tests = Path(__file__).resolve().parent.parent
    writers = [
        path.name
        for path in tests.rglob("test_*.py")
        if path.name != "test_goldens.py"
        and "POSTING_MONITOR_REGENERATE" in path.read_text(encoding="utf-8")
    ]
    assert writers == []
