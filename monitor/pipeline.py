"""One check of one posting, end to end: fetch, parse, normalize, compare, decide.

``check`` does the I/O (one fetch); everything it decides comes from the pure
verdicts in ``monitor.core.verdicts``, and the result is written by the caller in one
transaction.
``Checker`` is the check path every engine shares: a check, its planned alerts,
and the batched write of what the checks found.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitor.clock import Clock
from monitor.core.boards import (
    JOB_FIELD_LOSS_MARKER,
    FieldLoss,
    field_loss,
    job_field_loss,
    job_loss_reason,
    judge_board,
    lost_job_field,
    still_missing,
)
from monitor.core.levels import as_its_board_says, at_list_level, list_compares, on_a_board
from monitor.core.normalize import normalize
from monitor.core.schedule import Schedule
from monitor.core.suspect import Suspicion, suspicion
from monitor.core.verdicts import (
    GONE_STATUSES,
    as_suspect,
    board_marker,
    deferred,
    failed,
    gone,
    hold_suspect,
    judge,
    never_read,
    own,
    seen_before,
    sightings,
    unchanged,
)
from monitor.errors import FetchError, HostPaused, HttpStatusError, MonitorError, ParseError
from monitor.model import LIST, BoardResult, CheckOutcome, CheckResult, Posting, PostingStatus
from monitor.net.browser import PageRenderer, looks_like_app_shell
from monitor.net.fetch import Fetcher
from monitor.net.reading import InlineReader, PageReader
from monitor.notify.plan import AlertPlanner
from monitor.records import PostingState
from monitor.sources import SourceRegistry, reads_jobs_of_members
from monitor.sources.base import FetchedPage, FetchResponse, Source
from monitor.store import Store
from monitor.store.postings import NOTHING_NEW, BoardWrite, CheckWrite, PendingWrite
from monitor.urls import shown_url

log = logging.getLogger(__name__)


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
    return as_its_board_says(state, await _check(state, ctx))


async def _check(state: PostingState, ctx: CheckContext) -> CheckResult:
    fetched = await _fetch(state, ctx, reread=state.read_by_older_reader)
    if isinstance(fetched, CheckResult):
        return fetched
    response, body_hash, parsed = fetched
    posting = own(state, parsed, url=state.url)
    if posting is not None and on_a_board(state):
        posting = replace(posting, status=state.status)  # its board's list says
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
    held = _held_job_loss(state, posting, ctx, now=now, http_status=response.page.status)
    if held is not None:
        return held
    return judge(
        state,
        posting,
        now=now,
        response=response,
        body_hash=body_hash,
        next_check_at=_next_check(state, ctx, now),
        quiet=state.read_by_older_reader and body_hash == state.body_hash,
    )


def _held_job_loss(
    state: PostingState, posting: Posting, ctx: CheckContext, *, now: datetime, http_status: int
) -> CheckResult | None:
    """Confirm, then alert: a member's job read that lost a field its last job read had
    (pay, say) is held back until ``confirm_suspect`` more reads, an interval apart, say
    the same; while most of its board's postings lost it at once (the board's marker, a
    site change), until the board's checks believe it. Not counted as a failure."""
    if state.role != "detail":
        return None
    field = lost_job_field(state.current, posting)
    if field is None:
        return None
    flagged = state.board_marker == f"{JOB_FIELD_LOSS_MARKER}{field}"
    reason = job_loss_reason(field)
    if flagged:
        reason += "; most of its board's postings lost it at once"
    doubt = Suspicion(reason, confirmable=not flagged)
    held = hold_suspect(
        state, posting, doubt, now=now, http_status=http_status, confirm_after=ctx.confirm_suspect
    )
    if held is None:
        return None
    return replace(
        held,
        consecutive_failures=state.consecutive_failures,
        next_check_at=ctx.schedule.next_check(now, state.interval, state.cron),
    )


def _next_check(state: PostingState, ctx: CheckContext, now: datetime) -> datetime:
    current = state.current
    if state.role == "detail" and current is not None and current.provenance.level == LIST:
        # A member's first job read; its board's members were all due at once.
        return ctx.schedule.spread(now, state.interval, state.cron)
    return ctx.schedule.next_check(now, state.interval, state.cron)


async def check_board(
    board: PostingState, members: list[PostingState], ctx: CheckContext
) -> BoardResult:
    """Check a whole board: new, changed, missing (then closed) and reopened postings."""
    return _with_job_loss(board, members, await _check_board(board, members, ctx), ctx)


def _with_job_loss(
    board: PostingState, members: Sequence[PostingState], result: BoardResult, ctx: CheckContext
) -> BoardResult:
    """Most members' job reads lost one field at once: the board says so (one notice)
    and holds their reads back until ``confirm_suspect`` more board checks find the same."""
    if result.board.outcome in (CheckOutcome.ERROR, CheckOutcome.DEFERRED, CheckOutcome.SUSPECT):
        return result
    loss = job_field_loss(members)
    if loss is None:
        return result
    believed = f"{loss.marker}{BELIEVED}"
    seen = sightings(board, loss.marker)
    if board.suspect_hash == believed or seen > ctx.confirm_suspect:
        # Believed: its members' reads are let through (and the board stays quiet
        # about it while they are).
        return replace(result, board=replace(result.board, suspect_hash=believed))
    marked = replace(
        result.board, suspect_hash=loss.marker, suspect_count=seen, error=loss.describe()
    )
    return replace(result, board=marked)


async def _check_board(
    board: PostingState, members: list[PostingState], ctx: CheckContext
) -> BoardResult:
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
    source = ctx.sources.get(board.source_kind)
    listed = [normalize(p) for p in parsed]
    if reads_jobs_of_members(source):
        listed = [at_list_level(p) for p in listed]
    now = ctx.clock.now()
    if not listed and any(m.status is PostingStatus.OPEN for m in members):
        held = _hold_empty_board(board, ctx, http_status=response.page.status)
        if held is not None:
            return BoardResult(board=held)
    loss = field_loss(_compared_versions(members, listed), listed)
    if loss is not None:
        held = _hold_field_loss(board, ctx, loss, http_status=response.page.status)
        if held is not None:
            return BoardResult(board=held)
    base = replace(
        judge(
            board,
            board_marker(board),
            now=now,
            response=response,
            body_hash=body_hash,
            next_check_at=ctx.schedule.next_check(now, board.interval, board.cron),
        ),
        snapshot=None,
        changes=(),
    )
    if reads_members_jobs(board, ctx) and board.baselined_at is not None:
        listed = await _with_new_jobs_read(board, members, listed, ctx, source)
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


BELIEVED = ":believed"
NEW_JOBS_READ_PER_CHECK = 50
"""New members whose jobs one board check reads before announcing them; more (a
board's sudden burst) are announced from the list and read right after."""


def reads_members_jobs(board: PostingState, ctx: CheckContext) -> bool:
    """Whether the board's members' jobs are read: a thin list and members = full."""
    return board.members == "full" and reads_jobs_of_members(ctx.sources.get(board.source_kind))


def _compared_versions(
    members: Sequence[PostingState], listed: Sequence[Posting]
) -> dict[str, Posting]:
    """Members' versions the list read is compared with (the format-break check's base)."""
    by_id = {p.source_id: p for p in listed}
    return {
        m.source_id: m.current
        for m in members
        if m.current is not None and m.source_id in by_id and list_compares(m, by_id[m.source_id])
    }


async def _with_new_jobs_read(
    board: PostingState,
    members: Sequence[PostingState],
    listed: list[Posting],
    ctx: CheckContext,
    source: Source,
) -> list[Posting]:
    """The listing with the jobs of postings new on the board read, so that their
    "new posting" alerts carry pay, remote policy and requirements. A job that cannot
    be read leaves its list entry (its own reads then retry and report the error)."""
    known = {m.source_id for m in members}
    new = [p for p in listed if p.source_id not in known and board.filters.follows(p)]
    wanted = new[:NEW_JOBS_READ_PER_CHECK]
    if not wanted:
        return listed
    read = await asyncio.gather(*(_read_job(p, ctx, source) for p in wanted))
    jobs = {job.source_id: job for job in read if job is not None}
    return [jobs.get(p.source_id, p) for p in listed]


async def _read_job(listed: Posting, ctx: CheckContext, source: Source) -> Posting | None:
    """A member's job, read at its posting URL like a watched posting (paced by its
    host's limits); None when it cannot be read now."""
    try:
        response = await ctx.fetcher.fetch_source(
            source, listed.url, fetch_url=source.fetch_url(listed.url)
        )
        parsed = await ctx.reader.read(source, response.page, url=listed.url)
    except MonitorError as exc:
        log.info(
            "new posting %s: its job could not be read yet (%s)",
            shown_url(listed.url),
            exc,
            extra={"action": "check"},
        )
        return None
    found = [p for p in parsed if p.source_id == listed.source_id] or parsed[:1]
    if not found:
        return None
    return normalize(
        replace(
            found[0], source_kind=listed.source_kind, source_id=listed.source_id, url=listed.url
        )
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
        if exc.status in GONE_STATUSES and never_read(state):
            # Never read yet: a typo in the URL far more often than a closed posting.
            error = FetchError(
                f"HTTP {exc.status} on the first check: is the URL right?", url=state.url
            )
            return _failed(state, ctx, error=error, http_status=exc.status)
        if exc.status in GONE_STATUSES and _listed_on_its_board(state):
            # Closing is the list's to say; a job gone while listed is a fault.
            error = FetchError(
                f"HTTP {exc.status} on the job while its board still lists it", url=state.url
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
    if body_hash == state.body_hash and seen_before(state) and not reread:
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


def _listed_on_its_board(state: PostingState) -> bool:
    return on_a_board(state) and state.status is PostingStatus.OPEN and state.gone_count == 0


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


class Checker:
    """The one check path every engine shares: check a posting or board, plan its
    alerts, and write what a batch of checks found on the database thread."""

    def __init__(self, context: CheckContext, planner: AlertPlanner, *, store: Store) -> None:
        self.context = context
        self.planner = planner
        self.store = store

    async def run_check(self, state: PostingState) -> tuple[CheckOutcome, PendingWrite]:
        """Check one posting or board; returns what to write (the caller batches writes)."""
        if state.role == "board":
            return await self._check_board(state)
        result = await check(state, self.context)
        deliveries = self.planner.plan_result(state, result) + self.planner.notices(state, result)
        # pragma: no mutate start (a log line's wording and fields)
        log.log(
            logging.DEBUG if result.outcome in NOTHING_NEW else logging.INFO,
            "checked %s: %s",
            shown_url(state.url),
            result.outcome.value,
            extra={"action": "check", "outcome": result.outcome.value},
        )
        # pragma: no mutate end
        return result.outcome, CheckWrite(result=result, deliveries=tuple(deliveries))

    async def write_checks(self, writes: Sequence[PendingWrite]) -> None:
        await self.store.run(self.store.postings.record_many, writes)

    async def _check_board(self, board: PostingState) -> tuple[CheckOutcome, PendingWrite]:
        members = await self.store.run(self.store.postings.members_of, board.id)
        result = await check_board(board, members, self.context)
        by_id = {m.id: m for m in members}
        deliveries = {board.id: self.planner.notices(board, result.board)}
        for member in result.members:
            deliveries[member.posting_id] = self.planner.plan_result(
                by_id[member.posting_id], member
            )
        new = [self.planner.plan(board, n.posting, n.changes) for n in result.new_members]
        # pragma: no mutate start (a log line's wording and fields)
        log.info(
            "checked board %s: %s, %d new, %d followed",
            shown_url(board.url),
            result.board.outcome.value,
            len(result.new_members),
            len(members),
            extra={"action": "check", "outcome": result.board.outcome.value},
        )
        # pragma: no mutate end
        role = "detail" if reads_members_jobs(board, self.context) else "member"
        write = BoardWrite(
            result=result,
            board_id=board.id,
            deliveries=deliveries,
            new_deliveries=new,
            member_role=role,
            roles={
                m.id: role for m in members if m.role in ("member", "detail") and m.role != role
            },
        )
        return result.board.outcome, write
