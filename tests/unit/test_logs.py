"""The monitor's own log configuration: its lines at the chosen level, libraries' chatter
kept to warnings."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from monitor.logs import configure_logging

QUIET = ("apprise", "apscheduler", "httpx", "alembic", "procrastinate")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in QUIET}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def test_an_idle_workers_queue_library_lines_are_not_logged_at_the_default_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    # What procrastinate logs from an idle worker, once a second or so.
    logging.getLogger("procrastinate.worker").info("Starting job", extra={"action": "start_job"})
    logging.getLogger("procrastinate.worker").debug("Waiting for new jobs")
    logging.getLogger("procrastinate.periodic").info(
        "Periodic job deferred", extra={"action": "periodic_task_deferred"}
    )
    logging.getLogger("procrastinate.manager").info(
        "Jobs deferred", extra={"action": "jobs_deferred"}
    )
    logging.getLogger("monitor.engines.queue").info("checked a page")
    logging.getLogger("procrastinate.worker").warning("Side task listener failed")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert "checked a page" in lines[0]
    assert "Side task listener failed" in lines[1]


def test_debug_level_does_not_open_the_libraries_either(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("DEBUG")
    for name in QUIET:
        logging.getLogger(f"{name}.inner").info("chatter")
    logging.getLogger("monitor").debug("ours")
    err = capsys.readouterr().err
    assert "chatter" not in err
    assert "ours" in err
