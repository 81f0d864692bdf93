"""The verdicts: what one check's outcome means, as the ``CheckResult`` to store. Pure.

``judge`` a freshly read posting against the stored version; ``unchanged`` for a 304 or
an identical body; ``failed`` for an error; ``deferred`` for a paused host; ``gone`` for
a 404/410; ``hold_suspect`` for a read not to be believed yet; ``monitor_notice`` for
the alert about the monitor itself. ``monitor.pipeline`` fetches and passes the values
in; the one side effect here is ``failed``'s log line.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor.core.boards import FIELD_LOSS_MARKER, JOB_FIELD_LOSS_MARKER
from monitor.core.diff import compare
from monitor.core.levels import level_changed
from monitor.core.normalize import normalize
from monitor.core.suspect import Suspicion
from monitor.errors import ParseError
from monitor.model import (
    ChangeKind,
    CheckOutcome,
    CheckResult,
    FieldChange,
    Posting,
    PostingStatus,
    Validators,
)
from monitor.urls import shown_url

if TYPE_CHECKING:
    from monitor.records import PostingState
    from monitor.sources.base import FetchResponse

log = logging.getLogger(__name__)
GONE_STATUSES = frozenset({404, 410})
_ERROR_BACKOFF_BASE = timedelta(minutes=1)


def never_read(state: PostingState) -> bool:
    """Nothing read from it yet: a board never baselined, a posting without a version."""
    if state.role == "board":
        return state.baselined_at is None
    return not state.current_data


def seen_before(state: PostingState) -> bool:
    """A read is stored to compare with: a board baselined, a posting open with a version."""
    if state.role == "board":
        return state.baselined_at is not None
    return state.current is not None and state.status is PostingStatus.OPEN


def own(state: PostingState, parsed: list[Posting], *, url: str) -> Posting | None:
    """The watched posting, with the identity it was watched under."""
    if not parsed:
        return None
    return normalize(
        replace(parsed[0], source_kind=state.source_kind, source_id=state.source_id, url=url)
    )


def board_marker(board: PostingState) -> Posting:
    """Boards have no version of their own; judge() needs a posting to compare."""
    return Posting(
        source_kind=board.source_kind, source_id=board.source_id, url=board.url, title=""
    )


def judge(
    state: PostingState,
    posting: Posting,
    *,
    now: datetime,
    response: FetchResponse,
    body_hash: str,
    next_check_at: datetime | None = None,
    quiet: bool = False,
) -> CheckResult:
    """Decide what a freshly read posting means against the stored version. Pure.

    ``quiet``: the page is the one last read and only the reader changed, so changes
    are recorded but not alerted.
    """
    validators = Validators(
        etag=response.etag, last_modified=response.last_modified, body_hash=body_hash
    )
    base = CheckResult(
        posting_id=state.id,
        outcome=CheckOutcome.UNCHANGED,
        checked_at=now,
        next_check_at=next_check_at or now + state.interval,
        status=PostingStatus.OPEN,
        http_status=response.page.status,
        latency_ms=response.latency_ms,
        validators=validators,
        snapshot=posting,
    )
    if state.current is None:
        return replace(base, outcome=CheckOutcome.BASELINE)
    if level_changed(state.current, posting):
        return base  # read at another level now (a member's first job read): no change
    changeset = compare(state.current, posting)
    if not changeset:
        return base
    return replace(
        base,
        outcome=CheckOutcome.CHANGED,
        changes=changeset.changes,
        quiet=quiet,
    )


def unchanged(
    state: PostingState,
    *,
    now: datetime,
    response: FetchResponse,
    outcome: CheckOutcome,
    next_check_at: datetime | None = None,
) -> CheckResult:
    validators = Validators(
        etag=response.etag or state.etag,
        last_modified=response.last_modified or state.last_modified,
        body_hash=state.body_hash,
    )
    return CheckResult(
        posting_id=state.id,
        outcome=outcome,
        checked_at=now,
        next_check_at=next_check_at or now + state.interval,
        status=state.status,
        http_status=response.page.status,
        latency_ms=response.latency_ms,
        validators=validators,
    )


def failed(
    state: PostingState,
    *,
    now: datetime,
    error: Exception,
    http_status: int | None = None,
    retry_after: float | None = None,
    jitter: float = 1.0,
) -> CheckResult:
    """Record the error and retry sooner than the interval, backing off; no change.

    The delay doubles with each failure in a row (times ``jitter``), capped at the
    interval; a server's ``Retry-After`` is a floor.
    """
    failures = state.consecutive_failures + 1
    retry_in = min(state.interval, _ERROR_BACKOFF_BASE * 2 ** min(failures - 1, 16)) * jitter
    if retry_after is not None:
        retry_in = max(retry_in, timedelta(seconds=retry_after))
    # pragma: no mutate start (a log line's wording and fields)
    log.warning(
        "check of %s failed: %s", shown_url(state.url), error, extra={"action": "check_failed"}
    )
    # pragma: no mutate end
    return CheckResult(
        posting_id=state.id,
        outcome=CheckOutcome.ERROR,
        checked_at=now,
        next_check_at=now + retry_in,
        status=state.status,
        consecutive_failures=failures,
        gone_count=state.gone_count,
        http_status=http_status,
        error=str(error),
        suspect_hash=state.suspect_hash,
        suspect_count=state.suspect_count,
    )


def hold_suspect(
    state: PostingState,
    posting: Posting,
    doubt: Suspicion,
    *,
    now: datetime,
    http_status: int,
    confirm_after: int,
    jitter: float = 1.0,
) -> CheckResult | None:
    """A suspect read is held back (no version, no alert, retried sooner); None once
    the same content has come back ``confirm_after`` more times and may be believed."""
    digest = posting.content_hash()
    seen = sightings(state, digest)
    if doubt.confirmable and seen > confirm_after:
        return None
    error = ParseError(f"suspect read, not believed yet: {doubt.reason}", url=state.url)
    base = failed(state, now=now, error=error, http_status=http_status, jitter=jitter)
    return as_suspect(base, digest, seen)


def sightings(state: PostingState, marker: str) -> int:
    """How many checks in a row (this one included) have read the same suspect content."""
    return state.suspect_count + 1 if state.suspect_hash == marker else 1


def as_suspect(failure: CheckResult, marker: str, seen: int) -> CheckResult:
    """A failed check's result, marked as a suspect read awaiting confirmation."""
    return replace(failure, outcome=CheckOutcome.SUSPECT, suspect_hash=marker, suspect_count=seen)


def deferred(state: PostingState, *, now: datetime, seconds: float) -> CheckResult:
    """Not fetched because its host is paused or busy: try again later, no failure counted."""
    return CheckResult(
        posting_id=state.id,
        outcome=CheckOutcome.DEFERRED,
        checked_at=now,
        next_check_at=now + timedelta(seconds=seconds),
        status=state.status,
        consecutive_failures=state.consecutive_failures,
        gone_count=state.gone_count,
    )


def gone(
    state: PostingState,
    *,
    now: datetime,
    status: int,
    close_after: int,
    next_check_at: datetime | None = None,
) -> CheckResult:
    """404/410: closed only after ``close_after`` answers in a row, and only once.

    The stored validators are dropped: a page that comes back must be fetched in
    full, or a 304 against the old ETag would hide that it reopened.
    """
    count = state.gone_count + 1
    base = CheckResult(
        posting_id=state.id,
        outcome=CheckOutcome.GONE,
        checked_at=now,
        next_check_at=next_check_at or now + state.interval,
        status=state.status,
        gone_count=count,
        http_status=status,
        error=f"HTTP {status}",
        validators=Validators(),
    )
    if state.status is PostingStatus.CLOSED or state.current is None or count < close_after:
        return base
    closed = replace(state.current, status=PostingStatus.CLOSED)
    changeset = compare(state.current, closed)
    return replace(
        base,
        outcome=CheckOutcome.CLOSED,
        status=PostingStatus.CLOSED,
        snapshot=closed,
        changes=changeset.changes,
    )


def _first_field_loss(result: CheckResult) -> bool:
    """The first check of a board that lost a field on most postings (in its list, or
    in their jobs' reads): told at once."""
    return (result.suspect_hash or "").startswith(
        (FIELD_LOSS_MARKER, JOB_FIELD_LOSS_MARKER)
    ) and result.suspect_count == 1


def monitor_notice(
    state: PostingState, result: CheckResult, *, error_after: int
) -> FieldChange | None:
    """The change to report about the monitor itself, if any: checks failing or recovered.

    Exactly one alert when the streak reaches ``error_after`` (not one per failure),
    and one when a check succeeds after such a streak.
    """
    if result.outcome is CheckOutcome.DEFERRED:
        return None
    if _first_field_loss(result):
        return FieldChange(
            field="monitor", kind=ChangeKind.CHANGED, old=None, new=result.error,
            summary=result.error or "",
        )  # fmt: skip
    if result.outcome in (CheckOutcome.ERROR, CheckOutcome.SUSPECT):
        if result.consecutive_failures != error_after:
            return None
        return FieldChange(
            field="monitor",
            kind=ChangeKind.CHANGED,
            old=None,
            new=result.error,
            summary=f"checks failing ({error_after} in a row): {result.error}",
        )
    if state.consecutive_failures < error_after:
        return None
    return FieldChange(
        field="monitor",
        kind=ChangeKind.CHANGED,
        old=state.last_error,
        new=None,
        summary=f"checks working again after {state.consecutive_failures} failures",
    )
