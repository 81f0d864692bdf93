"""Judging a board against the postings it listed before. Pure.

A posting seen for the first time is new (reported, unless this is the board's
first check, which only records what is there); a followed posting missing
from the board counts toward closing and is closed after ``close_after`` checks
in a row; one that comes back is reopened; the rest are compared field by field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from monitor.diff import compare
from monitor.model import (
    BoardFilters,
    BoardResult,
    ChangeKind,
    CheckOutcome,
    CheckResult,
    FieldChange,
    NewMember,
    Posting,
    PostingStatus,
)
from monitor.store.repository import PostingState


def judge_board(
    board: PostingState,
    members: Sequence[PostingState],
    listed: Sequence[Posting],
    *,
    base: CheckResult,
    filters: BoardFilters,
    close_after: int,
) -> BoardResult:
    """``base`` is the board's own successful result; members are judged against ``listed``."""
    first_check = board.baselined_at is None
    by_id = {member.source_id: member for member in members}
    results: list[CheckResult] = []
    new: list[NewMember] = []
    for posting in listed:
        member = by_id.get(posting.source_id)
        if member is not None:
            results.append(_listed(member, posting, base))
        elif filters.follows(posting):
            new.append(_new_member(posting, announce=not first_check))
    listed_ids = {p.source_id for p in listed}
    for member in members:
        if member.source_id not in listed_ids and member.status is PostingStatus.OPEN:
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


def still_missing(
    members: Sequence[PostingState], *, base: CheckResult, close_after: int
) -> BoardResult:
    """The board answered "unchanged" (304 or the same body): what was missing from it
    last time is missing again, which counts toward closing it."""
    pending = [m for m in members if m.status is PostingStatus.OPEN and m.gone_count > 0]
    return BoardResult(board=base, members=tuple(_missing(m, base, close_after) for m in pending))


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
    )


def _listed(member: PostingState, posting: Posting, base: CheckResult) -> CheckResult:
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
    return _member_result(
        member,
        base,
        outcome=CheckOutcome.CHANGED,
        snapshot=posting,
        status=PostingStatus.OPEN,
        changes=changeset.changes,
    )


def _missing(member: PostingState, base: CheckResult, close_after: int) -> CheckResult:
    count = member.gone_count + 1
    if count < close_after or member.current is None:
        return _member_result(
            member, base, outcome=CheckOutcome.GONE, status=member.status, gone_count=count
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
    )


__all__ = ["judge_board", "still_missing"]
