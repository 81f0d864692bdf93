"""Running checks: a bounded pool of asyncio tasks and a batching writer.

Checks finish on the event loop; their results queue in ``BatchWriter``, which
writes whatever has queued in one transaction on the database thread while the
next checks run. Under load the batches grow by themselves; when idle a result is
written at once. A result waiting in memory still holds its posting's lease, so no
other worker starts that posting; if the process dies first, the lease expires
and the posting is simply checked again: nothing is half-written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from monitor.clock import Clock
from monitor.errors import StoreError
from monitor.metrics import Metrics
from monitor.model import CheckOutcome
from monitor.notify.deliver import DeliveryReport
from monitor.progress import NoProgress, Progress
from monitor.records import PostingState
from monitor.store.postings import PendingWrite
from monitor.urls import shown_url

log = logging.getLogger(__name__)
FAILED_OUTCOMES = frozenset({CheckOutcome.ERROR, CheckOutcome.SUSPECT})
WriteBatch = Callable[[Sequence[PendingWrite]], Awaitable[None]]


class Checks(Protocol):
    """The check path the runner drives: one check at a time, and a batch of results
    written in one transaction."""

    async def run_check(self, state: PostingState) -> tuple[CheckOutcome, PendingWrite]: ...

    async def write_checks(self, writes: Sequence[PendingWrite]) -> None: ...


@dataclass(slots=True)
class PassReport:
    """Counts of checks run, by outcome."""

    outcomes: dict[CheckOutcome, int] = field(default_factory=dict)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    def add(self, outcome: CheckOutcome) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    @property
    def checked(self) -> int:
        return sum(self.outcomes.values())


class BatchWriter:
    """Queues finished checks and writes them, many per transaction."""

    def __init__(self, write: WriteBatch, *, max_batch: int, metrics: Metrics | None = None):
        self._write = write
        self._max_batch = max_batch
        self._metrics = metrics
        self._pending: list[PendingWrite] = []
        self._task: asyncio.Task[None] | None = None
        self._room = asyncio.Event()
        self._room.set()

    @property
    def backlog(self) -> int:
        return len(self._pending)

    async def put(self, write: PendingWrite) -> None:
        self._pending.append(write)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="monitor-writer")
        if len(self._pending) >= 4 * self._max_batch:
            # The database is behind: hold checks back instead of piling up memory.
            self._room.clear()
            await self._room.wait()

    async def flush(self) -> None:
        """Return once everything queued so far is written (or failed and logged)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            await self._write_batch(batch)
            if len(self._pending) < 2 * self._max_batch:
                self._room.set()
        self._room.set()

    async def _write_batch(self, batch: list[PendingWrite]) -> None:
        started = time.perf_counter()
        try:
            await self._write(batch)
        except StoreError as exc:
            log.error(
                "writing %d checks failed (%s); writing them one by one",
                len(batch),
                exc,
                extra={"action": "write_failed"},
            )
            for write in batch:
                await self._write_alone(write)
        if self._metrics is not None:
            self._metrics.observe_write(len(batch), time.perf_counter() - started)

    async def _write_alone(self, write: PendingWrite) -> None:
        try:
            await self._write([write])
        except StoreError as exc:
            # Not written: its lease runs out and the posting is checked again.
            log.error("writing a check failed: %s", exc, extra={"action": "write_failed"})


class CheckRunner:
    """At most ``limit`` checks at once; results go to one ``BatchWriter``."""

    def __init__(
        self,
        checks: Checks,
        *,
        clock: Clock,
        metrics: Metrics,
        limit: int,
        write_batch_size: int,
        progress: Progress | None = None,
    ) -> None:
        self._checks = checks
        self._clock = clock
        self._metrics = metrics
        self._progress = progress or NoProgress()
        self._limit = limit
        self._inflight: set[asyncio.Task[None]] = set()
        self._postings: dict[asyncio.Task[None], int] = {}
        self.writer = BatchWriter(checks.write_checks, max_batch=write_batch_size, metrics=metrics)
        self.report = PassReport()

    @property
    def free(self) -> int:
        return self._limit - len(self._inflight)

    @property
    def inflight(self) -> frozenset[asyncio.Task[None]]:
        return frozenset(self._inflight)

    def start(self, state: PostingState) -> None:
        task = asyncio.create_task(self._run(state), name=f"check-{state.id}")
        self._inflight.add(task)
        self._postings[task] = state.id
        task.add_done_callback(self._inflight.discard)
        task.add_done_callback(lambda done: self._postings.pop(done, None))
        self._metrics.inflight.set(len(self._inflight))

    async def _run(self, state: PostingState) -> None:
        lag = (self._clock.now() - state.next_check_at).total_seconds()
        started = time.perf_counter()
        try:
            outcome, write = await self._checks.run_check(state)
        except Exception:
            # A bug in one check must not stop the others; its lease expiry retries it.
            log.exception(
                "check of %s crashed", shown_url(state.url), extra={"action": "check_crashed"}
            )
            self._metrics.checked("crashed", time.perf_counter() - started, lag)
            self._progress.advance(failed=1)
            return
        self.report.add(outcome)
        self._progress.advance(failed=int(outcome in FAILED_OUTCOMES))
        self._metrics.checked(outcome.value, time.perf_counter() - started, lag)
        await self.writer.put(write)

    async def wait_for_room(self) -> None:
        if self._inflight:
            await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
        self._metrics.inflight.set(len(self._inflight))

    async def run_all(
        self, states: Iterable[PostingState] | AsyncIterable[PostingState]
    ) -> PassReport:
        if isinstance(states, AsyncIterable):
            async for state in states:
                await self._start_when_free(state)
        else:
            for state in states:
                await self._start_when_free(state)
        await self.settle()
        return self.report

    async def _start_when_free(self, state: PostingState) -> None:
        while self.free <= 0:
            await self.wait_for_room()
        self.start(state)

    def posting_of(self, task: asyncio.Task[None]) -> int | None:
        """The posting a running check is checking."""
        return self._postings.get(task)

    async def settle(self, timeout: float | None = None) -> set[asyncio.Task[None]]:
        """Wait for running checks (up to ``timeout``), then write their results.
        Returns the checks still running when the time ran out."""
        pending: set[asyncio.Task[None]] = set()
        if self._inflight:
            _done, pending = await asyncio.wait(set(self._inflight), timeout=timeout)
        await self.writer.flush()
        self._metrics.inflight.set(len(self._inflight))
        return pending
