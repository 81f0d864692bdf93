"""The store's claims and outbox at their edges: what each call changes, exactly, and
what it leaves alone (monitor/store/leases.py and outbox.py, SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from monitor.core.verdicts import deferred
from monitor.errors import NotFound
from monitor.store import Store
from monitor.store.leases import DueURL
from monitor.store.postings import CheckWrite
from monitor.store.tables import postings
from tests.harness import outbox_rows as rows
from tests.harness import queue_alerts
from tests.integration.test_shared_delivery import make_store

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    made = make_store(db_url)
    yield made
    made.engine.dispose()  # PostgreSQL's pooled connections closed, not left to the GC


def test_due_alerts_come_a_hundred_at_a_time_by_channel(store: Store) -> None:
    queue_alerts(store, 101, now=NOW)
    queue_alerts(store, 2, channel="mail", now=NOW, first=101)
    assert len(store.outbox.due_alerts(now=NOW)) == 100
    assert len(store.outbox.due_alerts(now=NOW, limit=200)) == 103
    assert {a.channel for a in store.outbox.due_alerts(now=NOW, only_channel="mail")} == {"mail"}
    skipped = store.outbox.due_alerts(now=NOW, limit=200, skip_channels=["hook"])
    assert [a.channel for a in skipped] == ["mail", "mail"]
    assert store.outbox.due_alerts(now=NOW - timedelta(seconds=1)) == []  # not due before queued


def test_a_release_gives_back_only_the_alerts_named_and_held(store: Store) -> None:
    queue_alerts(store, 3, now=NOW)
    mine = store.outbox.claim_alerts(now=NOW, lease=LEASE, claimant="a")
    assert len(mine) == 3
    store.outbox.release_alerts([mine[0].id], claimant="a")
    store.outbox.release_alerts([mine[1].id], claimant="someone else")  # not theirs: kept
    claims = [(r["claimed_by"], r["claimed_until"]) for r in rows(store)]
    assert claims[0] == (None, None)
    assert claims[1][0] == "a"
    assert claims[2][0] == "a"
    assert [a.id for a in store.outbox.due_alerts(now=NOW)] == [mine[0].id]


def test_a_digest_sent_marks_each_alert_sent_once_more_tried_and_clean(store: Store) -> None:
    queue_alerts(store, 2, now=NOW)
    ids = [a.id for a in store.outbox.claim_alerts(now=NOW, lease=LEASE, claimant="a")]
    store.outbox.mark_many_failed(ids, error="down (fake)", retry_at=NOW)
    assert [r["last_error"] for r in rows(store)] == ["down (fake)", "down (fake)"]
    store.outbox.claim_alerts(now=NOW, lease=LEASE, claimant="b")
    sent_at = NOW + timedelta(minutes=1)
    store.outbox.mark_many_sent(ids, now=sent_at)
    assert [
        (r["status"], r["attempts"], r["sent_at"], r["last_error"], r["claimed_by"])
        for r in rows(store)
    ] == [("sent", 2, sent_at, None, None)] * 2


def test_claims_of_due_postings_stop_at_the_limit(store: Store) -> None:
    queue_alerts(store, 3, now=NOW)  # three postings, due in a month
    month = NOW + timedelta(days=31)
    assert len(store.leases.claim_due(now=month, limit=2, lease=LEASE)) == 2
    assert len(store.leases.claim_due(now=month, limit=2, lease=LEASE)) == 1  # the others held


@dataclass(frozen=True)
class _Planned:
    ids: tuple[int, ...]
    until: datetime


def test_a_batch_queued_late_checks_only_postings_still_under_its_lease(store: Store) -> None:
    queue_alerts(store, 3, now=NOW)
    month = NOW + timedelta(days=31)
    until, later = month + LEASE, month + timedelta(hours=1)
    seen: list[list[DueURL]] = []

    def plan(due: list[DueURL]) -> list[_Planned]:
        """The first queued behind others (a lease that ends later), the rest at once."""
        seen.append(due)
        return [_Planned((due[0].id,), later), _Planned(tuple(d.id for d in due[1:]), until)]

    batches, lost = store.leases.lease_due(now=month, limit=3, plan=plan)
    ids = [d.id for d in seen[0]]
    assert [b.ids for b in batches] == [(ids[0],), tuple(ids[1:])]
    assert lost == set()
    assert all(d.url.startswith("https://") for d in seen[0])
    assert store.leases.lease_due(now=month, limit=3, plan=plan) == ([], set())  # all held
    assert len(seen) == 1  # and the plan not asked
    assert [s.id for s in store.leases.still_leased(ids, lease_until=until)] == ids[1:]
    assert [s.id for s in store.leases.still_leased(ids[1:2], lease_until=until)] == ids[1:2]
    assert [s.id for s in store.leases.still_leased(ids, lease_until=later)] == ids[:1]
    assert store.leases.still_leased([], lease_until=until) == []
    # Run out and leased again by another batch: the late one gets none of them.
    assert [s.id for s in store.leases.claim_due(now=later, limit=3, lease=LEASE)] == ids[1:]
    assert store.leases.still_leased(ids[1:], lease_until=until) == []
    store.leases.release_leases(ids)
    assert len(store.leases.claim_due(now=later, limit=3, lease=LEASE)) == 3


def test_leasing_due_postings_in_batches_leaves_the_not_due_and_stops_at_the_limit(
    store: Store,
) -> None:
    queue_alerts(store, 3, now=NOW)
    month = NOW + timedelta(days=31)

    def one_batch(due: list[DueURL]) -> list[_Planned]:
        return [_Planned(tuple(d.id for d in due), month + LEASE)]

    assert store.leases.lease_due(now=NOW, limit=3, plan=one_batch) == ([], set())  # not due
    first, _ = store.leases.lease_due(now=month, limit=2, plan=one_batch)
    rest, _ = store.leases.lease_due(now=month, limit=2, plan=one_batch)
    assert [len(b.ids) for b in [*first, *rest]] == [2, 1]
    held = store.leases.claim_due(now=month, limit=3, lease=LEASE)
    assert held == []  # leased, by batches, until their end


def test_the_most_overdue_are_leased_first_and_a_dead_claimants_name_is_not_kept(
    store: Store,
) -> None:
    queue_alerts(store, 3, now=NOW)
    month = NOW + timedelta(days=31)
    with store.engine.begin() as conn:  # the last made is the most overdue
        ids = sorted(conn.scalars(select(postings.c.id)).all())
        conn.execute(
            update(postings)
            .where(postings.c.id == ids[-1])
            .values(next_check_at=NOW + timedelta(days=1))
        )
    # A daemon held the first and died: its lease ran out, its name is still there.
    store.leases.claim_due(now=month, limit=1, lease=LEASE, owner="dead-daemon")
    later = month + 2 * LEASE

    def one_batch(due: list[DueURL]) -> list[_Planned]:
        return [_Planned(tuple(d.id for d in due), later + LEASE)]

    first, _ = store.leases.lease_due(now=later, limit=2, plan=one_batch)
    assert first[0].ids == (ids[-1], ids[0])
    with store.engine.connect() as conn:
        owners = conn.execute(select(postings.c.id, postings.c.lease_owner)).all()
    assert dict(owners)[ids[0]] is None  # the dead daemon's release must not free it
    assert store.leases.release_leases_of(["dead-daemon"]) == 0


def test_due_postings_seen_but_in_no_batch_stay_free(store: Store) -> None:
    queue_alerts(store, 3, now=NOW)
    month = NOW + timedelta(days=31)

    def first_only(due: list[DueURL]) -> list[_Planned]:
        return [_Planned((due[0].id,), month + LEASE)]

    batches, _ = store.leases.lease_due(now=month, limit=3, plan=first_only)
    others = store.leases.claim_due(now=month, limit=3, lease=LEASE)
    assert len(others) == 2
    assert batches[0].ids[0] not in {s.id for s in others}


@pytest.mark.postgres
def test_a_posting_leased_elsewhere_while_batches_are_planned_is_left_out(
    postgres_url: str,
) -> None:
    """The due postings are read unlocked: one another process leases between the read
    and the write is not leased again, and is reported."""
    store, rival = make_store(postgres_url), make_store(postgres_url)
    try:
        queue_alerts(store, 2, now=NOW)
        month = NOW + timedelta(days=31)
        taken: list[int] = []

        def plan(due: list[DueURL]) -> list[_Planned]:
            taken.extend(s.id for s in rival.leases.claim_due(now=month, limit=1, lease=2 * LEASE))
            # the posting taken in the first batch; a second batch ending later
            return [
                _Planned((due[0].id,), month + LEASE),
                _Planned(tuple(d.id for d in due[1:]), month + 3 * LEASE),
            ]

        batches, lost = store.leases.lease_due(now=month, limit=2, plan=plan)
        assert len(taken) == 1
        assert lost == set(taken)
        assert batches[0].ids == tuple(taken)  # the plan as made; the caller drops the lost
        untaken = list(batches[1].ids)
        leased = store.leases.still_leased(untaken, lease_until=month + 3 * LEASE)
        assert [s.id for s in leased] == untaken
        assert store.leases.still_leased(taken, lease_until=month + LEASE) == []
    finally:
        store.engine.dispose()
        rival.engine.dispose()


def _watched(store: Store, count: int) -> None:
    from monitor.records import WatchSpec

    for i in range(count):
        url = f"https://jobs.example.com/{i}"
        spec = WatchSpec(url=url, source_kind="html", source_id=url, interval=timedelta(hours=1))
        store.watches.add_watch(spec, origin="cli", now=NOW - timedelta(hours=2))


def test_a_restarted_process_of_the_same_host_and_pid_gets_its_postings_back_at_once(
    store: Store,
) -> None:
    """A container killed mid-pass restarts as pid 1 of the same host: what the dead
    process leased is due again at once, not when the leases run out."""
    _watched(store, 3)
    store.processes.daemon_started("box:1:a", host="box", pid=1, now=NOW)
    held = store.leases.claim_due(now=NOW, limit=2, lease=LEASE, owner="box:1:a")
    assert len(held) == 2
    store.processes.daemon_started("other:7:a", host="other", pid=7, now=NOW)
    store.leases.claim_due(now=NOW, limit=1, lease=LEASE, owner="other:7:a")
    assert store.leases.claim_due(now=NOW, limit=5, lease=LEASE) == []  # all leased
    later = NOW + timedelta(seconds=30)
    store.processes.daemon_started("box:1:b", host="box", pid=1, now=later)
    back = store.leases.claim_due(now=later, limit=5, lease=LEASE, owner="box:1:b")
    assert sorted(s.id for s in back) == sorted(s.id for s in held)  # not the other host's
    ended = {d.id: d.stopped_at for d in store.processes.daemons()}
    assert ended == {"box:1:a": NOW, "box:1:b": None, "other:7:a": None}


def test_processes_found_dead_end_and_give_their_leases_back(store: Store) -> None:
    _watched(store, 2)
    store.processes.daemon_started("box:41:a", host="box", pid=41, now=NOW)
    store.leases.claim_due(now=NOW, limit=2, lease=LEASE, owner="box:41:a")
    assert store.processes.dead_ended(["box:41:a", "nobody"]) == ["box:41:a"]
    assert len(store.leases.claim_due(now=NOW, limit=5, lease=LEASE)) == 2
    assert store.processes.dead_ended(["box:41:a"]) == []  # already ended


def test_a_dead_daemons_checker_processes_give_their_leases_back_with_it(store: Store) -> None:
    """Checker processes lease as "<daemon id>/<n>" and have no row of their own."""
    _watched(store, 4)
    store.processes.daemon_started("box:41:a", host="box", pid=41, now=NOW)
    store.leases.claim_due(now=NOW, limit=1, lease=LEASE, owner="box:41:a/1")
    store.leases.claim_due(now=NOW, limit=1, lease=LEASE, owner="box:41:a/2")
    store.leases.claim_due(now=NOW, limit=1, lease=LEASE, owner="box:41:ab/1")  # another
    store.leases.claim_due(now=NOW, limit=1, lease=LEASE, owner="box:41:a_")  # LIKE's _
    assert store.processes.dead_ended(["box:41:a"]) == ["box:41:a"]
    assert len(store.leases.claim_due(now=NOW, limit=5, lease=LEASE)) == 2


def test_a_starting_process_ends_the_dead_of_its_host(db_url: str) -> None:
    """Killed without a stop written, then the host restarted (a new pid): the next
    process to start there ends the dead one's row and gets its postings at once."""
    import asyncio
    import socket

    from monitor.engines.lifecycle import start_process
    from tests.harness import Rig

    rig = Rig(db_url, [{"url": "https://jobs.example.com/a", "interval": "1h"}])
    store, now = rig.app.store, rig.clock.now()
    try:
        host = socket.gethostname()
        store.processes.daemon_started("gone", host=host, pid=2**22 + 12345, now=now)
        store.processes.daemon_started("far", host="elsewhere", pid=2**22 + 12345, now=now)
        assert store.leases.claim_due(now=now, limit=5, lease=LEASE, owner="gone")
        asyncio.run(start_process(rig.app, "new", kind="daemon"))
        running = {d.id for d in store.processes.daemons(running_only=True)}
        assert running == {"new", "far"}  # another host's rows are its own to judge
        assert len(store.leases.claim_due(now=now, limit=5, lease=LEASE)) == 1
    finally:
        rig.close()


@pytest.mark.parametrize("batched", [False, True], ids=["record", "record_many"])
def test_a_deferred_check_is_claimable_again_at_its_new_time_and_not_before(
    store: Store, batched: bool
) -> None:
    queue_alerts(store, 2, now=NOW)  # two postings, due in a month
    month = NOW + timedelta(days=31)
    first, _held = store.leases.claim_due(now=month, limit=2, lease=timedelta(hours=1))
    put_off = deferred(first, now=month, seconds=60)  # its host is busy: in a minute
    if batched:
        store.postings.record_many([CheckWrite(result=put_off)])
    else:
        store.postings.record(put_off)
    lease = timedelta(hours=1)
    assert store.leases.claim_due(now=month + timedelta(seconds=59), limit=5, lease=lease) == []
    again = store.leases.claim_due(now=month + timedelta(seconds=60), limit=5, lease=lease)
    assert [p.id for p in again] == [first.id]  # its lease ended; the other's holds
    (row,) = again
    assert (row.consecutive_failures, row.status) == (first.consecutive_failures, first.status)


def test_checking_a_watch_now_leases_its_own_posting_only_and_only_when_free(
    store: Store,
) -> None:
    """The dashboard's "check now": the watch's posting, due or not, leased for one
    lease; never another watch's, never one another process holds, never a removed
    watch's (NotFound naming it)."""
    _watched(store, 3)
    ids = [w.id for w in store.watches.list_watches()]
    first = store.leases.claim_watch(ids[0], now=NOW, lease=LEASE)  # not due: still leased
    assert [s.watch_id for s in first] == [ids[0]]
    assert [s.id for s in store.leases.still_leased([first[0].id], lease_until=NOW + LEASE)] == [
        first[0].id
    ]
    assert store.leases.claim_watch(ids[0], now=NOW, lease=LEASE) == []  # held
    assert store.leases.claim_watch(ids[0], now=NOW + LEASE, lease=LEASE) == []  # until its end
    assert len(store.leases.claim_watch(ids[0], now=NOW + 2 * LEASE, lease=LEASE)) == 1
    others = store.leases.claim_due(now=NOW, limit=5, lease=LEASE)
    assert sorted(s.watch_id for s in others) == ids[1:]  # the others were left alone
    store.watches.remove_watch(str(ids[1]), now=NOW)
    with pytest.raises(NotFound, match=f"no active watch {ids[1]}$"):
        store.leases.claim_watch(ids[1], now=NOW + 3 * LEASE, lease=LEASE)


def _leases(store: Store) -> dict[int, tuple[datetime | None, str | None]]:
    with store.engine.connect() as conn:
        found = conn.execute(select(postings.c.id, postings.c.lease_until, postings.c.lease_owner))
        return {row.id: (row.lease_until, row.lease_owner) for row in found}


def test_checking_a_board_now_leases_the_board_not_its_members_and_drops_a_dead_owner(
    store: Store,
) -> None:
    _watched(store, 1)
    (watch,) = store.watches.list_watches()
    (board,) = store.leases.claim_due(now=NOW, limit=1, lease=LEASE, owner="dead-daemon")
    with store.engine.begin() as conn:
        conn.execute(update(postings).values(role="board"))
        member = conn.scalar(
            insert(postings)
            .values(watch_id=watch.id, source_kind="html", source_id="m", url=f"{board.url}/m",
                    next_check_at=NOW, created_at=NOW, role="member", board_id=board.id)
            .returning(postings.c.id)
        )  # fmt: skip
    later = NOW + 2 * LEASE  # the dead daemon's lease ran out
    assert [s.id for s in store.leases.claim_watch(watch.id, now=later, lease=LEASE)] == [board.id]
    assert _leases(store) == {board.id: (later + LEASE, None), member: (None, None)}


def test_a_dead_process_gives_back_only_the_leases_it_still_holds(store: Store) -> None:
    """A checker process that died: its postings are free at once, nobody else's."""
    _watched(store, 4)
    dead = [s.id for s in store.leases.claim_due(now=NOW, limit=2, lease=LEASE, owner="dead")]
    alive = [s.id for s in store.leases.claim_due(now=NOW, limit=1, lease=LEASE, owner="alive")]
    store.leases.release_leases(dead[1:])  # given back already, its owner's name left
    assert store.leases.release_leases_of([]) == 0
    assert store.leases.release_leases_of(["dead"]) == 1
    held = _leases(store)
    assert held[dead[0]] == (None, None)
    assert held[alive[0]] == (NOW + LEASE, "alive")
    free = {s.id for s in store.leases.claim_due(now=NOW, limit=5, lease=LEASE)}
    assert free == set(held) - set(alive)
