"""The local engine on every core: checker processes beside the daemon's own.

``posting-monitor run`` with ``scheduler.processes`` above one starts that many
processes that check, the daemon's own included. Each other one (a *checker*) has its
own event loop, connection pool, database connections and page readers, and claims
due postings through the same leases that make several daemons safe. Everything that
must be one stays in the main process: the timers that deliver, prune and beat the
heart, the dashboard and ``/metrics`` (which add the checkers' counts), and the host
limits: a checker takes each request's place from the main process's ``HostGate``
(``monitor.net.sharedgate``), so a host sees the configured concurrency and rate
whatever the number of processes.

Main process and checker talk over a socket pair: length-prefixed pickles of small
tuples. From the main process: the gate's answers and ``("stop",)``. From a checker:
gate requests and news, and ``("stats", checks, metrics)`` at each heartbeat and at
its end. A checker that dies has its leases given back and is started again; one whose
main process dies ends (its socket closes), after its grace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.process import BaseProcess

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.engines.lifecycle import trouble_now
from monitor.engines.local import LocalEngine
from monitor.errors import StoreError
from monitor.metrics import Family, merged_families
from monitor.net.reading import HEADER, exit_reason, framed, process_context
from monitor.net.sharedgate import ANSWERS, GATE_MESSAGES, GateService, Message, RemoteGate
from monitor.sources import SourceRegistry

log = logging.getLogger(__name__)
RESTART_DELAY = 5.0
"""Seconds before a checker that died is started again."""
STOP_MARGIN = 10.0
"""Seconds beyond the grace a stopping checker has to write what it found and close."""


def frame(message: Message) -> bytes:
    return framed(pickle.dumps(message, protocol=5))


async def receive(stream: asyncio.StreamReader) -> Message | None:
    """The next message, or None when the other end has closed."""
    try:
        header = await stream.readexactly(HEADER)
        payload = await stream.readexactly(int.from_bytes(header, "big"))
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    message = pickle.loads(payload)  # noqa: S301 - our own process, over a socket pair
    assert isinstance(message, tuple)
    return message


def sender(writer: asyncio.StreamWriter) -> Callable[[Message], None]:
    def send(message: Message) -> None:
        if not writer.is_closing():
            writer.write(frame(message))

    return send


# -- the main process's side -------------------------------------------------------------


@dataclass(eq=False)
class _Checker:
    index: int
    owner: str
    process: BaseProcess
    writer: asyncio.StreamWriter
    service: GateService
    listener: asyncio.Task[None] | None = None
    checks: int = 0
    metrics: list[Family] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    reported: asyncio.Event = field(default_factory=asyncio.Event)
    trouble: str | None = None


class CheckerPool:
    """The checker processes of one daemon (``count`` of them), seen from its main
    process: started, served their places at the hosts, counted, restarted when one
    dies, and stopped with the daemon."""

    def __init__(self, app: App, *, count: int) -> None:
        self._app = app
        self.count = count
        self._owner = ""
        self._checkers: dict[int, _Checker] = {}
        self._stopping = False
        self._restarts: set[asyncio.Task[None]] = set()
        self._finished = 0
        """Checks of checkers that ended (a restarted one counts from zero again)."""
        self._ended_metrics: list[Family] = []

    @property
    def checks(self) -> int:
        """Checks the checkers started, since the daemon started."""
        return self._finished + sum(c.checks for c in self._checkers.values())

    def trouble(self) -> str | None:
        troubles = [c.trouble for c in list(self._checkers.values()) if c.trouble]
        return "; ".join(f"checker process: {t}" for t in troubles) or None

    def metric_families(self) -> list[Family]:
        """The checkers' metrics, those of checkers that ended included (a counter
        must not go back when a checker is replaced). Called from /metrics' thread."""
        running = list(self._checkers.values())
        return self._ended_metrics + [family for c in running for family in c.metrics]

    async def start(self, owner: str) -> None:
        """Start the checkers; ``owner``: the daemon's id (theirs are ``owner/1``...)."""
        self._owner = owner
        await asyncio.gather(*(self._start(index) for index in range(1, self.count + 1)))

    async def _start(self, index: int) -> None:
        owner = f"{self._owner}/{index}"
        ours, theirs = socket.socketpair()
        process = process_context().Process(
            target=run_checker,
            args=(self._app.config, self._app.sources, owner, theirs, self.count + 1),
            name=f"posting-monitor-checker-{index}",
            daemon=False,
        )
        try:
            await asyncio.get_running_loop().run_in_executor(None, process.start)
        finally:
            theirs.close()
        stream, writer = await asyncio.open_connection(sock=ours)
        send = sender(writer)
        checker = _Checker(index, owner, process, writer, GateService(self._app.gate, send))
        self._checkers[index] = checker
        checker.listener = asyncio.create_task(self._listen(checker, stream), name=owner)
        if self._stopping:  # started while the daemon began to stop
            send(("stop",))
        log.info(
            "checker process %d started (pid %s)",
            index,
            process.pid,
            extra={"action": "checker_start", "checker": owner},
        )

    async def _listen(self, checker: _Checker, stream: asyncio.StreamReader) -> None:
        try:
            while (message := await receive(stream)) is not None:
                if message[0] in GATE_MESSAGES:
                    checker.service.handle(message)
                elif message[0] == "stats":
                    checker.checks = int(str(message[1]))
                    checker.metrics = list(message[2])  # type: ignore[call-overload]
                    checker.trouble = None if message[3] is None else str(message[3])
                    checker.reported.set()
        except Exception:
            log.exception("checker process %d: bad message", checker.index)
        finally:
            checker.service.close()
            checker.writer.close()
            await self._ended(checker)

    async def _ended(self, checker: _Checker) -> None:
        """A checker's socket closed: it stopped, or it died."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, checker.process.join, STOP_MARGIN)
        if checker.process.is_alive():
            # Its socket closed but it runs on: it must not check what is given back.
            checker.process.kill()
            await loop.run_in_executor(None, checker.process.join, STOP_MARGIN)
        self._finished += checker.checks
        self._ended_metrics = merged_families(self._ended_metrics, checker.metrics)
        checker.checks = 0
        code = checker.process.exitcode
        del self._checkers[checker.index]
        checker.ended.set()
        await self._give_back(checker.owner)
        if self._stopping and code == 0:
            return
        log.error(
            "checker process %d ended (%s)%s",
            checker.index,
            exit_reason(code),
            "" if self._stopping else f"; starting it again in {RESTART_DELAY:.0f}s",
            extra={"action": "checker_died", "checker": checker.owner},
        )
        if not self._stopping:
            restart = asyncio.create_task(self._restart(checker.index))
            self._restarts.add(restart)
            restart.add_done_callback(self._restarts.discard)

    async def _restart(self, index: int) -> None:
        while not self._stopping:
            await asyncio.sleep(RESTART_DELAY)
            if self._stopping:
                return
            try:
                await asyncio.shield(self._start(index))
                return
            except OSError as exc:
                log.error("checker process %d did not start: %s", index, exc)

    async def _give_back(self, owner: str) -> None:
        """Postings the checker leased and did not finish are due again at once."""
        leases = self._app.store.leases
        try:
            await self._app.store.run(leases.release_leases_of, [owner])
        except StoreError as exc:
            log.warning("leases not released (they expire): %s", exc, extra={"action": "drain"})

    async def refresh(self, timeout: float = 10.0) -> None:
        """Have every checker send its counts and metrics now (they do at each heartbeat)."""
        checkers = list(self._checkers.values())
        for checker in checkers:
            checker.reported.clear()
            sender(checker.writer)(("report",))
        waits = [asyncio.create_task(c.reported.wait()) for c in checkers]
        if waits:
            await asyncio.wait(waits, timeout=timeout)

    async def stop(self, grace: float) -> None:
        """Ask every checker to stop (each finishes its checks within ``grace``, then
        writes and closes); one still running after that and a margin is killed."""
        self._stopping = True
        for restart in list(self._restarts):
            restart.cancel()
        await asyncio.gather(*self._restarts, return_exceptions=True)
        checkers = list(self._checkers.values())
        for checker in checkers:
            sender(checker.writer)(("stop",))
        waits = [asyncio.create_task(c.ended.wait()) for c in checkers]
        if not waits:
            return
        _done, late = await asyncio.wait(waits, timeout=grace + STOP_MARGIN)
        for checker in checkers:
            if not checker.ended.is_set():
                log.warning(
                    "checker process %d did not stop in time: killed",
                    checker.index,
                    extra={"action": "drain", "checker": checker.owner},
                )
                checker.process.kill()
        if late:
            _done, late = await asyncio.wait(late, timeout=STOP_MARGIN)
        for wait in late:
            wait.cancel()


# -- the checker process ---------------------------------------------------------------


class CheckerEngine(LocalEngine):
    """A checker process of a daemon with several (``monitor.engines.checkers``): it
    only claims and checks; the daemon's main process delivers, prunes, beats the
    heart and serves ``/metrics`` for all of them."""

    def __init__(self, app: App, *, owner: str) -> None:
        super().__init__(app)
        self._owner = owner

    @property
    def owner(self) -> str:
        return self._owner

    def _timers(self) -> list[tuple[Callable[[], Awaitable[None]], timedelta, timedelta]]:
        return [(self.dispatch, self._app.config.scheduler.dispatch_every, timedelta(0))]

    async def _start(self) -> None:
        await self._app.reader.start()  # before leasing (see lifecycle.start_process)

    def _started(self) -> None:
        log.info("checker started", extra={"action": "checker_start", "checker": self.owner})

    async def _deliver_last(self, deadline: float) -> None:
        """The main process delivers."""

    async def _finish(self) -> None:
        log.info(
            "checker %s stopped after %d checks",
            self.owner,
            self.checks_started,
            extra={"action": "checker_stop", "checker": self.owner},
        )


def run_checker(
    config: MonitorConfig,
    sources: SourceRegistry,
    owner: str,
    connection: socket.socket,
    checkers: int,
) -> None:
    """A checker process: check due postings until the main process says stop (or is
    gone), then finish within the grace."""
    # Ctrl-C reaches the whole process group; the main process decides when checkers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from monitor.logs import configure_logging

    configure_logging(config.log_level, config.log_format)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_check_until_stopped(config, sources, owner, connection, checkers))


async def _check_until_stopped(
    config: MonitorConfig,
    sources: SourceRegistry,
    owner: str,
    connection: socket.socket,
    checkers: int,
) -> None:
    stream, writer = await asyncio.open_connection(sock=connection)
    send = sender(writer)
    gate = RemoteGate(send)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    app = App(config, sources=sources, gate=gate, checkers=checkers)
    engine = CheckerEngine(app, owner=owner)

    def report() -> None:
        send(("stats", engine.checks_started, app.metrics.snapshot(), trouble_now(app)))

    listening = asyncio.create_task(_listen_to_main(stream, gate, stop, report))
    reporting = asyncio.create_task(_report_every(app, report))
    try:
        await engine.run(stop)
    finally:
        reporting.cancel()
        report()
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        await app.aclose()
        listening.cancel()
        writer.close()


async def _listen_to_main(
    stream: asyncio.StreamReader, gate: RemoteGate, stop: asyncio.Event, report: Callable[[], None]
) -> None:
    while (message := await receive(stream)) is not None:
        if message[0] in ANSWERS:
            gate.answered(message)
        elif message[0] == "stop":
            stop.set()
        elif message[0] == "report":
            report()
    if not stop.is_set():
        log.warning("the daemon's main process is gone: stopping", extra={"action": "drain"})
    gate.lose()
    stop.set()


async def _report_every(app: App, report: Callable[[], None]) -> None:
    every = app.config.scheduler.heartbeat_every.total_seconds()
    while True:
        await asyncio.sleep(every)
        report()
