"""A running check loop against real local servers that play faults.

Three watches, each served by its own ``FaultServer`` on 127.0.0.1 and reached by
name through a fake DNS: a posting over https (httpcore), a posting over plain
http (aiohttp) and a Greenhouse board (https, the real source, its API host
pointed at a local port). Round after round, each server plays a few faults
(5xx, 429, timeouts, resets, truncated bodies, empty 200s, bodies over the size
limit plain or gzipped, captcha and login pages, zero-job boards, untrusted
certificates, DNS failures) and some rounds
change the content for real. The loop must alert every real change exactly once,
nothing else, and record every fault on its posting.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from sqlalchemy import select

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.engines.local import LocalEngine
from monitor.store.tables import check_log, postings
from monitor.testing import FakeDns, RecordingNotifier
from tests.acceptance.test_daemon import wait_until
from tests.conftest import SEEDS, seed_text
from tests.peers import FaultServer

pytestmark = pytest.mark.slow
ROUNDS = 16
COMMON_FAULTS = (
    *("500", "502", "503", "429", "timeout", "reset", "truncated", "empty", "dns"),
    *("huge", "gzip-bomb"),
)
SEEN_AS = {  # how each fault reads in the check log (any of these words)
    "500": ("HTTP 500",),
    "502": ("HTTP 502",),
    "503": ("HTTP 503",),
    "429": ("HTTP 429",),
    "timeout": ("timed out",),
    "reset": ("Connection reset by peer",),
    "truncated": ("the server closed the connection mid-response",),
    "empty": ("empty response body",),
    "captcha": ("a block, login or error page", "unsupported content type 'text/html'"),
    "login": ("the page reads 'Sign in'",),
    "no-jobs": ("the board lists no postings at all",),
    "tls": ("CERTIFICATE_VERIFY_FAILED",),
    "dns": ("cannot resolve",),
    "huge": ("larger than",),
    "gzip-bomb": ("larger than",),
}


@dataclass
class Target:
    """One watched thing, its server, and what it has been through."""

    name: str
    watch_url: str
    host: str
    path: str
    server: FaultServer
    faults: tuple[str, ...]
    render: Callable[[int], str]
    content_type: str
    alert_marker: Callable[[int], str]
    """Text in the title of the alert a real change to version n sends."""
    version: int = 0
    played: list[str] = field(default_factory=list)

    def publish(self) -> str:
        return self.server.publish(self.path, self.render(self.version), self.content_type)


def stripe_page(version: int) -> str:
    page = seed_text("stripe-backend-engineer.html")
    pay = f"${155_700 + 1_000 * version:,} - ${285_600 + 2_000 * version:,}"
    return page.replace("$155,700 - $285,600", pay)


def acme_page(version: int) -> str:
    page = seed_text("acme-data-analyst.html")
    return page.replace("€55.000 – €70.000", f"€{55 + version}.000 – €{70 + version}.000")


def board(version: int) -> str:
    """The recorded board, plus one new job for each version after the first."""
    data: dict[str, Any] = json.loads((SEEDS / "greenhouse" / "board-1.json").read_text())
    template = data["jobs"][0]
    for n in range(1, version + 1):
        job = copy.deepcopy(template)
        job["id"] = 900_000 + n
        job["title"] = f"Fault Round {n} Engineer"
        job["absolute_url"] = f"https://job-boards.greenhouse.io/northwind/jobs/{900_000 + n}"
        data["jobs"].append(job)
    return json.dumps(data)


def tls_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture
def targets() -> Iterator[tuple[list[Target], FakeDns, trustme.CA]]:
    ca, stranger = trustme.CA(), trustme.CA()
    https_post = FaultServer(
        tls=tls_context(ca, "careers.test"), untrusted_tls=tls_context(stranger, "careers.test")
    )
    plain_post = FaultServer()
    api = "boards-api.greenhouse.io"
    board_api = FaultServer(tls=tls_context(ca, api), untrusted_tls=tls_context(stranger, api))
    with https_post, plain_post, board_api:
        dns = FakeDns()
        dns.add("careers.test", 443, ("127.0.0.1", https_post.port))
        dns.add("jobs.test", plain_post.port, ("127.0.0.1", plain_post.port))
        dns.add(api, 443, ("127.0.0.1", board_api.port))
        html = "text/html; charset=utf-8"
        yield (
            [
                Target(
                    "https posting",
                    "https://careers.test/jobs/backend-engineer",
                    "careers.test",
                    "/jobs/backend-engineer",
                    https_post,
                    (*COMMON_FAULTS, "captcha", "login", "tls"),
                    stripe_page,
                    html,
                    lambda n: f"→ {155_700 + 1_000 * n:,}–{285_600 + 2_000 * n:,} ",
                ),
                Target(
                    "http posting",
                    f"http://jobs.test:{plain_post.port}/jobs/data-analyst",
                    "jobs.test",
                    "/jobs/data-analyst",
                    plain_post,
                    (*COMMON_FAULTS, "captcha", "login"),
                    acme_page,
                    html,
                    lambda n: f"→ {55 + n},000–{70 + n},000 ",
                ),
                Target(
                    "board",
                    "https://boards.greenhouse.io/northwind",
                    api,
                    "/v1/boards/northwind/jobs",
                    board_api,
                    (*COMMON_FAULTS, "captcha", "no-jobs", "tls"),
                    board,
                    "application/json",
                    lambda n: f"Fault Round {n} Engineer: new posting",
                ),
            ],
            dns,
            ca,
        )


class RunningLoop:
    """The daemon's engine on its own thread, in real time."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            await LocalEngine(self._app).run(self._stop)
        finally:
            await self._app.aclose()

    def __enter__(self) -> RunningLoop:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the loop did not stop"


def build_app(db_url: str, ca: trustme.CA, tmp_path: Path, watches: list[str], dns: FakeDns) -> App:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    config = MonitorConfig.model_validate(
        {
            "database": {"url": db_url},
            "watches": [{"url": url, "interval": "1s"} for url in watches],
            "http": {
                "timeout": 1,
                "per_host_rate": 0,
                "allowed_networks": ["127.0.0.1/32"],
                "ca_bundle": str(bundle),
            },
            "scheduler": {"dispatch_every": 0.1, "deliver_every": 0.1, "jitter": 0},
        }
    )
    app = App(config, notifier=RecordingNotifier(), resolver=dns)
    app.prepare()
    return app


def play_round(target: Target, dns: FakeDns, rng: random.Random, deck: list[str]) -> None:
    """Queue up to two faults (never more, so none lasts long enough to be believed
    or reported), then maybe change the content for real."""
    for _ in range(rng.choice((0, 1, 1, 2, 2))):
        if not deck:
            deck.extend(rng.sample(target.faults, len(target.faults)))
        fault = deck.pop()
        target.played.append(fault)
        if fault == "dns":
            dns.fail_next(target.host)
        else:
            target.server.play(fault)
    if rng.random() < 0.5:
        target.version += 1
        target.publish()


def round_over(watched: list[Target], dns: FakeDns, marks: dict[str, tuple[str, int]]) -> bool:
    return (
        dns.pending_failures() == 0
        and all(t.server.pending() == 0 for t in watched)
        and all(t.server.served[(t.path, marks[t.name][0])] > marks[t.name][1] for t in watched)
    )


def errors_recorded(app: App, url: str) -> list[tuple[str, str]]:
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(check_log.c.outcome, check_log.c.error)
            .join(postings, postings.c.id == check_log.c.posting_id)
            .where(postings.c.url == url, check_log.c.error.is_not(None))
        )
        return [(row.outcome, row.error) for row in rows]


def assert_stored_and_recorded(app: App, target: Target) -> None:
    """Every version stored once, and every fault played on the target in its check log."""
    if target.name == "board":  # a board keeps no versions; its members do
        board_id = app.store.postings.get_posting(target.watch_url).id
        assert len(app.store.postings.members_of(board_id)) == 3 + target.version
    else:
        assert len(app.store.views.history(target.watch_url).versions) == target.version + 1
    recorded = " | ".join(error for _outcome, error in errors_recorded(app, target.watch_url))
    for fault in set(target.played):
        if fault == "reset" and target.watch_url.startswith("http:"):
            continue  # aiohttp sends a GET again after a reset (RFC 9112 allows it)
        assert any(words in recorded for words in SEEN_AS[fault]), (
            f"{target.name}: {fault} not recorded: {recorded}"
        )


def test_faults_between_real_changes_give_every_change_once_and_nothing_else(
    targets: tuple[list[Target], FakeDns, trustme.CA], db_url: str, tmp_path: Path
) -> None:
    watched, dns, ca = targets
    rng = random.Random(20261124)
    decks: dict[str, list[str]] = {t.name: [] for t in watched}
    for target in watched:
        target.publish()
    app = build_app(db_url, ca, tmp_path, [t.watch_url for t in watched], dns)
    notifier = app.notifier
    assert isinstance(notifier, RecordingNotifier)
    with RunningLoop(app):
        for target in watched:  # the first version is the baseline: no alert
            etag = target.server.etag(target.path)
            wait_until(lambda t=target, e=etag: t.server.served[(t.path, e)] > 0)
        for _round in range(ROUNDS):
            marks = {}
            for target in watched:
                play_round(target, dns, rng, decks[target.name])
                etag = target.server.etag(target.path)
                marks[target.name] = (etag, target.server.served[(target.path, etag)])
            # The round is over when every fault was played and each server has since
            # served its current content (a check saw it).
            wait_until(lambda marks=marks: round_over(watched, dns, marks), timeout=60)
        expected = sum(t.version for t in watched)
        wait_until(lambda: len(notifier.sent) >= expected, timeout=60)
        time.sleep(2)  # a late false alert would show up here
    titles = [alert.title for _channel, alert in notifier.sent]
    report = "\n".join(titles)
    for target in watched:
        for n in range(1, target.version + 1):
            marker = target.alert_marker(n)
            assert sum(marker in t for t in titles) == 1, (
                f"{target.name} v{n} ({marker}):\n{report}"
            )
    assert len(titles) == expected, f"alerts beyond the real changes:\n{report}"
    assert not [t for t in titles if "checks" in t], report
    try:  # the loop closed the app; these reads open the pool again
        for target in watched:
            assert_stored_and_recorded(app, target)
    finally:
        app.engine.dispose()
    played = {fault for t in watched for fault in t.played}
    assert played >= set(SEEN_AS), f"faults never played: {set(SEEN_AS) - played}"
