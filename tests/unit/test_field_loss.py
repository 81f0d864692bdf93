"""A field that vanishes from most of a board's postings in one read is a format break."""

from __future__ import annotations

from decimal import Decimal

from monitor.core.boards import FIELD_LOSS_MIN_POSTINGS, field_loss
from monitor.model import PayPeriod, Posting, Salary

PAY = (Salary(min=Decimal(1000), max=Decimal(2000), currency="USD", period=PayPeriod.MONTH),)


def _posting(n: int, *, pay: bool) -> Posting:
    return Posting(
        source_kind="greenhouse", source_id=f"b:{n}", url=f"https://x/{n}", title=f"Job {n}",
        salaries=PAY if pay else (),
    )  # fmt: skip


def _board(had: int, lost: int) -> tuple[dict[str, Posting], list[Posting]]:
    before = {f"b:{n}": _posting(n, pay=True) for n in range(had)}
    after = [_posting(n, pay=n >= lost) for n in range(had)]
    return before, after


def test_most_postings_losing_pay_at_once_is_a_loss() -> None:
    loss = field_loss(*_board(had=10, lost=6))
    assert loss is not None
    assert (loss.field, loss.lost, loss.had) == ("salary", 6, 10)
    assert "salary no longer read on 6 of 10 postings" in loss.describe()


def test_exactly_half_is_not_most() -> None:
    assert field_loss(*_board(had=10, lost=5)) is None


def test_too_few_postings_are_edits_not_a_break() -> None:
    assert field_loss(*_board(had=2, lost=2)) is None
    assert field_loss(*_board(had=FIELD_LOSS_MIN_POSTINGS, lost=FIELD_LOSS_MIN_POSTINGS))


def test_new_postings_and_postings_without_the_field_do_not_count() -> None:
    before = {f"b:{n}": _posting(n, pay=n < 2) for n in range(10)}
    after = [_posting(n, pay=False) for n in range(12)]
    assert field_loss(before, after) is None  # only 2 had pay
