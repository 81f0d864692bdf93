"""Checks end to end through App with a mock transport, a frozen clock and a recording notifier."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.engines.oneshot import check_all
from monitor.model import CheckOutcome, Posting, PostingStatus
from monitor.store.tables import snapshots
from monitor.testing import FrozenClock, PageServer, RecordingNotifier
from tests.conftest import UNPACED, seed_text
from tests.harness import Rig

URL = "https://careers.example.com/jobs/backend-engineer"
V1 = seed_text("stripe-backend-engineer.html")
V2 = seed_text("stripe-backend-engineer.v2.html")


class Harness(Rig):
    def __init__(self, db_url: str) -> None:
        # Exact delays to assert on: no jitter.
        super().__init__(db_url, [{"url": URL, "interval": "1h"}], scheduler={"jitter": 0})

    def check(self) -> CheckOutcome:
        return self.check_once()


@pytest.fixture
def h(db_url: str) -> Iterator[Harness]:
    harness = Harness(db_url)
    yield harness
    harness.close()


def test_baseline_then_change_alerts_once(h: Harness) -> None:
    h.server.publish(URL, V1)
    assert h.check() is CheckOutcome.BASELINE
    assert h.notifier.sent == []
    h.server.publish(URL, V2)
    assert h.check() is CheckOutcome.CHANGED
    ((channel, alert),) = h.notifier.sent
    assert channel == "console"
    assert "155,700–285,600 USD/yr → 165,000–300,000 (+6.0% / +5.0%)" in alert.body_text
    assert "requirement added: Experience operating Kubernetes in production." in alert.body_text
    assert "remote policy hybrid → remote" in alert.body_text
    assert h.check() is CheckOutcome.NOT_MODIFIED  # the server honours our stored ETag
    assert len(h.notifier.sent) == 1


def test_conditional_request_sends_stored_etag(h: Harness) -> None:
    h.server.publish(URL, V1)
    h.check()
    h.check()
    assert "If-None-Match" not in h.server.requests[0].headers
    assert h.server.requests[1].headers["If-None-Match"].startswith('"')


def test_same_body_without_etag_skips_parsing(h: Harness) -> None:
    h.server.fail(
        URL, lambda _r: httpx.Response(200, text=V1, headers={"Content-Type": "text/html"})
    )
    assert h.check() is CheckOutcome.BASELINE
    assert h.check() is CheckOutcome.UNCHANGED


@pytest.mark.parametrize(
    ("responder", "error"),
    [
        pytest.param(lambda _r: httpx.Response(500, text="oops"), "HTTP 500", id="server-error"),
        pytest.param(None, "timed out", id="timeout"),
        pytest.param(
            lambda _r: httpx.Response(
                200, content=b"%PDF-1.4", headers={"Content-Type": "application/pdf"}
            ),
            "unsupported content type 'application/pdf'",
            id="not-html",
        ),
        pytest.param(
            lambda _r: httpx.Response(
                200, text="<p>nothing here</p>", headers={"Content-Type": "text/html"}
            ),
            "no job posting found",
            id="no-posting",
        ),
    ],
)
def test_faults_are_recorded_without_change_or_alert(
    h: Harness, responder: object, error: str
) -> None:
    h.server.publish(URL, V1)
    h.check()
    if responder is None:

        def responder(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("slow", request=request)

    h.server.fail(URL, responder)  # type: ignore[arg-type]
    h.clock.advance(timedelta(hours=1))
    assert h.check() is CheckOutcome.ERROR
    state = h.app.store.postings.get_posting(URL)
    assert error in (state.last_error or "")
    assert state.consecutive_failures == 1
    assert state.current is not None
    assert state.current.salaries  # the stored version is untouched
    assert h.notifier.sent == []
    assert h.app.store.views.history(URL).changes == ()
    # Recovery resets the failure count and, with the same content, reports nothing.
    h.server.publish(URL, V1)
    assert h.check() in (CheckOutcome.UNCHANGED, CheckOutcome.NOT_MODIFIED)
    assert h.app.store.postings.get_posting(URL).consecutive_failures == 0
    assert h.notifier.sent == []


def test_errors_back_off_but_never_beyond_the_interval(h: Harness) -> None:
    h.server.fail(URL, lambda _r: httpx.Response(503))
    for failures, expected_minutes in enumerate((1, 2, 4, 8, 16, 32, 60, 60), start=1):
        h.check()
        state = h.app.store.postings.get_posting(URL)
        assert state.next_check_at - h.clock.now() == timedelta(minutes=expected_minutes)
        assert state.consecutive_failures == failures
        h.clock.advance(state.next_check_at - h.clock.now())  # as the daemon would


def test_closed_only_after_confirmations_then_reopened(h: Harness) -> None:
    h.server.publish(URL, V1)
    h.check()
    h.server.fail(URL, lambda _r: httpx.Response(404))
    assert h.check() is CheckOutcome.GONE
    assert h.notifier.sent == []
    assert h.check() is CheckOutcome.CLOSED
    assert h.app.store.postings.get_posting(URL).status is PostingStatus.CLOSED
    assert h.check() is CheckOutcome.GONE  # already closed: no second alert
    h.server.publish(URL, V1)
    assert h.check() is CheckOutcome.CHANGED
    titles = [alert.title for _channel, alert in h.notifier.sent]
    assert titles == [
        "Stripe · Backend Engineer, Core Technology: posting closed",
        "Stripe · Backend Engineer, Core Technology: posting reopened",
    ]


def test_a_single_404_then_recovery_is_not_a_closure(h: Harness) -> None:
    h.server.publish(URL, V1)
    h.check()
    h.server.fail(URL, lambda _r: httpx.Response(410))
    h.check()
    h.server.publish(URL, V1)
    h.check()
    h.server.fail(URL, lambda _r: httpx.Response(410))
    assert h.check() is CheckOutcome.GONE
    assert h.notifier.sent == []


def test_body_over_limit_is_an_error(db_url: str) -> None:
    harness = Harness(db_url)
    harness.app.fetcher._config = harness.app.config.http.model_copy(
        update={"max_body_bytes": 1000}
    )
    harness.server.publish(URL, V1)
    try:
        assert harness.check() is CheckOutcome.ERROR
        assert "body larger than 1000 bytes" in (
            harness.app.store.postings.get_posting(URL).last_error or ""
        )
    finally:
        harness.close()


def test_failed_delivery_is_retried_then_sent_once(h: Harness) -> None:
    h.server.publish(URL, V1)
    h.check()
    h.notifier.failures_left = 3
    h.server.publish(URL, V2)
    h.check()
    assert h.notifier.sent == []
    for _ in range(3):
        h.clock.advance(timedelta(hours=1))
        asyncio.run(h.app.deliver())
    assert len(h.notifier.sent) == 1
    h.clock.advance(timedelta(days=1))
    asyncio.run(h.app.deliver())
    assert len(h.notifier.sent) == 1
    (stored,) = h.app.store.outbox.alerts()
    assert (stored.status, stored.attempts) == ("sent", 4)


def test_alert_gives_up_after_max_attempts(db_url: str) -> None:
    harness = Harness(db_url)
    harness.app.retry = harness.app.retry.__class__(max_attempts=2, base=timedelta(seconds=1))
    try:
        harness.server.publish(URL, V1)
        harness.check()
        harness.notifier.failures_left = 99
        harness.server.publish(URL, V2)
        harness.check()
        harness.clock.advance(timedelta(minutes=1))
        report = asyncio.run(harness.app.deliver())
        assert (report.sent, report.failed) == (0, 1)
        (stored,) = harness.app.store.outbox.alerts(status="failed")
        assert "is down" in (stored.last_error or "")
    finally:
        harness.close()


def test_a_cron_watch_is_checked_at_its_fires_and_retried_sooner_after_an_error(
    db_url: str,
) -> None:
    server, clock = PageServer(), FrozenClock(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    config = MonitorConfig.model_validate(
        {
            "database": {"url": db_url},
            "watches": [{"url": URL, "cron": "0 9 * * mon-fri Europe/Berlin"}],
            "scheduler": {"jitter": 0},
            "http": UNPACED,
        }
    )
    app = App(config, transport=server.transport(), notifier=RecordingNotifier(), clock=clock)
    app.prepare()
    server.publish(URL, V1)
    try:
        assert asyncio.run(check_all(app)).outcomes == {CheckOutcome.BASELINE: 1}
        monday_9_berlin = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        assert app.store.postings.get_posting(URL).next_check_at == monday_9_berlin
        assert app.store.watches.list_watches()[0].cron == "0 9 * * mon-fri Europe/Berlin"
        clock.advance(monday_9_berlin - clock.now())
        server.fail(URL, lambda _r: httpx.Response(503))
        assert asyncio.run(check_all(app)).outcomes == {CheckOutcome.ERROR: 1}
        assert app.store.postings.get_posting(URL).next_check_at == monday_9_berlin + timedelta(
            minutes=1
        )
        clock.advance(timedelta(minutes=1))
        server.publish(URL, V1)
        asyncio.run(check_all(app))
        assert app.store.postings.get_posting(URL).next_check_at == datetime(
            2026, 12, 1, 8, tzinfo=UTC
        )
    finally:
        asyncio.run(app.aclose())


def _as_read_by_an_older_reader(h: Harness) -> None:
    """Rewrite the stored version as the reader before versions were kept saw the page:
    no provenance, and a remote policy it could not read."""
    engine = h.app.store.engine
    with engine.begin() as connection:
        ((snapshot_id, data),) = connection.execute(select(snapshots.c.id, snapshots.c.data))
        old = {k: v for k, v in data.items() if k != "provenance"}
        old["remote"] = {"kind": "unknown", "details": []}
        digest = Posting.from_dict(old).content_hash()
        connection.execute(
            update(snapshots)
            .where(snapshots.c.id == snapshot_id)
            .values(data=old, content_hash=digest)
        )


def test_a_newer_reader_rereads_an_unchanged_page_once_without_alerting(h: Harness) -> None:
    h.server.publish(URL, V1)
    h.check()
    _as_read_by_an_older_reader(h)

    assert h.check() is CheckOutcome.CHANGED  # fetched in full although the ETag matches
    assert "If-None-Match" not in h.server.requests[-1].headers
    assert h.notifier.sent == []  # the page did not change; our reading of it did
    assert h.app.store.maintenance.count("snapshots") == 2
    assert (
        h.app.store.maintenance.count("changes") == 1
    )  # "remote policy unknown → hybrid", in history

    assert h.check() is CheckOutcome.NOT_MODIFIED  # once: the stored version is current now
    assert h.notifier.sent == []


def test_a_real_edit_read_by_a_newer_reader_is_alerted(h: Harness) -> None:
    h.server.publish(URL, V1)
    h.check()
    _as_read_by_an_older_reader(h)
    h.server.publish(URL, V2)
    assert h.check() is CheckOutcome.CHANGED
    ((_channel, alert),) = h.notifier.sent
    assert "155,700–285,600 USD/yr → 165,000–300,000" in alert.body_text


def test_a_url_that_is_404_from_the_first_check_is_an_error_that_gets_reported(
    h: Harness,
) -> None:
    """A typo in a watched URL must not go unnoticed forever as 'gone'."""
    h.server.fail(URL, lambda _r: httpx.Response(404))
    outcomes = [h.check() for _ in range(3)]  # alerts.error_after
    assert outcomes == [CheckOutcome.ERROR] * 3
    state = h.app.store.postings.get_posting(URL)
    assert state.last_error == f"HTTP 404 on the first check: is the URL right? ({URL})"
    assert [t for t in h.titles() if "checks failing (3 in a row)" in t]
