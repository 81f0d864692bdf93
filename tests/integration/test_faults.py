"""No false alerts on transient faults: each fault is recorded and retried, and alerts
come only from real changes, each exactly once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest

from monitor.model import CheckOutcome
from tests.conftest import seed_text
from tests.harness import Rig

URL = "https://careers.example.com/jobs/backend-engineer"
V1 = seed_text("stripe-backend-engineer.html")
CAPTCHA = (
    "<html><head><title>Just a moment...</title></head><body><h1>Checking your browser"
    "</h1><p>Please enable JavaScript and cookies to continue.</p></body></html>"
)
LOGIN = "<html><head><title>Sign in | Careers</title></head><body><form>…</form></body></html>"
SHELL = (
    "<html><head><title>Backend Engineer, Core Technology | Stripe</title></head>"
    "<body><h1>Backend Engineer, Core Technology</h1><div id='app'></div></body></html>"
)


def pay(low: int, high: int) -> str:
    """The first version with another pay range: a real change."""
    return V1.replace("$155,700 - $285,600", f"${low:,} - ${high:,}")


class Monitor(Rig):
    def __init__(self, db_url: str, **alerts: object) -> None:
        super().__init__(db_url, [{"url": URL, "interval": "1h"}], alerts=alerts)

    def check(self) -> CheckOutcome:
        self.clock.advance(timedelta(hours=1))
        return self.check_once()

    def versions(self) -> int:
        return len(self.app.store.views.history(URL).versions)


@pytest.fixture
def m(db_url: str) -> Iterator[Monitor]:
    monitor = Monitor(db_url)
    monitor.server.publish(URL, V1)
    assert monitor.check() is CheckOutcome.BASELINE
    yield monitor
    asyncio.run(monitor.app.aclose())


@pytest.mark.parametrize("page", [CAPTCHA, LOGIN], ids=["captcha", "login"])
def test_a_block_or_login_page_served_with_200_is_held_back(m: Monitor, page: str) -> None:
    m.server.publish(URL, page)
    assert m.check() is CheckOutcome.SUSPECT
    state = m.app.store.postings.get_posting(URL)
    assert state.consecutive_failures == 1
    assert "suspect read, not believed yet" in (state.last_error or "")
    m.server.publish(URL, V1)
    assert m.check() in (CheckOutcome.UNCHANGED, CheckOutcome.NOT_MODIFIED)
    assert m.titles() == []
    assert m.versions() == 1


def test_a_redirect_to_a_login_page_is_held_back(m: Monitor) -> None:
    login_url = "https://careers.example.com/login?next=/jobs/backend-engineer"
    m.server.fail(URL, lambda _r: httpx.Response(302, headers={"Location": login_url}))
    m.server.publish(login_url, LOGIN)
    assert m.check() is CheckOutcome.SUSPECT
    assert m.titles() == []


def test_a_lasting_block_page_is_never_a_change_but_is_reported_once(m: Monitor) -> None:
    m.server.publish(URL, CAPTCHA)
    outcomes = {m.check() for _ in range(8)}
    assert outcomes == {CheckOutcome.SUSPECT}
    assert m.versions() == 1
    assert [t for t in m.titles() if "checks failing" in t] == [
        "Stripe · Backend Engineer, Core Technology: checks failing (3 in a row): suspect read,"
        " not believed yet: the page reads 'Checking your browser': a block, login or error page,"
        f" not the posting ({URL})"
    ]
    m.server.publish(URL, V1)
    m.check()
    assert [t for t in m.titles() if "working again" in t] == [
        "Stripe · Backend Engineer, Core Technology: checks working again after 8 failures"
    ]
    assert len(m.titles()) == 2


def test_a_page_that_lost_most_fields_counts_only_once_confirmed(m: Monitor) -> None:
    m.server.publish(URL, SHELL)
    assert m.check() is CheckOutcome.SUSPECT
    assert m.check() is CheckOutcome.SUSPECT
    assert m.titles() == []
    assert m.check() is CheckOutcome.CHANGED  # the same content a third time: believed
    assert m.versions() == 2
    assert len(m.titles()) == 1
    assert m.app.store.postings.get_posting(URL).consecutive_failures == 0


def test_a_flapping_shell_is_never_confirmed(m: Monitor) -> None:
    for _ in range(4):
        m.server.publish(URL, SHELL)
        assert m.check() is CheckOutcome.SUSPECT
        m.server.publish(URL, V1)
        m.check()
    assert m.titles() == []
    assert m.versions() == 1


def test_an_empty_200_is_an_error_not_a_change(m: Monitor) -> None:
    m.server.fail(
        URL, lambda _r: httpx.Response(200, text="", headers={"Content-Type": "text/html"})
    )
    assert m.check() is CheckOutcome.ERROR
    assert m.titles() == []


def _raise(error: type[Exception]) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        raise error("injected", request=request)  # type: ignore[call-arg]

    return respond


FAULTS: dict[str, Callable[[Monitor], None]] = {
    "503": lambda m: m.server.fail(URL, lambda _r: httpx.Response(503)),
    "500": lambda m: m.server.fail(URL, lambda _r: httpx.Response(500, text="oops")),
    "429": lambda m: m.server.fail(
        URL, lambda _r: httpx.Response(429, headers={"Retry-After": "5"})
    ),
    "timeout": lambda m: m.server.fail(URL, _raise(httpx.ReadTimeout)),
    "reset": lambda m: m.server.fail(URL, _raise(httpx.RemoteProtocolError)),
    "dns": lambda m: m.server.fail(URL, _raise(httpx.ConnectError)),
    "empty": lambda m: m.server.fail(
        URL, lambda _r: httpx.Response(200, text="", headers={"Content-Type": "text/html"})
    ),
    "captcha": lambda m: m.server.fail(
        URL, lambda _r: httpx.Response(200, text=CAPTCHA, headers={"Content-Type": "text/html"})
    ),
    "login": lambda m: m.server.fail(
        URL, lambda _r: httpx.Response(200, text=LOGIN, headers={"Content-Type": "text/html"})
    ),
    "shell": lambda m: m.server.fail(
        URL, lambda _r: httpx.Response(200, text=SHELL, headers={"Content-Type": "text/html"})
    ),
    "json": lambda m: m.server.fail(
        URL, lambda _r: httpx.Response(200, text="{}", headers={"Content-Type": "application/json"})
    ),
}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_many_rounds_of_faults_give_no_false_alert_and_every_change_once(
    db_url: str, seed: int
) -> None:
    """Rounds of real edits, each followed by a random run of faults (never more
    than two in a row, so no fault lasts long enough to be believed or reported)."""
    rng = random.Random(seed)
    m = Monitor(db_url)
    current = V1
    m.server.publish(URL, current)
    m.check()
    changes = 0
    for round_ in range(12):
        for _ in range(rng.randint(0, 2)):
            FAULTS[rng.choice(sorted(FAULTS))](m)
            m.check()
        if rng.random() < 0.5:
            current = pay(150_000 + 1_000 * round_, 280_000 + 2_000 * round_)
            changes += 1
        m.server.publish(URL, current)
        m.check()
    pay_alerts = [t for t in m.titles() if "checks" not in t]
    assert len(pay_alerts) == changes
    assert len(set(m.app.store.outbox.alerts(status="sent"))) == len(m.titles())
    assert [t for t in m.titles() if "checks" in t] == []
    assert m.versions() == changes + 1
    asyncio.run(m.app.aclose())
