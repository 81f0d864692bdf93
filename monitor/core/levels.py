"""Reads at two levels. A thin board list (Workday, SmartRecruiters, BambooHR, JazzHR,
Breezy) gives list-level fields only: title, place, workplace flag. A job read gives
every field. Pure.

The rules: a list-level read never overwrites a version read at detail level (the list
then only says the posting is still there, or not); a version's level changing (list
to detail, or back) is never a change; a field is removed only when a read of the same
level (or richer) lacks it.
"""

from __future__ import annotations

from dataclasses import replace

from monitor.model import DETAIL, LIST, CheckOutcome, CheckResult, Posting
from monitor.records import PostingState


def at_list_level(posting: Posting) -> Posting:
    """The posting as a thin board list gave it."""
    return replace(posting, provenance=replace(posting.provenance, level=LIST))


def level_changed(before: Posting, after: Posting) -> bool:
    return before.provenance.level != after.provenance.level


def on_a_board(state: PostingState) -> bool:
    """A posting a board lists (whether or not a job watch also follows it)."""
    return state.board_id is not None and state.role != "board"


def as_its_board_says(state: PostingState, result: CheckResult) -> CheckResult:
    """A read of a posting a board lists never closes or reopens it: the list does. A
    404 while the list already misses it counts for nothing more (and while the list
    still lists it, it is an error: ``monitor.pipeline``)."""
    if not on_a_board(state):
        return result
    if result.outcome is CheckOutcome.CLOSED:
        result = replace(result, outcome=CheckOutcome.GONE, snapshot=None, changes=())
    return replace(result, listed=True, status=state.status, gone_count=state.gone_count)


def list_compares(member: PostingState, listed: Posting) -> bool:
    """Whether the board's list read is compared with the member's stored version:
    not for a member whose job is read on its own (the list then only says it is
    there), nor for a version read at a richer level than the list."""
    if member.reads_on_its_own:
        return False
    current = member.current
    return current is None or not (
        current.provenance.level == DETAIL and listed.provenance.level == LIST
    )


__all__ = ["as_its_board_says", "at_list_level", "level_changed", "list_compares", "on_a_board"]
