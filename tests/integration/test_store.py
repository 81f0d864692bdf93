"""The store on SQLite and PostgreSQL: migrations, history, outbox, leases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, inspect

from monitor.errors import NotFound
from monitor.model import (
    Alert,
    ChangeKind,
    CheckOutcome,
    CheckResult,
    Delivery,
    FieldChange,
    Posting,
    PostingStatus,
    Salary,
    Validators,
)
from monitor.records import WatchSpec
from monitor.store import Store
from monitor.store.engine import (
    SCHEMA_REVISION,
    create_db_engine,
    current_revision,
    head_revision,
    upgrade,
)
from monitor.store.tables import metadata

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
URL = "https://jobs.example.com/backend"
SPEC = WatchSpec(url=URL, source_kind="html", source_id=URL, interval=timedelta(hours=1))
POSTING = Posting(
    source_kind="html", source_id=URL, url=URL, title="Backend Engineer", company="Example",
    salaries=(Salary(min=Decimal(100000), max=Decimal(120000), currency="USD"),),
)  # fmt: skip


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> Store:
    return Store(engine)


def result(posting_id: int, **overrides: object) -> CheckResult:
    values: dict[str, object] = {
        "posting_id": posting_id, "outcome": CheckOutcome.BASELINE, "checked_at": NOW,
        "next_check_at": NOW + timedelta(hours=1), "status": PostingStatus.OPEN,
        "validators": Validators(etag='"v1"', body_hash="h1"), "snapshot": POSTING,
    }  # fmt: skip
    values.update(overrides)
    return CheckResult(**values)  # type: ignore[arg-type]


def test_migrations_reach_head_and_match_the_tables(engine: Engine) -> None:
    assert current_revision(engine) == head_revision(engine) == SCHEMA_REVISION
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), metadata)
    assert drift == []
    assert {"watches", "postings", "snapshots", "changes", "outbox", "check_log"} <= set(
        inspect(engine).get_table_names()
    )


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)


def _salary_changes(store: Store, *summaries_and_percents: tuple[str, Decimal | None]) -> None:
    """A posting checked twice, the second check finding these pay changes (and a title
    change that states a percent of its own)."""
    store.watches.add_watch(SPEC, origin="cli", now=NOW)
    (state,) = store.leases.claim_all(now=NOW, lease=timedelta(minutes=1))
    store.postings.record(result(state.id))
    pay = [
        FieldChange(field="salary", kind=ChangeKind.CHANGED, old="a", new="b", summary=summary,
                    percent=percent)
        for summary, percent in summaries_and_percents
    ]  # fmt: skip
    title = FieldChange(field="title", kind=ChangeKind.CHANGED, old="a", new="b", summary="(+6%)")
    found = (*pay, title)
    raised = replace(POSTING, title="Senior Backend Engineer")
    store.postings.record(
        result(state.id, outcome=CheckOutcome.CHANGED, checked_at=NOW + timedelta(hours=1),
               snapshot=raised, changes=found)
    )  # fmt: skip


def test_a_change_stores_its_pay_percent_and_other_changes_none(store: Store) -> None:
    _salary_changes(
        store,
        ("salary range … (+6.0% / +5.0%)", Decimal("6.0")),
        ("pay period changed: … (annualised …, -1.9%, -1.0%)", Decimal("-1.9")),
        ("salary range … (currency changed)", None),
    )
    stored = [(c.field, c.percent) for c in store.views.history(URL).changes]
    assert stored == [
        ("salary", Decimal("6.0")), ("salary", Decimal("-1.9")), ("salary", None), ("title", None)
    ]  # fmt: skip


def test_the_percent_migration_reads_older_changes_percent_from_their_summary(
    engine: Engine,
) -> None:
    from alembic import command

    from monitor.store.engine import alembic_config

    store = Store(engine)
    _salary_changes(
        store,
        ("salary range … (+6.0% / +5.0%)", None),
        ("salary range … (-3.5% / -10.0%)", None),
        ("pay … (+2.0%)", None),
        ("pay period changed: … (annualised …, -1.9%, -1.0%)", None),
        ("salary range … (currency changed)", None),
    )
    command.downgrade(alembic_config(engine), "0012")
    assert "percent" not in {c["name"] for c in inspect(engine).get_columns("changes")}
    upgrade(engine)
    stored = [(c.field, c.percent) for c in store.views.history(URL).changes]
    # The figure the dashboard read from each summary before the percent was stored.
    assert stored == [
        ("salary", Decimal("6.0")), ("salary", Decimal("-10.0")), ("salary", Decimal("2.0")),
        ("salary", None), ("salary", None), ("title", None),
    ]  # fmt: skip


def test_history_round_trip_with_aware_utc_times(store: Store) -> None:
    store.watches.add_watch(SPEC, origin="cli", now=NOW)
    (state,) = store.leases.claim_all(now=NOW, lease=timedelta(minutes=1))
    store.postings.record(result(state.id))
    later = NOW + timedelta(hours=1)
    raised = replace(
        POSTING, salaries=(Salary(min=Decimal(110000), max=Decimal(130000), currency="USD"),)
    )
    change = FieldChange(
        field="salary", kind=ChangeKind.CHANGED, old="a", new="b", summary="salary moved"
    )
    alert = Alert(title="t", body_text="b", body_markdown="m")
    store.postings.record(
        result(state.id, outcome=CheckOutcome.CHANGED, checked_at=later, snapshot=raised,
               changes=(change,)),
        deliveries=[Delivery(channel="console", alert=alert), Delivery(channel="mail", alert=alert)],
    )  # fmt: skip

    history = store.views.history(URL)
    assert [v.posting for v in history.versions] == [POSTING, raised]
    assert history.versions[1].captured_at == later
    assert history.versions[1].captured_at.tzinfo is not None
    assert [(c.field, c.summary) for c in history.changes] == [("salary", "salary moved")]
    assert history.posting.current == raised
    assert store.postings.get_posting(URL).etag == '"v1"'
    assert sorted(a.channel for a in store.outbox.alerts(status="pending")) == ["console", "mail"]


def test_same_version_is_not_stored_twice(store: Store) -> None:
    store.watches.add_watch(SPEC, origin="cli", now=NOW)
    (state,) = store.leases.claim_all(now=NOW, lease=timedelta(minutes=1))
    store.postings.record(result(state.id))
    store.postings.record(result(state.id, outcome=CheckOutcome.UNCHANGED))
    assert len(store.views.history(str(state.id)).versions) == 1
    assert store.maintenance.count("check_log") == 1  # a check that found nothing new logs no row


def test_error_keeps_validators_and_counts_failures(store: Store) -> None:
    store.watches.add_watch(SPEC, origin="cli", now=NOW)
    (state,) = store.leases.claim_all(now=NOW, lease=timedelta(minutes=1))
    store.postings.record(result(state.id))
    store.postings.record(
        result(state.id, outcome=CheckOutcome.ERROR, validators=None, snapshot=None,
               consecutive_failures=1, error="HTTP 500"))  # fmt: skip
    after = store.postings.get_posting(URL)
    assert (after.etag, after.body_hash) == ('"v1"', "h1")
    assert (after.last_outcome, after.last_error, after.consecutive_failures) == (
        "error",
        "HTTP 500",
        1,
    )


def test_a_leased_posting_is_not_claimed_twice(store: Store) -> None:
    store.watches.add_watch(SPEC, origin="cli", now=NOW)
    assert len(store.leases.claim_due(now=NOW, limit=10, lease=timedelta(minutes=5))) == 1
    assert (
        store.leases.claim_due(now=NOW + timedelta(minutes=1), limit=10, lease=timedelta(minutes=5))
        == []
    )
    # An expired lease (a crashed worker) makes it claimable again.
    assert (
        len(
            store.leases.claim_due(
                now=NOW + timedelta(minutes=6), limit=10, lease=timedelta(minutes=5)
            )
        )
        == 1
    )


def test_only_due_postings_are_claimed(store: Store) -> None:
    store.watches.add_watch(SPEC, origin="cli", now=NOW)
    (state,) = store.leases.claim_all(now=NOW, lease=timedelta(minutes=1))
    store.postings.record(result(state.id))
    assert (
        store.leases.claim_due(
            now=NOW + timedelta(minutes=59), limit=10, lease=timedelta(minutes=1)
        )
        == []
    )
    assert (
        len(
            store.leases.claim_due(
                now=NOW + timedelta(hours=1), limit=10, lease=timedelta(minutes=1)
            )
        )
        == 1
    )


def test_recording_twice_queues_each_alert_once(store: Store) -> None:
    store.watches.add_watch(SPEC, origin="cli", now=NOW)
    (state,) = store.leases.claim_all(now=NOW, lease=timedelta(minutes=1))
    alert = Alert(title="t", body_text="b", body_markdown="m")
    notice = Delivery(channel="console", alert=alert, notice=True)
    store.postings.record(
        result(state.id, outcome=CheckOutcome.ERROR, snapshot=None), deliveries=[notice]
    )
    store.postings.record(
        result(state.id, outcome=CheckOutcome.ERROR, snapshot=None), deliveries=[notice]
    )
    assert len(store.outbox.alerts()) == 1


def test_failed_alerts_can_be_retried(store: Store) -> None:
    store.watches.add_watch(SPEC, origin="cli", now=NOW)
    (state,) = store.leases.claim_all(now=NOW, lease=timedelta(minutes=1))
    alert = Alert(title="t", body_text="b", body_markdown="m")
    store.postings.record(result(state.id), deliveries=[Delivery(channel="console", alert=alert)])
    (queued,) = store.outbox.due_alerts(now=NOW)
    store.outbox.mark_attempt_failed(queued.id, error="gone", retry_at=None)
    assert store.outbox.due_alerts(now=NOW + timedelta(days=1)) == []
    assert store.outbox.retry_alerts(now=NOW) == 1
    (again,) = store.outbox.due_alerts(now=NOW)
    assert (again.status, again.attempts) == ("pending", 0)


def test_outbox_retry_then_sent(store: Store) -> None:
    store.watches.add_watch(SPEC, origin="cli", now=NOW)
    (state,) = store.leases.claim_all(now=NOW, lease=timedelta(minutes=1))
    alert = Alert(title="t", body_text="b", body_markdown="m")
    store.postings.record(result(state.id), deliveries=[Delivery(channel="console", alert=alert)])
    (queued,) = store.outbox.due_alerts(now=NOW)
    store.outbox.mark_attempt_failed(queued.id, error="down", retry_at=NOW + timedelta(minutes=1))
    assert store.outbox.due_alerts(now=NOW) == []
    (again,) = store.outbox.due_alerts(now=NOW + timedelta(minutes=1))
    assert (again.attempts, again.last_error) == (1, "down")
    store.outbox.mark_sent(again.id, now=NOW + timedelta(minutes=1))
    assert store.outbox.due_alerts(now=NOW + timedelta(days=1)) == []
    assert [a.status for a in store.outbox.alerts()] == ["sent"]


def test_watches_add_remove_revive_keep_history(store: Store) -> None:
    first = store.watches.add_watch(SPEC, origin="cli", now=NOW)
    (state,) = store.leases.claim_all(now=NOW, lease=timedelta(minutes=1))
    store.postings.record(result(state.id))
    store.watches.remove_watch(str(first.id), now=NOW)
    assert store.watches.list_watches() == []
    assert store.leases.claim_all(now=NOW + timedelta(hours=2), lease=timedelta(minutes=1)) == []
    revived = store.watches.add_watch(SPEC, origin="cli", now=NOW)
    assert revived.id == first.id
    assert len(store.views.history(URL).versions) == 1
    with pytest.raises(NotFound):
        store.watches.remove_watch("https://nope.example", now=NOW)


def test_config_watches_sync(store: Store) -> None:
    other = replace(
        SPEC, url="https://jobs.example.com/other", source_id="https://jobs.example.com/other"
    )
    store.watches.sync_config_watches([SPEC, other], now=NOW)
    store.watches.sync_config_watches([other], now=NOW)
    assert [w.url for w in store.watches.list_watches()] == [other.url]
    store.watches.sync_config_watches([], now=NOW)
    assert store.watches.list_watches() == []


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    engine = create_db_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    engine.dispose()


def test_an_unchanged_configuration_is_synced_with_one_read_and_no_write(
    store: Store, engine: Engine
) -> None:
    specs = [
        WatchSpec(
            url=f"{URL}/{n}",
            source_kind="html",
            source_id=f"{URL}/{n}",
            interval=timedelta(hours=1),
            channels=("team",),
        )
        for n in range(50)
    ]
    store.watches.sync_config_watches(specs, now=NOW)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2].split()[0]))
    store.watches.sync_config_watches(specs, now=NOW + timedelta(minutes=5))
    assert [s for s in statements if s.upper() in ("INSERT", "UPDATE", "DELETE")] == []

    changed = [replace(specs[0], interval=timedelta(hours=2)), *specs[1:49]]  # one edited, one gone
    statements.clear()
    store.watches.sync_config_watches(changed, now=NOW + timedelta(minutes=10))
    writes = [s for s in statements if s.upper() in ("INSERT", "UPDATE")]
    assert writes.count("UPDATE") >= 2  # the edited watch, and the one no longer listed
    active = {w.url: w for w in store.watches.list_watches()}
    assert active[f"{URL}/0"].interval == timedelta(hours=2)
    assert f"{URL}/49" not in active


def test_retry_queues_only_failed_alerts_and_only_those_named(store: Store) -> None:
    from tests.harness import queue_alerts

    queue_alerts(store, 3, channel="console", now=NOW)
    sent, failed, other_failed = (
        a.id for a in store.outbox.due_alerts(now=NOW + timedelta(minutes=1))
    )
    store.outbox.mark_sent(sent, now=NOW)
    store.outbox.mark_attempt_failed(failed, error="HTTP 500", retry_at=None)
    store.outbox.mark_attempt_failed(other_failed, error="HTTP 500", retry_at=None)

    assert store.outbox.retry_alerts([sent], now=NOW) == 0  # a sent alert is never sent again
    assert store.outbox.retry_alerts([failed], now=NOW) == 1  # by id: that one only
    statuses = store.outbox.alert_statuses([sent, failed, other_failed])
    assert statuses == {sent: "sent", failed: "pending", other_failed: "failed"}
    assert store.outbox.retry_alerts(now=NOW) == 1  # all: every failed one, still not the sent one
    assert store.outbox.alert_statuses([sent])[sent] == "sent"
