"""Reading pages off the event loop: worker processes with a time limit per page.

Parsing and extraction are CPU work that a hostile page can stretch for minutes.
Checks hand fetched pages to a few worker processes; meanwhile the event loop keeps
fetching, writing, beating its heart and answering SIGTERM, and reading uses every
core. A page that takes longer than the time limit costs one failed check: its
worker is killed and replaced, and the pages queued behind it go to another worker.

Each worker is fed over a socket pair, length-prefixed pickles both ways, a few
pages at a time so it never idles waiting for the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import pickle
import signal
import socket
import threading
import traceback
from collections import deque
from dataclasses import dataclass, field
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import Protocol

from monitor.errors import MonitorError, ReadLimitExceeded
from monitor.model import Posting
from monitor.sources import SourceRegistry, read_page
from monitor.sources.base import FetchedPage, Source

log = logging.getLogger(__name__)

HEADER = 4
_READY = -1
_PER_WORKER = 4
"""Pages queued on one worker at most: enough to keep it busy, few enough that a slow
page holds up little behind it."""
_START_FAILURES = 3


class PageReader(Protocol):
    """Turns a fetched page into postings with a source's parser."""

    async def start(self) -> None:
        """Be ready to read (reading also starts what is needed)."""
        ...

    async def read(self, source: Source, page: FetchedPage, *, url: str) -> list[Posting]: ...

    async def aclose(self) -> None: ...


class InlineReader:
    """Reads on the event loop itself: no isolation and no time limit
    (``reading.workers: 0``, and sources that cannot be sent to another process)."""

    async def start(self) -> None:
        return None

    async def read(self, source: Source, page: FetchedPage, *, url: str) -> list[Posting]:
        return read_page(source, page, url=url)

    async def aclose(self) -> None:
        return None


def make_reader(sources: SourceRegistry, *, workers: int, time_limit: float) -> PageReader:
    if workers == 0:
        return InlineReader()
    try:
        pickle.dumps(sources)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        log.warning(
            "a source plugin cannot be sent to reader processes (%s); pages are read on the "
            "main thread, without a time limit",
            exc,
            extra={"action": "reader_inline"},
        )
        return InlineReader()
    return ProcessReader(sources, workers=workers, time_limit=time_limit)


@dataclass(eq=False, slots=True)
class _Job:
    id: int
    kind: str
    url: str
    page: FetchedPage
    future: asyncio.Future[list[Posting]]

    def frame(self) -> bytes:
        page = self.page
        message = (self.id, self.kind, self.url, page.url, page.status, page.content_type)
        return framed(pickle.dumps((*message, page.encoding, page.body), protocol=5))

    def settle(self, postings: list[Posting] | None, error: BaseException | None) -> None:
        if self.future.done():  # the check was cancelled meanwhile
            return
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(postings or [])


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    sock: socket.socket
    stream: asyncio.StreamReader
    writer: asyncio.StreamWriter
    jobs: deque[_Job] = field(default_factory=deque)
    ready: bool = False
    retired: bool = False
    deadline: asyncio.TimerHandle | None = None
    listener: asyncio.Task[None] | None = None


class ProcessReader:
    """A pool of reader processes, started on the first page."""

    def __init__(self, sources: SourceRegistry, *, workers: int, time_limit: float) -> None:
        self._sources = sources
        self._size = workers
        self._time_limit = time_limit
        self._context = process_context()
        self._workers: list[_Worker] = []
        self._backlog: deque[_Job] = deque()
        self._next_id = 0
        self._started: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._start_failures = 0
        self._broken: str | None = None
        self._closed = False
        self._replacing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if not self._closed:
            await self._ensure_started()

    async def read(self, source: Source, page: FetchedPage, *, url: str) -> list[Posting]:
        if self._closed:
            raise MonitorError("the page readers are shut down")
        await self._ensure_started()
        if self._broken is not None:
            raise MonitorError(self._broken)
        self._next_id += 1
        future: asyncio.Future[list[Posting]] = asyncio.get_running_loop().create_future()
        self._backlog.append(_Job(self._next_id, source.kind, url, page, future))
        self._pump()
        return await future

    async def aclose(self) -> None:
        self._closed = True
        workers = self._let_go(kill=self._loop is not asyncio.get_running_loop())
        if workers:
            await asyncio.get_running_loop().run_in_executor(None, _join, workers)

    def _let_go(self, *, kill: bool) -> list[_Worker]:
        """Stop every worker (closing its socket ends it; ``kill`` does not wait for
        that) and forget the pages queued."""
        for task in list(self._replacing):
            task.cancel()
        workers, self._workers = self._workers, []
        for worker in workers:
            # One mid-page could take up to the time limit to notice its socket closed.
            self._retire(worker, kill=kill or bool(worker.jobs))
        for job in self._backlog:
            job.future.cancel()
        self._backlog.clear()
        return workers

    # -- workers -----------------------------------------------------------------------

    async def _ensure_started(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # Workers talk to the loop that started them: a new loop (another
            # asyncio.run on the same App) gets workers of its own.
            if self._loop is not None:
                _join(self._let_go(kill=True))
            self._loop, self._started = loop, asyncio.Lock()
        assert self._started is not None
        async with self._started:
            while len(self._workers) < self._size and not self._closed:
                self._workers.append(await self._start_worker())

    async def _start_worker(self) -> _Worker:
        ours, theirs = socket.socketpair()
        process = self._context.Process(
            target=serve, args=(theirs, self._sources), name="monitor-reader", daemon=True
        )
        # Starting talks to the fork server (and starts it the first time): not on the loop.
        started = asyncio.get_running_loop().run_in_executor(None, process.start)
        try:
            await asyncio.shield(started)
        except BaseException:
            # Cancelled (the pool is closing) or failed: whatever the start still does
            # in its thread, the sockets are closed and the process ended after it.
            started.add_done_callback(lambda _done: _abandon(process, ours, theirs))
            raise
        theirs.close()
        try:
            stream, writer = await asyncio.open_connection(sock=ours)
        except BaseException:
            _abandon(process, ours, theirs)
            raise
        worker = _Worker(process=process, sock=ours, stream=stream, writer=writer)
        worker.listener = asyncio.create_task(self._listen(worker), name="monitor-reader-listen")
        return worker

    async def _listen(self, worker: _Worker) -> None:
        try:
            while True:
                header = await worker.stream.readexactly(HEADER)
                payload = await worker.stream.readexactly(int.from_bytes(header, "big"))
                self._answered(worker, pickle.loads(payload))  # noqa: S301 - our own worker
        except (asyncio.IncompleteReadError, ConnectionError):
            self._died(worker)
        except asyncio.CancelledError:
            # Not by us (we retire first): the loop is shutting down (asyncio.run ends).
            # Close the socket while the loop can still do it; the worker then ends.
            if not worker.retired:
                self._retire(worker, kill=False)
                self._workers.remove(worker)
            raise

    def _answered(self, worker: _Worker, message: tuple[object, ...]) -> None:
        job_id = message[0]
        if job_id == _READY:
            worker.ready = True
            self._arm(worker)
            return
        job = worker.jobs.popleft()
        assert job.id == job_id, "a reader answers its pages in order"
        self._start_failures = 0
        if worker.deadline is not None:
            worker.deadline.cancel()
            worker.deadline = None
        status, value = message[1], message[2]
        if status == "ok":
            job.settle(value, None)  # type: ignore[arg-type]
        elif status == "error":
            job.settle(None, value)  # type: ignore[arg-type]
        else:
            job.settle(None, RuntimeError(f"reading {job.url} failed in its reader:\n{value}"))
        self._arm(worker)
        self._pump()

    def _arm(self, worker: _Worker) -> None:
        """Time the page at the head of the worker's queue (once the worker is up)."""
        if worker.ready and worker.jobs and worker.deadline is None:
            worker.deadline = asyncio.get_running_loop().call_later(
                self._time_limit, self._overran, worker
            )

    def _overran(self, worker: _Worker) -> None:
        job = worker.jobs.popleft()
        log.warning(
            "reading %s took longer than %s; its reader process is replaced",
            job.page.url,
            _seconds(self._time_limit),
            extra={"action": "read_overran"},
        )
        error = ReadLimitExceeded(
            f"reading the page took longer than the {_seconds(self._time_limit)} limit",
            url=job.page.url,
        )
        job.settle(None, error)
        self._replace(worker)

    def _died(self, worker: _Worker) -> None:
        if worker.retired:
            return
        worker.process.join(timeout=0.2)  # its socket closed: it is exiting
        code = worker.process.exitcode
        if not worker.ready:
            self._start_failures += 1
        if worker.jobs and worker.ready:
            job = worker.jobs.popleft()
            error = ReadLimitExceeded(
                f"reading the page killed its reader process ({exit_reason(code)})",
                url=job.page.url,
            )
            job.settle(None, error)
        log.error(
            "a page reader process ended (%s)", exit_reason(code), extra={"action": "reader_died"}
        )
        if self._start_failures >= _START_FAILURES:
            self._break(f"page reader processes exit as they start ({exit_reason(code)})")
            return
        self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        """Retire ``worker`` (its queued pages go back to the front of the backlog) and
        start another in its place."""
        self._retire(worker, kill=True)
        self._backlog.extendleft(reversed(worker.jobs))
        worker.jobs.clear()
        if worker in self._workers:
            self._workers.remove(worker)
        if self._closed:
            return
        task = asyncio.create_task(self._add_worker(), name="monitor-reader-replace")
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def _add_worker(self) -> None:
        self._workers.append(await self._start_worker())
        self._pump()

    def _retire(self, worker: _Worker, *, kill: bool) -> None:
        worker.retired = True
        if worker.deadline is not None:
            worker.deadline.cancel()
        if kill and worker.process.is_alive():
            worker.process.kill()
        try:
            worker.writer.close()
        except RuntimeError:  # its loop is closed already
            worker.sock.close()
        listener = worker.listener
        if listener is not None and not listener.done() and listener.get_loop() is self._loop:
            with contextlib.suppress(RuntimeError):
                if listener is not asyncio.current_task():
                    listener.cancel()

    def _break(self, reason: str) -> None:
        self._broken = reason
        for worker in list(self._workers):
            self._retire(worker, kill=True)
            self._backlog.extend(worker.jobs)
        self._workers.clear()
        for job in self._backlog:
            job.settle(None, MonitorError(reason))
        self._backlog.clear()

    def _pump(self) -> None:
        """Hand queued pages to the least busy workers, up to a few each."""
        while self._backlog:
            live = [w for w in self._workers if not w.retired]
            if not live:
                return
            worker = min(live, key=lambda w: len(w.jobs))
            if len(worker.jobs) >= _PER_WORKER:
                return
            job = self._backlog.popleft()
            if job.future.done():
                continue
            worker.jobs.append(job)
            worker.writer.write(job.frame())
            self._arm(worker)


# -- the worker process ------------------------------------------------------------------


def serve(connection: socket.socket, sources: SourceRegistry) -> None:
    """A reader process: read pages until the other end closes."""
    # Ctrl-C reaches the whole process group; the main process decides when readers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The main process closing its end (it stops, or gave up on this reader) ends the
    # loop: EOF while waiting, a broken pipe while answering.
    with connection, contextlib.suppress(ConnectionError):
        connection.sendall(framed(pickle.dumps((_READY,))))
        while (request := _receive(connection)) is not None:
            connection.sendall(framed(_answer(request, sources)))


def _answer(request: bytes, sources: SourceRegistry) -> bytes:
    job_id, kind, url, page_url, status, content_type, encoding, body = pickle.loads(request)  # noqa: S301
    page = FetchedPage(
        url=page_url, status=status, content_type=content_type, body=body, encoding=encoding
    )
    try:
        postings = read_page(sources.get(kind), page, url=url)
    except MonitorError as exc:
        return pickle.dumps((job_id, "error", exc), protocol=5)
    except Exception:  # a bug in a parser: the main process logs it as a crashed check
        return pickle.dumps((job_id, "crashed", traceback.format_exc()), protocol=5)
    return pickle.dumps((job_id, "ok", postings), protocol=5)


def _receive(connection: socket.socket) -> bytes | None:
    header = _exactly(connection, HEADER)
    if header is None:
        return None
    return _exactly(connection, int.from_bytes(header, "big"))


def _exactly(connection: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        count = connection.recv_into(view[got:])
        if count == 0:
            return None
        got += count
    return bytes(buffer)


# -- helpers -------------------------------------------------------------------------------


def framed(payload: bytes) -> bytes:
    """A length-prefixed message (the reader's and the checkers' socket pairs)."""
    return len(payload).to_bytes(HEADER, "big") + payload


def process_context() -> ForkServerContext | SpawnContext:
    """A fork server that has imported the parsers once: workers start in milliseconds
    and never inherit the main process's threads (forking those is unsafe)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["monitor.net.reading"])
    return context


def start_fork_server_early() -> None:
    """Start the readers' fork server in the background: it imports the parsers (about
    a fifth of a second) while the caller reads its configuration and database, instead
    of when the first page waits to be read. Starting it twice is harmless."""
    if not isinstance(process_context(), ForkServerContext):
        return
    threading.Thread(
        target=forkserver.ensure_running, name="monitor-fork-server", daemon=True
    ).start()


def _abandon(process: BaseProcess, *sockets: socket.socket) -> None:
    for sock in sockets:
        sock.close()
    with contextlib.suppress(ValueError, AssertionError):  # never started
        if process.is_alive():
            process.kill()
            process.join(timeout=1)


def _join(workers: list[_Worker]) -> None:
    for worker in workers:
        worker.process.join(timeout=2)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(timeout=2)


def _seconds(limit: float) -> str:
    return f"{limit:g} s"


def exit_reason(code: int | None) -> str:
    """How a child process ended, for a log line."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
