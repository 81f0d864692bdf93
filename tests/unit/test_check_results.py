"""The pipeline's result builders, pure: every field of what a deferred, gone, failed,
suspect or unchanged check records (what the store then writes as it is)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from monitor.core.suspect import Suspicion
from monitor.core.verdicts import deferred, failed, gone, hold_suspect, sightings, unchanged
from monitor.errors import FetchError
from monitor.model import CheckOutcome, CheckResult, PostingStatus, Validators
from monitor.sources.base import FetchedPage, FetchResponse
from tests.unit.test_judge_board import NOW, job, member

POSTING = job("1")
STATE = member(
    9,
    POSTING,
    role="single",
    consecutive_failures=2,
    gone_count=1,
    etag='"e1"',
    last_modified="Mon, 30 Nov 2026 10:00:00 GMT",
    body_hash="h1",
    suspect_hash="s1",
    suspect_count=1,
)


def test_a_deferred_check_keeps_the_counts_and_tries_again_later() -> None:
    assert deferred(STATE, now=NOW, seconds=30) == CheckResult(
        posting_id=9,
        outcome=CheckOutcome.DEFERRED,
        checked_at=NOW,
        next_check_at=NOW + timedelta(seconds=30),
        status=PostingStatus.OPEN,
        consecutive_failures=2,
        gone_count=1,
    )


def test_gone_counts_up_and_closes_at_the_limit_forgetting_the_validators() -> None:
    counted = CheckResult(
        posting_id=9,
        outcome=CheckOutcome.GONE,
        checked_at=NOW,
        next_check_at=NOW + timedelta(hours=1),
        status=PostingStatus.OPEN,
        gone_count=2,
        http_status=404,
        error="HTTP 404",
        validators=Validators(),
    )
    assert gone(STATE, now=NOW, status=404, close_after=3) == counted
    later = NOW + timedelta(minutes=5)
    assert gone(STATE, now=NOW, status=404, close_after=3, next_check_at=later) == replace(
        counted, next_check_at=later
    )
    closed = gone(STATE, now=NOW, status=410, close_after=2)
    assert (closed.outcome, closed.status, closed.gone_count, closed.error) == (
        CheckOutcome.CLOSED, PostingStatus.CLOSED, 2, "HTTP 410",
    )  # fmt: skip
    assert closed.snapshot == replace(POSTING, status=PostingStatus.CLOSED)
    assert [(c.field, c.old, c.new) for c in closed.changes] == [("status", "open", "closed")]
    already = replace(STATE, status=PostingStatus.CLOSED)
    assert gone(already, now=NOW, status=404, close_after=2).outcome is CheckOutcome.GONE


def test_a_failure_backs_off_doubling_up_to_the_interval_with_retry_after_as_a_floor() -> None:
    error = FetchError("connection refused", url=STATE.url)
    result = failed(STATE, now=NOW, error=error, http_status=502)
    assert result == CheckResult(
        posting_id=9,
        outcome=CheckOutcome.ERROR,
        checked_at=NOW,
        next_check_at=result.next_check_at,
        status=PostingStatus.OPEN,
        consecutive_failures=3,
        gone_count=1,
        http_status=502,
        error=str(error),
        suspect_hash="s1",
        suspect_count=1,
    )
    waits = [
        failed(replace(STATE, consecutive_failures=n), now=NOW, error=error).next_check_at - NOW
        for n in range(6)
    ]
    assert [w / waits[0] for w in waits[:4]] == [1, 2, 4, 8]
    assert waits[-1] == timedelta(minutes=32)
    capped = failed(replace(STATE, consecutive_failures=10), now=NOW, error=error)
    assert capped.next_check_at - NOW == STATE.interval
    assert failed(STATE, now=NOW, error=error, jitter=1.5).next_check_at - NOW == waits[2] * 1.5
    floor = failed(STATE, now=NOW, error=error, retry_after=3000).next_check_at - NOW
    assert floor == timedelta(seconds=3000)
    assert failed(STATE, now=NOW, error=error, retry_after=1).next_check_at - NOW == waits[2]


def test_a_suspect_read_is_held_until_it_comes_back_often_enough() -> None:
    doubt = Suspicion(reason="the title vanished", confirmable=True)
    digest = POSTING.content_hash()
    first = hold_suspect(STATE, POSTING, doubt, now=NOW, http_status=200, confirm_after=2)
    assert first is not None
    assert (first.outcome, first.suspect_hash, first.suspect_count, first.http_status) == (
        CheckOutcome.SUSPECT, digest, 1, 200,
    )  # fmt: skip
    assert first.error == (f"suspect read, not believed yet: the title vanished ({STATE.url})")
    seen_twice = replace(STATE, suspect_hash=digest, suspect_count=2)
    assert sightings(seen_twice, digest) == 3
    assert sightings(seen_twice, "another") == 1
    assert (
        hold_suspect(seen_twice, POSTING, doubt, now=NOW, http_status=200, confirm_after=2) is None
    )
    never = Suspicion(reason="no title", confirmable=False)
    assert hold_suspect(seen_twice, POSTING, never, now=NOW, http_status=200, confirm_after=2)


def test_an_unchanged_answer_keeps_the_validators_it_did_not_replace() -> None:
    page = FetchedPage(url=STATE.url, status=304, content_type="text/html", body=b"")
    response = FetchResponse(
        page=page, not_modified=True, etag=None, last_modified=None, latency_ms=7
    )
    assert unchanged(STATE, now=NOW, response=response, outcome=CheckOutcome.NOT_MODIFIED) == (
        CheckResult(
            posting_id=9,
            outcome=CheckOutcome.NOT_MODIFIED,
            checked_at=NOW,
            next_check_at=NOW + timedelta(hours=1),
            status=PostingStatus.OPEN,
            http_status=304,
            latency_ms=7,
            validators=Validators(
                etag='"e1"', last_modified="Mon, 30 Nov 2026 10:00:00 GMT", body_hash="h1"
            ),
        )
    )
    fresh = replace(response, etag='"e2"', last_modified="Tue, 01 Dec 2026 10:00:00 GMT")
    got = unchanged(STATE, now=NOW, response=fresh, outcome=CheckOutcome.UNCHANGED)
    assert got.validators == Validators(
        etag='"e2"', last_modified="Tue, 01 Dec 2026 10:00:00 GMT", body_hash="h1"
    )


def test_a_suspect_read_backs_off_like_a_failure_with_the_same_jitter() -> None:
    doubt = Suspicion(reason="the title vanished", confirmable=True)
    error = FetchError("x", url=STATE.url)
    held = hold_suspect(
        STATE, POSTING, doubt, now=NOW, http_status=200, confirm_after=2, jitter=1.5
    )
    assert held is not None
    assert held.next_check_at == failed(STATE, now=NOW, error=error, jitter=1.5).next_check_at
