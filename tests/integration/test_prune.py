"""Retention: old check log rows, alerts sent long ago and records of stopped daemons
go; versions, changes, failed and pending alerts stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, insert, select, update

from monitor.cli import cli
from monitor.records import PruneReport
from monitor.store import Store
from monitor.store.engine import create_db_engine, upgrade
from monitor.store.tables import changes, check_log, outbox, snapshots
from tests.harness import queue_alerts

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=90)


def count(store: Store, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


def history_size(store: Store) -> tuple[int, int]:
    return count(store, snapshots), count(store, changes)


def filled(db_url: str, now: datetime = NOW) -> Store:
    """Four postings with one queued alert each; check log rows 100, 90 (exactly at
    the cutoff) and 10 days old; alerts sent 100, 30 (exactly at the alerts' cutoff)
    and 10 days ago, one failed 100 days ago; daemons stopped 100, 90 (at the cutoff)
    and 10 days ago, one running since long ago."""
    engine = create_db_engine(db_url)
    upgrade(engine)
    store = Store(engine)
    queue_alerts(store, 4, now=now - timedelta(days=200))
    first, second, third, fourth = (a.id for a in store.outbox.alerts())
    posting = store.outbox.alerts()[0].posting_id
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
            (fourth, "sent", 30),
        ):
            conn.execute(
                update(outbox)
                .where(outbox.c.id == alert_id)
                .values(status=status, sent_at=now - timedelta(days=days))
            )
    for name, stopped in (("old", 100), ("at-cutoff", 90), ("recent", 10)):
        store.processes.daemon_started(name, host="box", pid=1, now=now - timedelta(days=200))
        store.processes.daemon_stopped(name, now=now - timedelta(days=stopped), checks=1)
    store.processes.daemon_started("running", host="box", pid=2, now=now - timedelta(days=200))
    return store


def test_prune_deletes_only_what_is_older_than_kept(db_url: str) -> None:
    store = filled(db_url)
    history = history_size(store)
    cutoffs = {"check_log_before": CUTOFF, "sent_alerts_before": NOW - timedelta(days=30)}
    assert store.maintenance.prune(**cutoffs, dry_run=True) == PruneReport(
        check_log=2, alerts=1, daemons=1
    )
    assert count(store, check_log) == 4  # a dry run deletes nothing

    assert store.maintenance.prune(**cutoffs, chunk=1) == PruneReport(
        check_log=2, alerts=1, daemons=1
    )
    with store.engine.connect() as conn:
        left = sorted(conn.scalars(select(check_log.c.checked_at)))
    assert left == [CUTOFF, NOW - timedelta(days=10)]  # the row at the cutoff stays
    assert sorted(a.status for a in store.outbox.alerts()) == ["failed", "sent", "sent"]
    assert sorted(d.id for d in store.processes.daemons()) == ["at-cutoff", "recent", "running"]
    assert history_size(store) == history  # versions and changes are never pruned
    assert store.maintenance.prune(**cutoffs, dry_run=True) == PruneReport()
    assert store.maintenance.prune(**cutoffs) == PruneReport()
    store.engine.dispose()


def test_none_keeps_forever(db_url: str) -> None:
    store = filled(db_url)
    assert store.maintenance.prune(check_log_before=None, sent_alerts_before=None) == PruneReport()
    assert count(store, check_log) == 4
    store.engine.dispose()


def test_db_prune_command_reports_and_honours_the_settings(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'monitor.db'}"
    filled(db_url, now=datetime.now(UTC)).engine.dispose()
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
