"""The content type of a saved response, read from its bytes (test-source --file)."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.sources.base import sniffed_content_type
from tests.unit.test_extract_cases import load_cases


@pytest.mark.parametrize("case", load_cases("content_types.yaml"))
def test_sniffed_content_type(case: dict[str, Any]) -> None:
    assert sniffed_content_type(case["input"].encode("utf-8")) == case["expected"]


def test_a_run_of_comments_is_read_in_linear_time() -> None:
    """Each comment of a run no element follows once doubled the time the prolog
    pattern took to fail (24 of them: seconds; 40: days): with the old pattern this
    test does not end. No clock is read: a busy machine cannot fail it."""
    assert sniffed_content_type(b"<!---->" * 40 + b"x") == "text/plain"
    assert sniffed_content_type(b"<!---->" * 500 + b"<div>") == "text/html"
