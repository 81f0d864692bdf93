"""One set of host limits for several checker processes: a checker's RemoteGate asks
the main process's HostGate (through GateService) for each place, so the limits,
pauses and failures hold across processes. The channel here is the event loop (each
message delivered at its next turn), as the socket pair delivers them."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from monitor.config import HttpConfig
from monitor.errors import HostPaused
from monitor.net.hosts import HostGate
from monitor.net.sharedgate import ANSWERS, GateService, Message, RemoteGate
from monitor.testing import FrozenClock

URL = "https://jobs.example.com/postings/1"
OTHER = "https://careers.example.org/jobs/2"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Linked:
    """A checker's gate linked to the main process's gate over the event loop."""

    def __init__(self, main: HostGate) -> None:
        loop = asyncio.get_running_loop()
        self.remote = RemoteGate(lambda m: loop.call_soon(self._to_main, m))
        self.service = GateService(main, lambda m: loop.call_soon(self._to_checker, m))
        self.sent: list[Message] = []

    def _to_main(self, message: Message) -> None:
        self.sent.append(message)
        self.service.handle(message)

    def _to_checker(self, message: Message) -> None:
        assert message[0] in ANSWERS
        self.remote.answered(message)


def main_gate(**http: object) -> HostGate:
    config = HttpConfig.model_validate(http)
    return HostGate(config, clock=FrozenClock(NOW), rng=random.Random(1))


async def turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def run(test: Callable[[], object]) -> None:
    asyncio.run(test())  # type: ignore[arg-type]


def test_checkers_share_the_hosts_concurrency() -> None:
    async def scenario() -> None:
        gate = main_gate(per_host_concurrency=2, per_host_rate=0)
        checkers = [Linked(gate), Linked(gate)]
        held, most = 0, 0

        async def fetch(link: Linked) -> None:
            nonlocal held, most
            async with link.remote.slot(URL):
                held += 1
                most = max(most, held)
                await asyncio.sleep(0.01)
                held -= 1

        await asyncio.gather(*(fetch(c) for c in checkers for _ in range(5)))
        assert most == 2  # two places for the host, whichever process asks
        await turns()
        assert [c.service.held for c in checkers] == [0, 0]

    run(scenario)


def test_other_hosts_are_not_held_up_by_a_full_one() -> None:
    async def scenario() -> None:
        gate = main_gate(per_host_concurrency=1, per_host_rate=0)
        link = Linked(gate)
        async with link.remote.slot(URL):
            async with asyncio.timeout(1):
                async with link.remote.slot(OTHER):
                    pass

    run(scenario)


def test_a_paused_host_is_refused_with_its_wait() -> None:
    async def scenario() -> None:
        gate = main_gate()
        gate.pause(URL, 120, reason="HTTP 429 Retry-After")
        link = Linked(gate)
        with pytest.raises(HostPaused) as refused:
            async with link.remote.slot(URL):
                pass
        assert refused.value.host == "jobs.example.com"
        assert 119 < refused.value.seconds <= 120
        async with link.remote.slot(OTHER):
            pass

    run(scenario)


def test_a_checkers_pauses_and_failures_reach_the_main_gate() -> None:
    async def scenario() -> None:
        gate = main_gate(host_pause_after=2)
        link = Linked(gate)
        link.remote.pause(OTHER, 300, reason="HTTP 503 Retry-After")
        link.remote.failed(URL, reason="HTTP 500")
        link.remote.succeeded(URL)  # the streak starts again
        link.remote.failed(URL, reason="HTTP 500")
        await turns()
        assert set(gate.paused_hosts()) == {"careers.example.org"}
        link.remote.failed(URL, reason="HTTP 500")
        await turns()
        assert set(gate.paused_hosts()) == {"careers.example.org", "jobs.example.com"}

    run(scenario)


def test_a_request_cancelled_while_waiting_never_takes_its_place() -> None:
    async def scenario() -> None:
        gate = main_gate(per_host_concurrency=1, per_host_rate=0)
        link = Linked(gate)
        holding, release = asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            async with link.remote.slot(URL):
                holding.set()
                await release.wait()

        first = asyncio.create_task(hold())
        await holding.wait()
        waiting = asyncio.create_task(_take(link.remote))
        await turns()
        assert link.service.held == 2
        waiting.cancel()
        await turns()
        assert link.service.held == 1  # the cancelled one stopped waiting in the main gate
        release.set()
        await first
        await turns()
        assert link.service.held == 0
        async with asyncio.timeout(1):
            await _take(link.remote)

    run(scenario)


def test_a_checker_gone_gives_back_what_it_held() -> None:
    async def scenario() -> None:
        gate = main_gate(per_host_concurrency=1, per_host_rate=0)
        dead, alive = Linked(gate), Linked(gate)
        holding = asyncio.Event()

        async def hold_forever() -> None:
            async with dead.remote.slot(URL):
                holding.set()
                await asyncio.Event().wait()

        stuck = asyncio.create_task(hold_forever())
        await holding.wait()
        waiting = asyncio.create_task(_take(alive.remote))
        await turns()
        assert not waiting.done()
        dead.service.close()  # its socket closed: the process died
        async with asyncio.timeout(1):
            await waiting
        stuck.cancel()

    run(scenario)


def test_without_the_main_process_checks_are_put_off_not_failed() -> None:
    async def scenario() -> None:
        gate = main_gate(per_host_concurrency=1, per_host_rate=0)
        link = Linked(gate)
        holding = asyncio.Event()

        async def hold() -> None:
            async with link.remote.slot(URL):
                holding.set()
                await asyncio.sleep(10)

        first = asyncio.create_task(hold())
        await holding.wait()
        waiting = asyncio.create_task(_take(link.remote))
        await turns()
        link.remote.lose()
        with pytest.raises(HostPaused) as put_off:
            await waiting
        assert put_off.value.seconds == 0
        with pytest.raises(HostPaused):
            await _take(link.remote, OTHER)
        first.cancel()

    run(scenario)


def test_a_place_asked_for_and_given_up_at_once_leaves_nothing_behind() -> None:
    async def scenario() -> None:
        gate = main_gate(per_host_concurrency=1, per_host_rate=0)
        service = GateService(gate, lambda _m: None)
        service.handle(("slot", 1, URL))
        service.handle(("free", 1))  # in the same read, before the request ran a step
        await turns()
        assert service.held == 0
        async with asyncio.timeout(1):
            async with gate.slot(URL):
                pass

    run(scenario)


def test_the_service_refuses_what_is_no_gate_message() -> None:
    async def scenario() -> None:
        link = Linked(main_gate())
        with pytest.raises(ValueError, match="not a gate message: 'stats'"):
            link.service.handle(("stats", 1, []))

    run(scenario)


async def _take(gate: RemoteGate, url: str = URL) -> None:
    async with gate.slot(url):
        pass
