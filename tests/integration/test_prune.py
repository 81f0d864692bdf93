"""Retention: old check log rows, alerts sent long ago and records of stopped daemons
go; versions, changes, failed and pending alerts stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, insert, select, update

from monitor.cli import cli
from monitor.records import PruneReport
from monitor.store.engine import create_db_engine, upgrade
from monitor.store.repository import Repository
from monitor.store.tables import changes, check_log, outbox, snapshots
from tests.harness import queue_alerts

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=90)


def count(repo: Repository, table: object) -> int:
    with repo._engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


def history_size(repo: Repository) -> tuple[int, int]:
    return count(repo, snapshots), count(repo, changes)


def filled(db_url: str, now: datetime = NOW) -> Repository:
    """Three postings with one queued alert each; check log rows 100, 90 (exactly at
    the cutoff) and 10 days old; alerts sent 100 and 10 days ago, one failed 100
    days ago; daemons stopped 100 and 10 days ago, one running since long ago."""
    engine = create_db_engine(db_url)
    upgrade(engine)
    repo = Repository(engine)
    queue_alerts(repo, 3, now=now - timedelta(days=200))
    first, second, third = (a.id for a in repo.alerts())
    posting = repo.alerts()[0].posting_id
    with engine.begin() as conn:
        conn.execute(check_log.delete())
        conn.execute(
            insert(check_log),
            [
                {"posting_id": posting, "checked_at": now - timedelta(days=d), "outcome": "ok"}
                for d in (100, 100, 90, 10)
            ],
        )
        for alert_id, status, days in (
            (first, "sent", 100),
            (second, "sent", 10),
            (third, "failed", 100),
        ):
            conn.execute(
                update(outbox)
                .where(outbox.c.id == alert_id)
                .values(status=status, sent_at=now - timedelta(days=days))
            )
    for name, stopped in (("old", 100), ("recent", 10)):
        repo.daemon_started(name, host="box", pid=1, now=now - timedelta(days=200))
        repo.daemon_stopped(name, now=now - timedelta(days=stopped), checks=1)
    repo.daemon_started("running", host="box", pid=2, now=now - timedelta(days=200))
    return repo


def test_prune_deletes_only_what_is_older_than_kept(db_url: str) -> None:
    repo = filled(db_url)
    history = history_size(repo)
    cutoffs = {"check_log_before": CUTOFF, "sent_alerts_before": NOW - timedelta(days=30)}
    assert repo.prune(**cutoffs, dry_run=True) == PruneReport(check_log=2, alerts=1, daemons=1)
    assert count(repo, check_log) == 4  # a dry run deletes nothing

    assert repo.prune(**cutoffs, chunk=1) == PruneReport(check_log=2, alerts=1, daemons=1)
    with repo._engine.connect() as conn:
        left = sorted(conn.scalars(select(check_log.c.checked_at)))
    assert left == [CUTOFF, NOW - timedelta(days=10)]  # the row at the cutoff stays
    assert sorted(a.status for a in repo.alerts()) == ["failed", "sent"]
    assert sorted(d.id for d in repo.daemons()) == ["recent", "running"]
    assert history_size(repo) == history  # versions and changes are never pruned
    assert repo.prune(**cutoffs) == PruneReport()
    repo._engine.dispose()


def test_none_keeps_forever(db_url: str) -> None:
    repo = filled(db_url)
    assert repo.prune(check_log_before=None, sent_alerts_before=None) == PruneReport()
    assert count(repo, check_log) == 4
    repo._engine.dispose()


def test_db_prune_command_reports_and_honours_the_settings(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'monitor.db'}"
    filled(db_url, now=datetime.now(UTC))._engine.dispose()
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[database]\nurl = "{db_url}"\nkeep_check_log = "95d"\nkeep_sent_alerts = "0s"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    dry = runner.invoke(cli, ["--config", str(config), "db", "prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("would delete 2 check log rows, 0 sent alerts and 1 record")
    done = runner.invoke(cli, ["--config", str(config), "db", "prune"])
    assert done.exit_code == 0, done.output
    assert done.output == (
        "deleted 2 check log rows, 0 sent alerts and 1 record of stopped daemons and "
        "workers; versions and changes are kept\n"
    )
    again = create_db_engine(db_url)
    with again.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(check_log)) == 2
    again.dispose()
