"""When the browser renderer is stuck: renders running long past their deadline."""

from __future__ import annotations

import pytest

from monitor.core.renders import OVERDUE_GRACE_SECONDS, RenderState, overdue, renderer_trouble

DEADLINE = 30.0
PAST = DEADLINE + OVERDUE_GRACE_SECONDS


def state(*rendering: float, slots: int = 2) -> RenderState:
    return RenderState(slots=slots, rendering=rendering, deadline_seconds=DEADLINE)


@pytest.mark.parametrize(
    ("rendering", "stuck"),
    [
        ((), 0),
        ((1.0, 29.0), 0),
        ((DEADLINE + 5,), 0),  # closing the page (or restarting the browser) takes time
        ((PAST,), 0),
        ((PAST + 0.1,), 1),
        ((PAST + 0.1, 3.0), 1),
        ((PAST + 60, PAST + 1), 2),
    ],
)
def test_only_renders_past_their_deadline_and_the_closing_grace_are_overdue(
    rendering: tuple[float, ...], stuck: int
) -> None:
    assert overdue(state(*rendering)) == stuck


def test_a_renderer_with_nothing_overdue_has_no_trouble() -> None:
    assert renderer_trouble(state(PAST, 1.0)) is None
    assert renderer_trouble(RenderState(slots=0)) is None


def test_some_slots_stuck_means_fewer_pages_render() -> None:
    trouble = renderer_trouble(state(PAST + 35, 2.0, slots=3))
    assert trouble == (
        "renderer stuck: 1 of 3 browser page slots held for 95 s, past the 30 s deadline "
        "(browser.timeout); fewer pages render at once"
    )


def test_every_slot_stuck_means_no_page_renders() -> None:
    trouble = renderer_trouble(state(PAST + 1, PAST + 35))
    assert trouble is not None
    assert trouble.startswith("renderer stuck: 2 of 2 browser page slots held for 95 s")
    assert trouble.endswith("no page can render")
