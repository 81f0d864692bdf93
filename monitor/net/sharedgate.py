"""One set of host limits for several checker processes.

The daemon's main process keeps the only ``HostGate``; a checker process asks it for
each request's place (``RemoteGate``), and reports what the host answered (a pause,
a failure, a success), so a host's concurrency, rate and pauses hold across every
process exactly as they do in one. ``GateService`` is the main process's side: it
answers one checker's gate messages; the messages travel over whatever channel links
the two (see ``monitor.engines.checkers``).

Messages (tuples) from a checker: ``("slot", id, url)`` asks for a place, answered by
``("granted", id)`` or ``("refused", id, host, seconds)`` (the host is paused, or its
queue is too long: ``HostPaused``); ``("free", id)`` gives the place back (or gives up
waiting for it); ``("pause", url, seconds, reason)``, ``("failed", url, reason)`` and
``("succeeded", url)`` are the host's news.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from monitor.errors import HostPaused
from monitor.net.hosts import HostGate, host_of

Message = tuple[object, ...]
Send = Callable[[Message], None]
GATE_MESSAGES = frozenset({"slot", "free", "pause", "failed", "succeeded"})
ANSWERS = frozenset({"granted", "refused"})


class Gate(Protocol):
    """What a fetch needs of the host limits (``HostGate`` in one process,
    ``RemoteGate`` in a checker process)."""

    def slot(self, url: str) -> AbstractAsyncContextManager[None]: ...

    def pause(self, url: str, seconds: float, *, reason: str) -> None: ...

    def failed(self, url: str, *, reason: str) -> None: ...

    def succeeded(self, url: str) -> None: ...


class RemoteGate:
    """A checker process's view of the main process's ``HostGate``."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[str, asyncio.Future[Message]]] = {}
        self._lost = False

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        """Hold one of the host's places (granted by the main process) for a request."""
        if self._lost:
            raise _put_off(url)
        slot_id = next(self._ids)
        answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiting[slot_id] = (url, answer)
        self._send(("slot", slot_id, url))
        try:
            reply = await answer
        except BaseException:
            # Cancelled while waiting: the place, if it comes, goes straight back.
            self._send(("free", slot_id))
            raise
        finally:
            self._waiting.pop(slot_id, None)
        if reply[0] == "refused":
            _kind, _id, host, seconds = reply
            raise HostPaused(url=url, host=str(host), seconds=float(str(seconds)))
        try:
            yield
        finally:
            self._send(("free", slot_id))

    def answered(self, message: Message) -> None:
        """A ``granted`` or ``refused`` from the main process."""
        _url, waiting = self._waiting.get(int(str(message[1])), ("", None))
        if waiting is not None and not waiting.done():
            waiting.set_result(message)

    def lose(self) -> None:
        """The main process is gone (this checker is stopping): no request is made any
        more, and the checks waiting for a place are put off, not failed."""
        self._lost = True
        for url, waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_exception(_put_off(url))

    def pause(self, url: str, seconds: float, *, reason: str) -> None:
        self._send(("pause", url, seconds, reason))

    def failed(self, url: str, *, reason: str) -> None:
        self._send(("failed", url, reason))

    def succeeded(self, url: str) -> None:
        self._send(("succeeded", url))


def _put_off(url: str) -> HostPaused:
    return HostPaused(url=url, host=host_of(url), seconds=0)


class GateService:
    """The main process's side for one checker process: its requests for places are
    queued on the one ``HostGate`` like the main process's own."""

    def __init__(self, gate: HostGate, send: Send) -> None:
        self._gate = gate
        self._send = send
        self._holding: dict[int, asyncio.Task[None]] = {}
        self._freed: dict[int, asyncio.Event] = {}
        self._granted: set[int] = set()

    @property
    def held(self) -> int:
        """Places this checker waits for or holds."""
        return len(self._holding)

    def handle(self, message: Message) -> None:
        kind = message[0]
        if kind == "slot":
            slot_id, url = int(str(message[1])), str(message[2])
            self._freed[slot_id] = asyncio.Event()
            self._holding[slot_id] = asyncio.create_task(self._hold(slot_id, url))
        elif kind == "free":
            self._free(int(str(message[1])))
        elif kind == "pause":
            self._gate.pause(str(message[1]), float(str(message[2])), reason=str(message[3]))
        elif kind == "failed":
            self._gate.failed(str(message[1]), reason=str(message[2]))
        elif kind == "succeeded":
            self._gate.succeeded(str(message[1]))
        else:
            raise ValueError(f"not a gate message: {kind!r}")

    async def _hold(self, slot_id: int, url: str) -> None:
        try:
            async with self._gate.slot(url):
                self._granted.add(slot_id)
                self._send(("granted", slot_id))
                await self._freed[slot_id].wait()
        except HostPaused as exc:
            self._send(("refused", slot_id, exc.host or host_of(url), exc.seconds))
        finally:
            self._holding.pop(slot_id, None)
            self._freed.pop(slot_id, None)
            self._granted.discard(slot_id)

    def _free(self, slot_id: int) -> None:
        """A place given back is freed; one still waited for is no longer wanted (its
        request was cancelled), so it stops waiting and never takes a turn."""
        if slot_id in self._granted:
            self._freed[slot_id].set()
        elif (waiting := self._holding.pop(slot_id, None)) is not None:
            # Popped here: a task cancelled before its first step never runs its finally.
            self._freed.pop(slot_id, None)
            waiting.cancel()

    def close(self) -> None:
        """The checker is gone: every place it held or waited for is given back."""
        for slot_id in list(self._holding):
            self._free(slot_id)
