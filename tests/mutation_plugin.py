"""Loaded only by the mutation run (``[tool.mutmut]`` in pyproject.toml).

The mutants' tests read pages on the event loop instead of in reader processes: a
reader process would start from mutmut's own main module (the fork server re-imports
``__main__``), and process isolation is tested by the full suite, not by mutants of
the core modules, whose tests then run several times faster. Every mutated function
is called through a trampoline, a stack frame more per call: the recursion limit is
raised so that reading the deepest nesting a page may have stays within it.
"""

from __future__ import annotations

import sys

import pytest

from monitor.config import ReadingConfig

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))


@pytest.fixture(autouse=True)
def _pages_read_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def inline(self: ReadingConfig, checkers: int = 1) -> int:
        del checkers
        return 0 if self.workers is None else self.workers

    monkeypatch.setattr(ReadingConfig, "worker_count", inline)
