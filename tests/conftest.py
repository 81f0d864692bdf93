from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.testing import postgres_schema

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
CASES = Path(__file__).resolve().parent / "cases"
POSTGRES_ENV = "POSTING_MONITOR_TEST_POSTGRES_URL"
UNPACED = {"per_host_rate": 0}
"""HTTP settings for tests that check one host many times in a row: the per-host rate
would make each check wait in real time; politeness has its own tests."""


def seed_text(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test in its own directory: the default data directory is relative,
    and no test may write into the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to a fresh, empty schema on the test PostgreSQL; dropped afterwards."""
    base = os.environ.get(POSTGRES_ENV)
    if not base and os.environ.get("POSTING_MONITOR_REQUIRE_POSTGRES"):
        pytest.fail(f"{POSTGRES_ENV} is not set but PostgreSQL tests are required here")
    if not base:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1/test)"
        )
    with postgres_schema(base) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))
