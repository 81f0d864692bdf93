"""One check of one posting, end to end: fetch, parse, normalize, compare, decide.

``check`` does the I/O (one fetch); everything it decides comes from the pure
functions below it, and the result is written by the caller in one transaction.
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitor.boards import FIELD_LOSS_MARKER, FieldLoss, field_loss, judge_board, still_missing
from monitor.browser import PageRenderer, looks_like_app_shell
from monitor.clock import Clock
from monitor.cron import next_fire
from monitor.diff import compare
from monitor.errors import FetchError, HostPaused, HttpStatusError, ParseError
from monitor.fetch import Fetcher, FetchResponse
from monitor.model import (
    BoardResult,
    ChangeKind,
    CheckOutcome,
    CheckResult,
    FieldChange,
    Posting,
    PostingStatus,
    Validators,
)
from monitor.normalize import normalize
from monitor.reading import InlineReader, PageReader
from monitor.records import PostingState
from monitor.sources import SourceRegistry
from monitor.sources.base import FetchedPage, Source
from monitor.suspect import Suspicion, suspicion
from monitor.urls import shown_url

log = logging.getLogger(__name__)
GONE_STATUSES = frozenset({404, 410})
_ERROR_BACKOFF_BASE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Schedule:
    """When to check next: the interval spread by ``jitter`` (0.1: +/-10%), so postings
    added together drift apart instead of hitting their sites in the same second; or
    the next fire of the watch's cron schedule, on time (the user chose the time)."""

    jitter: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    def next_check(self, now: datetime, interval: timedelta, cron: str | None = None) -> datetime:
        if cron is not None:
            return next_fire(cron, now)
        if not self.jitter:
            return now + interval
        return now + interval * self.rng.uniform(1 - self.jitter, 1 + self.jitter)

    def backoff_factor(self) -> float:
        """A random factor for retry delays, so failing postings do not retry in step."""
        return self.rng.uniform(0.75, 1.25) if self.jitter else 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckContext:
    fetcher: Fetcher
    sources: SourceRegistry
    clock: Clock
    close_after: int = 2
    repost_window: timedelta = timedelta(0)
    browser: PageRenderer | None = None
    schedule: Schedule = field(default_factory=Schedule)
    confirm_suspect: int = 2
    reader: PageReader = field(default_factory=InlineReader)


async def check(state: PostingState, ctx: CheckContext) -> CheckResult:
    """Check one posting; never raises for anything the page or network does."""
    fetched = await _fetch(state, ctx, reread=state.read_by_older_reader)
    if isinstance(fetched, CheckResult):
        return fetched
    response, body_hash, parsed = fetched
    posting = _own(state, parsed, url=state.url)
    now = ctx.clock.now()
    if posting is None:
        error = ParseError("the page holds no posting", url=state.url)
        return _failed(state, ctx, error=error, http_status=response.page.status)
    doubt = suspicion(state.current, posting)
    if doubt is not None:
        held = hold_suspect(
            state,
            posting,
            doubt,
            now=now,
            http_status=response.page.status,
            confirm_after=ctx.confirm_suspect,
            jitter=ctx.schedule.backoff_factor(),
        )
        if held is not None:
            return held
    return judge(
        state,
        posting,
        now=now,
        response=response,
        body_hash=body_hash,
        next_check_at=ctx.schedule.next_check(now, state.interval, state.cron),
        quiet=state.read_by_older_reader and body_hash == state.body_hash,
    )


async def check_board(
    board: PostingState, members: list[PostingState], ctx: CheckContext
) -> BoardResult:
    """Check a whole board: new, changed, missing (then closed) and reopened postings."""
    reread = any(m.read_by_older_reader for m in members)
    fetched = await _fetch(board, ctx, reread=reread)
    if isinstance(fetched, CheckResult):
        if fetched.outcome in (CheckOutcome.NOT_MODIFIED, CheckOutcome.UNCHANGED):
            return still_missing(members, base=fetched, close_after=ctx.close_after)
        if fetched.outcome is CheckOutcome.GONE:
            # A board that answers 404 closes nothing by itself: every posting on it would
            # look closed at once, which is far likelier a moved or broken board.
            fetched = replace(fetched, outcome=CheckOutcome.ERROR, status=board.status)
        return BoardResult(board=fetched)
    response, body_hash, parsed = fetched
    listed = [normalize(p) for p in parsed]
    now = ctx.clock.now()
    if not listed and any(m.status is PostingStatus.OPEN for m in members):
        held = _hold_empty_board(board, ctx, http_status=response.page.status)
        if held is not None:
            return BoardResult(board=held)
    loss = field_loss({m.source_id: m.current for m in members if m.current}, listed)
    if loss is not None:
        held = _hold_field_loss(board, ctx, loss, http_status=response.page.status)
        if held is not None:
            return BoardResult(board=held)
    base = replace(
        judge(
            board,
            _board_marker(board),
            now=now,
            response=response,
            body_hash=body_hash,
            next_check_at=ctx.schedule.next_check(now, board.interval, board.cron),
        ),
        snapshot=None,
        changes=(),
    )
    return judge_board(
        board,
        members,
        listed,
        base=base,
        filters=board.filters,
        close_after=ctx.close_after,
        quiet=reread and body_hash == board.body_hash,
        repost_window=ctx.repost_window,
    )


EMPTY_BOARD = "empty-board"


def _hold_empty_board(
    board: PostingState, ctx: CheckContext, *, http_status: int
) -> CheckResult | None:
    """A board that suddenly lists nothing is far likelier broken than emptied: held back
    like a suspect read until ``confirm_suspect`` more checks say the same; None then."""
    seen = sightings(board, EMPTY_BOARD)
    if seen > ctx.confirm_suspect:
        return None
    error = ParseError(
        "the board lists no postings at all; not believed until it lasts", url=board.url
    )
    return as_suspect(_failed(board, ctx, error=error, http_status=http_status), EMPTY_BOARD, seen)


def _hold_field_loss(
    board: PostingState, ctx: CheckContext, loss: FieldLoss, *, http_status: int
) -> CheckResult | None:
    """A field gone from most of a board's postings at once (a site or parser change):
    one notice, and no per-posting "removed" alerts until ``confirm_suspect`` more
    checks read the same; None once confirmed."""
    seen = sightings(board, loss.marker)
    if seen > ctx.confirm_suspect:
        return None
    error = ParseError(loss.describe(), url=board.url)
    return as_suspect(_failed(board, ctx, error=error, http_status=http_status), loss.marker, seen)


def _board_marker(board: PostingState) -> Posting:
    """Boards have no version of their own; judge() needs a posting to compare."""
    return Posting(
        source_kind=board.source_kind, source_id=board.source_id, url=board.url, title=""
    )


Fetched = tuple[FetchResponse, str, list[Posting]]


async def _fetch(
    state: PostingState, ctx: CheckContext, *, reread: bool = False
) -> Fetched | CheckResult:
    """Fetch and parse, or the CheckResult that says why there is nothing new to read.

    ``reread``: what is stored was read by an older reader, so fetch in full and parse
    even an unchanged page, once.
    """
    source = ctx.sources.get(state.source_kind)
    try:
        if state.render == "browser" and ctx.browser is not None:
            response = await _rendered(source.fetch_url(state.url), ctx)
        else:
            # render = auto: an app shell's HTML never changes while the posting it
            # draws does, so it is fetched in full each time and judged below.
            conditional = not reread and state.render != "auto"
            response = await ctx.fetcher.fetch_source(
                source,
                state.url,
                fetch_url=source.fetch_url(state.url),
                etag=state.etag if conditional else None,
                last_modified=state.last_modified if conditional else None,
            )
    except HostPaused as exc:
        return deferred(
            state, now=ctx.clock.now(), seconds=exc.seconds * ctx.schedule.backoff_factor() + 1
        )
    except HttpStatusError as exc:
        if exc.status in GONE_STATUSES and _never_read(state):
            # Never read yet: a typo in the URL far more often than a closed posting.
            error = FetchError(
                f"HTTP {exc.status} on the first check: is the URL right?", url=state.url
            )
            return _failed(state, ctx, error=error, http_status=exc.status)
        if exc.status in GONE_STATUSES:
            now = ctx.clock.now()
            return gone(
                state,
                now=now,
                status=exc.status,
                close_after=ctx.close_after,
                next_check_at=ctx.schedule.next_check(now, state.interval, state.cron),
            )
        return _failed(state, ctx, error=exc, http_status=exc.status, retry_after=exc.retry_after)
    except (FetchError, ParseError) as exc:  # a paged source may find a page it cannot follow
        return _failed(state, ctx, error=exc)
    now = ctx.clock.now()
    next_check_at = ctx.schedule.next_check(now, state.interval, state.cron)
    if response.not_modified:
        return unchanged(
            state,
            now=now,
            response=response,
            outcome=CheckOutcome.NOT_MODIFIED,
            next_check_at=next_check_at,
        )
    if _worth_rendering(state, ctx, response.page):
        return await _read_rendered(state, ctx, source)
    body_hash = hashlib.sha256(response.page.body).hexdigest()
    if body_hash == state.body_hash and _seen_before(state) and not reread:
        return unchanged(
            state,
            now=now,
            response=response,
            outcome=CheckOutcome.UNCHANGED,
            next_check_at=next_check_at,
        )
    try:
        parsed = await ctx.reader.read(source, response.page, url=state.url)
    except (ParseError, FetchError) as exc:
        return _failed(state, ctx, error=exc, http_status=response.page.status)
    return response, body_hash, parsed


async def _rendered(url: str, ctx: CheckContext) -> FetchResponse:
    """The page after its scripts ran, paced like any request to its host."""
    assert ctx.browser is not None
    async with ctx.fetcher.gate.slot(url):
        return await ctx.browser.render(url)


def _worth_rendering(state: PostingState, ctx: CheckContext, page: FetchedPage) -> bool:
    """render = auto: what a plain fetch found is only an app shell (scripts and no text,
    so no posting to read): the browser draws it."""
    return state.render == "auto" and ctx.browser is not None and looks_like_app_shell(page)


async def _read_rendered(
    state: PostingState, ctx: CheckContext, source: Source
) -> Fetched | CheckResult:
    try:
        response = await _rendered(source.fetch_url(state.url), ctx)
        parsed = await ctx.reader.read(source, response.page, url=state.url)
    except HostPaused as exc:
        return deferred(
            state, now=ctx.clock.now(), seconds=exc.seconds * ctx.schedule.backoff_factor() + 1
        )
    except (ParseError, FetchError) as exc:
        return _failed(state, ctx, error=exc)
    return response, hashlib.sha256(response.page.body).hexdigest(), parsed


def _failed(
    state: PostingState,
    ctx: CheckContext,
    *,
    error: Exception,
    http_status: int | None = None,
    retry_after: float | None = None,
) -> CheckResult:
    return failed(
        state,
        now=ctx.clock.now(),
        error=error,
        http_status=http_status,
        retry_after=retry_after,
        jitter=ctx.schedule.backoff_factor(),
    )


def _never_read(state: PostingState) -> bool:
    if state.role == "board":
        return state.baselined_at is None
    return not state.current_data


def _seen_before(state: PostingState) -> bool:
    if state.role == "board":
        return state.baselined_at is not None
    return state.current is not None and state.status is PostingStatus.OPEN


def _own(state: PostingState, parsed: list[Posting], *, url: str) -> Posting | None:
    """The watched posting, with the identity it was watched under."""
    if not parsed:
        return None
    return normalize(
        replace(parsed[0], source_kind=state.source_kind, source_id=state.source_id, url=url)
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
    """The first check of a board that lost a field on most postings: told at once."""
    return (
        result.outcome is CheckOutcome.SUSPECT
        and (result.suspect_hash or "").startswith(FIELD_LOSS_MARKER)
        and result.suspect_count == 1
    )


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
