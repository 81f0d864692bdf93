"""The content type of a saved response, read from its bytes (test-source --file)."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.sources.base import sniffed_content_type
from tests.unit.test_extract_cases import load_cases


@pytest.mark.parametrize("case", load_cases("content_types.yaml"))
def test_sniffed_content_type(case: dict[str, Any]) -> None:
    assert sniffed_content_type(case["input"].encode("utf-8")) == case["expected"]
