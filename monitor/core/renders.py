"""Is the browser renderer stuck? Pure: judged from what the renderer says of itself.

Every render has a wall-clock deadline (``browser.timeout``) after which its page is
closed, or the browser restarted when closing does not answer. A render still running
well past that deadline means the ending itself hung (a wedged browser or driver): its
page slot stays taken, and when every slot is taken no page renders again. Nothing in
the process can fix that, so it is reported: the heartbeat records it, ``health``
fails on it (a container is then restarted), the dashboard's health page and
``/metrics`` show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

ENDED_BY_DEADLINE = "deadline"
ENDED_BY_MEMORY = "memory"
BROWSER_RESTARTED = "restart"
ENDINGS = (ENDED_BY_DEADLINE, ENDED_BY_MEMORY, BROWSER_RESTARTED)
"""Renders the renderer ended by force, by why (and browsers it restarted)."""

OVERDUE_GRACE_SECONDS = 30.0
"""Past its deadline, how long a render may still take to close before it is stuck:
closing a page and then restarting a browser are bounded by a few seconds each."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderState:
    """What a renderer is doing now and has ended by force since it started."""

    slots: int
    rendering: tuple[float, ...] = ()
    """Seconds each render in flight has been running."""
    ended: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    deadline_seconds: float = 0.0

    @property
    def oldest_seconds(self) -> float:
        return max(self.rendering, default=0.0)


IDLE = RenderState(slots=0)
"""A renderer that never renders (no browser configured, or a test's fake)."""


def overdue(state: RenderState) -> int:
    """Renders running longer than their deadline and the time closing may take."""
    limit = state.deadline_seconds + OVERDUE_GRACE_SECONDS
    return sum(1 for seconds in state.rendering if seconds > limit)


def renderer_trouble(state: RenderState) -> str | None:
    """Why the renderer needs a restart from outside, or ``None`` when it needs none."""
    stuck = overdue(state)
    if not stuck:
        return None
    return (
        f"renderer stuck: {stuck} of {state.slots} browser page slots held for "
        f"{state.oldest_seconds:.0f} s, past the {state.deadline_seconds:g} s deadline "
        "(browser.timeout); "
        + ("no page can render" if stuck >= state.slots else "fewer pages render at once")
    )
