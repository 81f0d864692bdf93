"""The store's overviews (monitor/store/maintenance.py), SQLite and PostgreSQL: what an
export's ETag and Last-Modified are made of (the rows it holds, cut at ``since`` like
the export itself, their newest id and time), and the counts ``status`` shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, insert, select, update

from monitor.records import WatchSpec
from monitor.store import Store
from monitor.store.tables import changes, postings, snapshots
from tests.harness import queue_alerts
from tests.integration.test_shared_delivery import make_store

T0 = NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    made = make_store(db_url)
    queue_alerts(made, 1, now=T0)
    queue_alerts(made, 1, now=T0 + HOUR, first=1)  # a posting and its version an hour later
    with made.engine.begin() as conn:
        for posting_id, snapshot_id in conn.execute(select(snapshots.c.posting_id, snapshots.c.id)):
            conn.execute(insert(changes).values(
                posting_id=posting_id, snapshot_id=snapshot_id, field="title", kind="changed",
                summary="s", detected_at=T0 + (posting_id - 1) * HOUR))  # fmt: skip
    yield made
    made.engine.dispose()


@pytest.mark.parametrize("what", ["changes", "versions", "postings"])
def test_a_stamp_counts_the_rows_since_the_cut_and_dates_the_newest(
    store: Store, what: str
) -> None:
    stamp, last = store.maintenance.export_stamp(what)
    assert stamp[:3] == (what, None, 2)
    assert last == T0 + HOUR  # aware UTC whatever the database hands back
    cut, cut_last = store.maintenance.export_stamp(what, since=T0 + HOUR)  # the instant kept
    assert (cut[1:3], cut_last) == ((T0 + HOUR, 1), T0 + HOUR)
    after, none_since = store.maintenance.export_stamp(what, since=T0 + 2 * HOUR)
    assert (after[2:], none_since) == ((0, None, None), None)


def test_a_postings_stamp_dates_it_by_its_last_check_and_cuts_it_by_when_first_seen(
    store: Store,
) -> None:
    with store.engine.begin() as conn:
        first = conn.scalar(select(postings.c.id).order_by(postings.c.id))
        conn.execute(update(postings).values(last_checked_at=None))
        conn.execute(
            update(postings).where(postings.c.id == first).values(last_checked_at=T0 + 5 * HOUR)
        )
    stamp, last = store.maintenance.export_stamp("postings", since=T0 + HOUR)
    assert (stamp[2], last) == (1, T0 + HOUR)  # first seen at T0: cut, checked or not
    _stamp, last = store.maintenance.export_stamp("postings")
    assert last == T0 + 5 * HOUR


def test_a_stamp_changes_when_a_row_is_replaced_by_one_of_the_same_time(store: Store) -> None:
    """Same count, same newest time (one second's edits): the newest id tells them apart."""
    before, _ = store.maintenance.export_stamp("changes")
    with store.engine.begin() as conn:
        row = conn.execute(select(changes).order_by(changes.c.id)).first()
        assert row is not None
        conn.execute(delete(changes).where(changes.c.id == row.id))
        conn.execute(insert(changes).values({k: v for k, v in row._mapping.items() if k != "id"}))
    after, _ = store.maintenance.export_stamp("changes")
    assert after != before
    assert after[2] == before[2]


def test_status_counts_the_active_postings_and_the_due_ones_no_process_holds(
    db_url: str,
) -> None:
    """``status`` and ``/metrics``: active = postings, boards and details of watches
    neither paused nor removed; due = those due by now (the instant included) and free
    (a lease ending now still holds), a closed detail never."""
    store = make_store(db_url)
    for n in range(9):
        url = f"https://jobs.example.com/{n}"
        spec = WatchSpec(url=url, source_kind="html", source_id=url, interval=HOUR)
        store.watches.add_watch(spec, origin="cli", now=NOW - 2 * HOUR)
    ids = [w.id for w in store.watches.list_watches()]
    store.watches.pause_watch(ids[7], paused=True, now=NOW)
    store.watches.remove_watch(str(ids[8]), now=NOW)
    second = timedelta(seconds=1)
    shapes = {  # watch: (next check, lease end, role, status)
        ids[0]: (NOW - second, None, "single", "open"),
        ids[1]: (NOW, None, "single", "closed"),  # a closed posting is checked for reopening
        ids[2]: (NOW + second, None, "single", "open"),  # not yet due
        ids[3]: (NOW - second, NOW, "board", "open"),  # its lease ends now: held
        ids[4]: (NOW - second, NOW - second, "detail", "open"),  # its lease ended
        ids[5]: (NOW - second, None, "detail", "closed"),
        ids[6]: (NOW - second, None, "member", "open"),  # read through its board's list
        ids[7]: (NOW - second, None, "single", "open"),  # paused
        ids[8]: (NOW - second, None, "single", "open"),  # removed
    }
    with store.engine.begin() as conn:
        for watch_id, (due, lease_until, role, status) in shapes.items():
            conn.execute(
                update(postings)
                .where(postings.c.watch_id == watch_id)
                .values(next_check_at=due, lease_until=lease_until, role=role, status=status)
            )
    assert store.maintenance.active_count() == 6  # ids[0..5]
    assert store.maintenance.due_count(now=NOW) == 3  # ids[0], ids[1], ids[4]
    assert store.maintenance.due_count(now=NOW + second) == 5  # ids[2] due, ids[3]'s lease over
    store.engine.dispose()
