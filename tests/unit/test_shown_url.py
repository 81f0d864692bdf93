"""Credentials in a watched URL are never shown or logged."""

from __future__ import annotations

import pytest

from monitor.errors import FetchError
from monitor.urls import shown_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://bob:s3cret@jobs.test/x?a=1", "https://bob:***@jobs.test/x?a=1"),
        ("https://tok3n@jobs.test/x", "https://***@jobs.test/x"),
        ("http://bob:s3cret@127.0.0.1:8080/x", "http://bob:***@127.0.0.1:8080/x"),
        ("https://jobs.test/x", "https://jobs.test/x"),
        ("http://bob:s3cret@host:99999/x", "(a URL with credentials that cannot be read)"),
    ],
)
def test_credentials_are_masked(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def test_errors_name_the_url_without_its_credentials() -> None:
    error = FetchError("timed out", url="https://bob:s3cret@jobs.test/x")
    assert str(error) == "timed out (https://bob:***@jobs.test/x)"
    assert error.url == "https://bob:s3cret@jobs.test/x"  # the program still has it
