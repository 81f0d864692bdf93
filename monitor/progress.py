"""Progress of long interactive work (a `check` pass, a `watch import`).

Shown on stderr only when stderr is a terminal (done/total, rate, errors, time
left), and erased when the work ends; cron jobs, pipes and logs see nothing of it.
"""

from __future__ import annotations

import logging
import sys
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.progress import Task


class Progress(Protocol):
    def start(self, total: int, *, what: str) -> None: ...

    def advance(self, count: int = 1, *, failed: int = 0) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    """Shows nothing (not a terminal, or progress not wanted)."""

    def start(self, total: int, *, what: str) -> None:
        return None

    def advance(self, count: int = 1, *, failed: int = 0) -> None:
        return None

    def finish(self) -> None:
        return None


class TerminalProgress:
    """A one-line bar on a terminal, drawn by rich (imported only when shown)."""

    def __init__(self, stream: IO[str], *, force_terminal: bool = False) -> None:
        from rich.console import Console

        self._console = Console(file=stream, force_terminal=force_terminal or None)
        self._bar: _Bar | None = None

    def start(self, total: int, *, what: str) -> None:
        self._bar = _Bar(self._console, total, what)

    def advance(self, count: int = 1, *, failed: int = 0) -> None:
        if self._bar is not None:
            self._bar.advance(count, failed)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class _Bar:
    def __init__(self, console: Console, total: int, what: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            ProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task: Task) -> RenderableType:
                return Text(f"{task.speed or 0:,.0f}/s")

        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            Rate(),
            TextColumn("{task.fields[errors]} failed"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task = self._bar.add_task(what, total=total, errors=0)
        self._errors = 0
        stream = console.file
        self._bar.start()
        self._moved = _log_above(stream)

    def advance(self, count: int, failed: int) -> None:
        self._errors += failed
        self._bar.update(self._task, advance=count, errors=self._errors)

    def stop(self) -> None:
        self._bar.stop()
        for handler, stream in self._moved:
            handler.setStream(stream)


def _log_above(stream: IO[str]) -> list[tuple[logging.StreamHandler[IO[str]], IO[str]]]:
    """Point log handlers writing to the bar's terminal at rich's stand-in for it, which
    prints each line above the bar instead of through it. Returns what to restore."""
    moved = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is stream:
            moved.append((handler, handler.stream))
            handler.setStream(sys.stderr)  # rich's proxy while the bar is shown
    return moved


def progress_for(stream: IO[str]) -> Progress:
    """A bar when ``stream`` is a terminal, else nothing."""
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return TerminalProgress(stream)
    return NoProgress()
