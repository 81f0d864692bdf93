"""Judging a board against the postings it listed before. Pure.

A posting seen for the first time is new (reported, unless this is the board's
first check, which only records what is there); a followed posting missing
from the board counts toward closing and is closed after ``close_after`` checks
in a row; one that comes back is reopened; the rest are compared field by field.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.core.diff import compare, format_salary
from monitor.core.levels import level_changed, list_compares
from monitor.model import (
    DETAIL,
    BoardFilters,
    BoardResult,
    ChangeKind,
    CheckOutcome,
    CheckResult,
    FieldChange,
    NewMember,
    Posting,
    PostingStatus,
    RemoteKind,
)
from monitor.records import PostingState


def judge_board(
    board: PostingState,
    members: Sequence[PostingState],
    listed: Sequence[Posting],
    *,
    base: CheckResult,
    filters: BoardFilters,
    close_after: int,
    quiet: bool = False,
    repost_window: timedelta = timedelta(0),
) -> BoardResult:
    """``base`` is the board's own successful result; members are judged against ``listed``.

    ``quiet``: the board's body is the one last read and only the reader changed, so
    members' changes are recorded but not alerted. ``repost_window``: how long after
    closing a posting's repost is reported as one (0: never).
    """
    first_check = board.baselined_at is None
    by_id = {member.source_id: member for member in members}
    listed_ids = {p.source_id for p in listed}
    gone = _repostable(members, listed_ids, now=base.checked_at, window=repost_window)
    results: list[CheckResult] = []
    new: list[NewMember] = []
    reposted: set[int] = set()
    for posting in listed:
        member = by_id.get(posting.source_id)
        if member is not None:
            listed_result = _listed(member, posting, base, quiet=quiet)
            if listed_result is not None:
                results.append(listed_result)
        elif filters.follows(posting):
            earlier = None if first_check else _reposted(posting, gone, taken=reposted)
            if earlier is not None:
                reposted.add(earlier.id)
                new.append(_repost(posting, earlier, now=base.checked_at))
            else:
                new.append(_new_member(posting, announce=not first_check))
    for member in members:
        if member.source_id not in listed_ids and member.status is PostingStatus.OPEN:
            if member.id in reposted:
                results.append(_closed_as_reposted(member, base))
            else:
                results.append(_missing(member, base, close_after))
    changed = any(r.changes for r in results) or any(n.changes for n in new)
    outcome = (
        CheckOutcome.BASELINE
        if first_check
        else CheckOutcome.CHANGED
        if changed
        else CheckOutcome.UNCHANGED
    )
    return BoardResult(
        board=replace(base, outcome=outcome), members=tuple(results), new_members=tuple(new)
    )


@dataclass(frozen=True, slots=True)
class FieldLoss:
    """One field that vanished from most of a board's postings in a single read."""

    field: str
    lost: int
    had: int
    where: str = "list"
    """Read from the board's list, or from its members' jobs."""

    @property
    def marker(self) -> str:
        prefix = JOB_FIELD_LOSS_MARKER if self.where == "jobs" else FIELD_LOSS_MARKER
        return f"{prefix}{self.field}"

    def describe(self) -> str:
        where = "the jobs of " if self.where == "jobs" else ""
        return (
            f"{self.field} no longer read on {where}{self.lost} of {self.had} postings of this "
            f"board: a site or parser change is likelier than {self.lost} edits; "
            "held back until later checks confirm it"
        )


FIELD_LOSS_MARKER = "field-loss:"
# A field lost at once by more than this share of the postings that had it, and by at
# least this many, is a format break, not edits.
FIELD_LOSS_SHARE = 0.5
FIELD_LOSS_MIN_POSTINGS = 3
_FIELDS_WATCHED: tuple[tuple[str, Callable[[Posting], bool]], ...] = (
    ("salary", lambda p: bool(p.salaries)),
    ("remote policy", lambda p: p.remote.kind is not RemoteKind.UNKNOWN),
    ("requirements", lambda p: bool(p.requirements.minimum)),
    ("locations", lambda p: bool(p.locations)),
)


JOB_FIELD_LOSS_MARKER = "job-field-loss:"


def lost_job_field(before: Posting | None, after: Posting) -> str | None:
    """The watched field a job read lost against the job read before it, if any."""
    if before is None or before.provenance.level != DETAIL or after.provenance.level != DETAIL:
        return None
    return next((name for name, has in _FIELDS_WATCHED if has(before) and not has(after)), None)


def job_loss_reason(field: str) -> str:
    """How a member's held job read says which field it lost (``job_field_loss`` reads it)."""
    return f"{field} no longer read on its job"


def job_field_loss(members: Sequence[PostingState]) -> FieldLoss | None:
    """The field most of a board's members lost in their job reads at once (held, not
    believed yet, see ``monitor.pipeline``): a site or parser change of the jobs' pages."""
    losses = []
    for name, has in _FIELDS_WATCHED:
        had = [
            m
            for m in members
            if m.role == "detail"
            and m.current is not None
            and m.current.provenance.level == DETAIL
            and has(m.current)
        ]
        held = sum(
            1 for m in had if m.suspect_count and job_loss_reason(name) in (m.last_error or "")
        )
        if held >= FIELD_LOSS_MIN_POSTINGS and held > FIELD_LOSS_SHARE * len(had):
            losses.append(FieldLoss(name, held, len(had), where="jobs"))
    return max(losses, key=lambda loss: loss.lost, default=None)


def field_loss(previous: Mapping[str, Posting], listed: Sequence[Posting]) -> FieldLoss | None:
    """The field most postings of the board lost in this read, if any.

    ``previous`` maps each followed posting's source id to its current version.
    """
    pairs = [(previous[p.source_id], p) for p in listed if p.source_id in previous]
    losses = []
    for name, has in _FIELDS_WATCHED:
        had = [new for old, new in pairs if has(old)]
        lost = sum(1 for new in had if not has(new))
        if lost >= FIELD_LOSS_MIN_POSTINGS and lost > FIELD_LOSS_SHARE * len(had):
            losses.append(FieldLoss(name, lost, len(had)))
    return max(losses, key=lambda loss: loss.lost, default=None)


def still_missing(
    members: Sequence[PostingState], *, base: CheckResult, close_after: int
) -> BoardResult:
    """The board answered "unchanged" (304 or the same body): what was missing from it
    last time is missing again, which counts toward closing it."""
    pending = [m for m in members if m.status is PostingStatus.OPEN and m.gone_count > 0]
    return BoardResult(board=base, members=tuple(_missing(m, base, close_after) for m in pending))


REPOST_TEXT_SIMILARITY = 0.8
"""How alike two postings' requirements must read (difflib's ratio) to be one job."""


def _repostable(
    members: Sequence[PostingState], listed_ids: set[str], *, now: datetime, window: timedelta
) -> list[PostingState]:
    """Members a new posting may repost: closed within the window, or missing from
    this very read (a repost usually appears while the old one is still counted)."""
    if window <= timedelta(0):
        return []
    return [
        member
        for member in members
        if member.current is not None
        and member.source_id not in listed_ids
        and (member.status is PostingStatus.OPEN or _closed_within(member, now, window))
    ]


def _closed_within(member: PostingState, now: datetime, window: timedelta) -> bool:
    closed_at = member.last_changed_at
    return closed_at is not None and now - closed_at <= window


def _reposted(
    posting: Posting, gone: Sequence[PostingState], *, taken: set[int]
) -> PostingState | None:
    return next(
        (m for m in gone if m.id not in taken and m.current and same_job(m.current, posting)),
        None,
    )


def same_job(old: Posting, new: Posting) -> bool:
    """The same title, places and company, and nearly the same requirements."""
    if _folded(old.title) != _folded(new.title):
        return False
    if {_folded(p) for p in old.locations} != {_folded(p) for p in new.locations}:
        return False
    if old.company and new.company and _folded(old.company) != _folded(new.company):
        return False
    before, after = _requirement_text(old), _requirement_text(new)
    if (not before and not after) or level_changed(old, new):
        return True  # a list-level read has no text to weigh
    ratio = difflib.SequenceMatcher(None, before, after, autojunk=False).ratio()
    return ratio >= REPOST_TEXT_SIMILARITY


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def _requirement_text(posting: Posting) -> str:
    items = (*posting.requirements.minimum, *posting.requirements.preferred)
    return "\n".join(_folded(item) for item in items)


def _repost(posting: Posting, earlier: PostingState, *, now: datetime) -> NewMember:
    """'reposted: Data Engineer (Berlin); first posted 2026-09-01, open 41 days before
    it closed; pay then 70,000–80,000 EUR/yr, now 75,000–85,000 EUR/yr'."""
    old = earlier.current
    assert old is not None
    closed_at = earlier.last_changed_at if earlier.status is PostingStatus.CLOSED else None
    closed_at = closed_at or now
    first_seen = earlier.created_at or closed_at
    days = max((closed_at - first_seen).days, 0)
    where = f" ({'; '.join(posting.locations)})" if posting.locations else ""
    summary = (
        f"reposted: {posting.title}{where}; first posted {first_seen:%Y-%m-%d}, open {days} "
        f"day{'s' if days != 1 else ''} before it closed; pay then {_pay(old)}, now {_pay(posting)}"
    )
    change = FieldChange(
        field="status",
        kind=ChangeKind.REPOSTED,
        old=PostingStatus.CLOSED.value,
        new=PostingStatus.OPEN.value,
        summary=summary,
    )
    return NewMember(posting=posting, changes=(change,), reposted_from=earlier.id)


def _pay(posting: Posting) -> str:
    return format_salary(posting.salaries[0]) if posting.salaries else "not stated"


def _closed_as_reposted(member: PostingState, base: CheckResult) -> CheckResult:
    """The old posting, closed now that its repost is here: recorded, not alerted (the
    repost's alert tells the story)."""
    assert member.current is not None
    closed = replace(member.current, status=PostingStatus.CLOSED)
    change = FieldChange(
        field="status",
        kind=ChangeKind.CLOSED,
        old=PostingStatus.OPEN.value,
        new=PostingStatus.CLOSED.value,
        summary="posting closed: reposted as a new posting",
    )
    result = _member_result(
        member,
        base,
        outcome=CheckOutcome.CLOSED,
        status=PostingStatus.CLOSED,
        gone_count=member.gone_count + 1,
        snapshot=closed,
        changes=(change,),
        presence=member.reads_on_its_own,
    )
    return replace(result, quiet=True)


def _new_member(posting: Posting, *, announce: bool) -> NewMember:
    if not announce:
        return NewMember(posting=posting)
    where = f" ({'; '.join(posting.locations)})" if posting.locations else ""
    change = FieldChange(
        field="status",
        kind=ChangeKind.NEW,
        old=None,
        new=PostingStatus.OPEN.value,
        summary=f"new posting: {posting.title}{where}",
    )
    return NewMember(posting=posting, changes=(change,))


def _member_result(
    member: PostingState,
    base: CheckResult,
    *,
    outcome: CheckOutcome,
    status: PostingStatus = PostingStatus.OPEN,
    gone_count: int = 0,
    snapshot: Posting | None = None,
    changes: tuple[FieldChange, ...] = (),
    presence: bool = False,
) -> CheckResult:
    """A posting's result from its board's: no fetch of its own, so no validators."""
    return replace(
        base,
        posting_id=member.id,
        validators=None,
        http_status=None,
        latency_ms=None,
        outcome=outcome,
        status=status,
        gone_count=gone_count,
        snapshot=snapshot,
        changes=changes,
        presence=presence,
    )


def _listed(
    member: PostingState, posting: Posting, base: CheckResult, *, quiet: bool = False
) -> CheckResult | None:
    if not list_compares(member, posting):
        if not member.reads_on_its_own and member.current is not None:
            retitled = _retitled(member, posting, base, quiet=quiet)
            if retitled is not None:
                return retitled
        return _still_listed(member, base)
    if member.current is None:
        return _member_result(
            member, base, outcome=CheckOutcome.BASELINE, snapshot=posting, status=PostingStatus.OPEN
        )
    changeset = compare(member.current, posting)
    if not changeset:
        return _member_result(
            member,
            base,
            outcome=CheckOutcome.UNCHANGED,
            snapshot=posting,
            status=PostingStatus.OPEN,
        )
    return replace(
        _member_result(
            member,
            base,
            outcome=CheckOutcome.CHANGED,
            snapshot=posting,
            status=PostingStatus.OPEN,
            changes=changeset.changes,
        ),
        quiet=quiet,
    )


def _retitled(
    member: PostingState, posting: Posting, base: CheckResult, *, quiet: bool
) -> CheckResult | None:
    """A member read from its job before, now from the list only (its board set to
    members = "list"): the list's title still counts, the job's other fields stay."""
    current = member.current
    assert current is not None
    if posting.title == current.title or not posting.title:
        return None
    renamed = replace(current, title=posting.title, status=PostingStatus.OPEN)
    changes = compare(current, renamed).changes
    return replace(
        _member_result(
            member, base, outcome=CheckOutcome.CHANGED, snapshot=renamed, changes=changes
        ),
        quiet=quiet,
    )


def _still_listed(member: PostingState, base: CheckResult) -> CheckResult | None:
    """A member whose job is read on its own, or whose version the list cannot match,
    is still listed: it reopens if it was closed, and stops counting as missing; its
    fields are left to its own reads (None: nothing to write)."""
    presence = member.reads_on_its_own
    if member.status is PostingStatus.CLOSED and member.current is not None:
        reopened = replace(member.current, status=PostingStatus.OPEN)
        return _member_result(
            member,
            base,
            outcome=CheckOutcome.CHANGED,
            snapshot=reopened,
            changes=compare(member.current, reopened).changes,
            presence=presence,
        )
    if member.gone_count or not presence:
        outcome = CheckOutcome.UNCHANGED
        return _member_result(member, base, outcome=outcome, presence=presence)
    return None


def _missing(member: PostingState, base: CheckResult, close_after: int) -> CheckResult:
    count = member.gone_count + 1
    presence = member.reads_on_its_own
    if count < close_after or member.current is None:
        return _member_result(
            member,
            base,
            outcome=CheckOutcome.GONE,
            status=member.status,
            gone_count=count,
            presence=presence,
        )
    closed = replace(member.current, status=PostingStatus.CLOSED)
    changeset = compare(member.current, closed)
    return _member_result(
        member,
        base,
        outcome=CheckOutcome.CLOSED,
        status=PostingStatus.CLOSED,
        gone_count=count,
        snapshot=closed,
        changes=changeset.changes,
        presence=presence,
    )


__all__ = [
    "JOB_FIELD_LOSS_MARKER",
    "FieldLoss",
    "field_loss",
    "job_field_loss",
    "job_loss_reason",
    "judge_board",
    "lost_job_field",
    "same_job",
    "still_missing",
]
