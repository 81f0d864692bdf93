"""The dashboard's access rules and hostile input, without a browser: what a signed-in
session, a feed token, a proxy's https and odd numbers or URLs get (security review 3)."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from monitor.app import App
from monitor.config import MonitorConfig, WebConfig
from monitor.demo import FIRST_VERSION
from monitor.engines.oneshot import check_all
from monitor.web.app import close_web_app, create_web_app
from monitor.web.security import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, Throttle
from tests.integration.test_web import TOKEN, Site, _csrf, _seed, _site
from tests.peers import WebhookReceiver, webhook_receiver

pytestmark = pytest.mark.anyio
FEED_TOKEN = "a-read-only-feed-token"
CREDENTIALED = "https://bob:UrlSecretPw@jobs.example.com/careers/with-credentials"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as hook:
        yield hook


@pytest.fixture
async def site(tmp_path: Path, db_url: str, receiver: WebhookReceiver) -> AsyncIterator[Site]:
    async for made in _site(tmp_path, db_url, receiver):
        yield made


async def test_credentials_in_a_watched_url_are_masked_in_the_api_and_exports(
    tmp_path: Path, db_url: str, receiver: WebhookReceiver
) -> None:
    async for site in _site(tmp_path, db_url, receiver):
        site.pages.publish(CREDENTIALED, _seed(FIRST_VERSION))
        site.app.watches.add(CREDENTIALED, interval=timedelta(hours=1))
        await check_all(site.app)
        for path in (
            "/api/v1/watches",
            "/api/v1/postings",
            "/api/v1/changes",
            "/api/v1/postings.csv",
            "/api/v1/versions.jsonl",
        ):
            answer = await site.client.get(path)
            assert answer.status_code == 200, path
            assert "UrlSecretPw" not in answer.text, path
        listed = (await site.client.get("/api/v1/watches")).json()["items"]
        assert "https://bob:***@jobs.example.com/careers/with-credentials" in {
            w["url"] for w in listed
        }


HUGE = str(2**63)
HUGE_CURSOR = "djE6OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk"  # v1: and 26 nines


async def test_numbers_beyond_64_bits_and_long_searches_are_invalid_input(site: Site) -> None:
    reads = [
        f"/api/v1/watches/{HUGE}",
        f"/api/v1/postings/{HUGE}",
        f"/api/v1/postings/{HUGE}/versions",
        f"/api/v1/watches?page={HUGE}",
        f"/api/v1/postings?watch={HUGE}",
        f"/api/v1/postings?board={HUGE}",
        f"/api/v1/changes?posting={HUGE}",
        f"/api/v1/changes?cursor={HUGE_CURSOR}",
        f"/api/v1/alerts?cursor={HUGE_CURSOR}",
        f"/postings/{HUGE}",
        f"/postings/{site.posting_id}/versions/{HUGE}",
        f"/watches?page={HUGE}",
        f"/changes?watch={HUGE}&before={HUGE}",
        f"/alerts?before={HUGE}",
        f"/feeds/watches/{HUGE}.atom",
        f"/feeds/postings/{HUGE}.atom",
    ]
    for path in reads:
        answer = await site.client.get(path)
        assert answer.status_code in (200, 404, 422), path
    csrf = await _csrf(site.client)
    for path in (f"/api/v1/watches/{HUGE}/pause", f"/api/v1/alerts/{HUGE}/retry"):
        assert (await site.client.post(path)).status_code in (404, 422), path
    assert (await site.client.delete(f"/api/v1/watches/{HUGE}")).status_code in (404, 422)
    form = await site.client.post(f"/watches/{HUGE}/pause", data={CSRF_FIELD: csrf})
    assert form.status_code in (404, 422)
    for path in ("/api/v1/watches", "/api/v1/postings", "/watches"):
        answer = await site.client.get(
            path, params={"q": "x%_" * 200}
        )  # over 500, within the URL limit
        assert answer.status_code == 422, path
        assert "500 characters" in answer.text


# -- sign-in: password length, throttling, sessions, feed token, https ---------------


def test_a_password_needs_16_characters_like_a_token(anyio_backend: str) -> None:
    with pytest.raises(ValidationError, match="password: use at least 16"):
        WebConfig(username="ann", password=SecretStr("a"))
    with pytest.raises(ValidationError, match="feed_token: use at least 16"):
        WebConfig(token=SecretStr(TOKEN), feed_token=SecretStr("short"))
    WebConfig(username="ann", password=SecretStr("p" * 16))


def test_throttle_doubles_the_wait_after_the_free_failures(anyio_backend: str) -> None:
    now = [1000.0]
    throttle = Throttle(free=2, longest=8.0, size=2, clock=lambda: now[0])
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.wait("a") == 0.0
    waits = []
    for _ in range(6):
        throttle.failed("a")
        waits.append(throttle.wait("a"))
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert throttle.wait("b") == 0.0
    now[0] += 8.0
    assert throttle.wait("a") == 0.0
    throttle.failed("b")
    throttle.failed("c")  # three clients, room for two: the oldest, a, is dropped
    throttle.failed("a")
    assert throttle.wait("a") == 0.0
    throttle.succeeded("a")


async def test_wrong_credentials_from_one_client_make_it_wait(
    tmp_path: Path, db_url: str, receiver: WebhookReceiver
) -> None:
    async for site in _site(tmp_path, db_url, receiver, token=TOKEN):
        wrong = {"Authorization": "Bearer wrong-token-of-some-length"}
        for _ in range(6):
            assert (await site.client.get("/api/v1/watches", headers=wrong)).status_code == 401
        right = {"Authorization": f"Bearer {TOKEN}"}
        waiting = await site.client.get("/api/v1/watches", headers=right)
        assert waiting.status_code == 429
        assert int(waiting.headers["retry-after"]) >= 1
        csrf = await _csrf(site.client)
        form = {CSRF_FIELD: csrf, "token": TOKEN, "next": "/"}
        assert (await site.client.post("/login", data=form)).status_code == 429


async def test_signing_out_ends_the_session_for_a_copy_of_its_cookie_too(
    tmp_path: Path, db_url: str, receiver: WebhookReceiver
) -> None:
    async for site in _site(tmp_path, db_url, receiver, token=TOKEN):
        csrf = await _csrf(site.client)
        signed = await site.client.post(
            "/login", data={CSRF_FIELD: csrf, "token": TOKEN, "next": "/watches"}
        )
        assert signed.status_code == 303
        copied = site.client.cookies.get(SESSION_COOKIE)
        assert copied
        assert (await site.client.get("/watches")).status_code == 200
        out = await site.client.post("/logout", data={CSRF_FIELD: csrf})
        assert out.status_code == 303
        site.client.cookies.set(SESSION_COOKIE, copied)
        replayed = await site.client.get("/watches")
        assert replayed.status_code == 303
        assert replayed.headers["location"].startswith("/login")


async def test_feeds_take_the_read_only_feed_token_and_not_the_api_token(
    tmp_path: Path, db_url: str, receiver: WebhookReceiver
) -> None:
    async for site in _site(tmp_path, db_url, receiver, token=TOKEN, feed_token=FEED_TOKEN):
        client = site.client
        feed = await client.get("/feeds/changes.atom", params={"token": FEED_TOKEN})
        assert feed.status_code == 200
        posting = f"/feeds/postings/{site.posting_id}.atom"
        assert (await client.get(posting, params={"token": FEED_TOKEN})).status_code == 200
        old = await client.get("/feeds/changes.atom", params={"token": TOKEN})
        assert old.status_code == 401
        assert "web.feed_token" in old.json()["detail"]
        bearer = {"Authorization": f"Bearer {FEED_TOKEN}"}
        assert (await client.get("/api/v1/watches", headers=bearer)).status_code == 401
        assert (await client.get("/watches", params={"token": FEED_TOKEN})).status_code == 303
        listed = await client.get("/api/v1/watches", params={"token": FEED_TOKEN})
        assert listed.status_code == 401


async def test_cookies_are_secure_and_hsts_sent_when_reached_over_https(
    tmp_path: Path, db_url: str, receiver: WebhookReceiver
) -> None:
    async for site in _site(tmp_path, db_url, receiver, token=TOKEN):
        plain = await site.client.get("/login")
        assert "strict-transport-security" not in plain.headers
        assert "secure" not in plain.headers["set-cookie"].lower()
    async for site in _site(
        tmp_path, db_url, receiver, token=TOKEN, public_url="https://monitor.example.com"
    ):
        # Plain http behind a proxy that does not say https: public_url decides.
        page = await site.client.get("/login")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "; secure" in page.headers["set-cookie"].lower()
        csrf = page.cookies[CSRF_COOKIE]
        site.client.cookies.set(CSRF_COOKIE, csrf)  # the test client keeps Secure ones back
        signed = await site.client.post(
            "/login", data={CSRF_FIELD: csrf, "token": TOKEN, "next": "/"}
        )
        session = [c for c in signed.headers.get_list("set-cookie") if SESSION_COOKIE in c]
        assert "; secure" in session[0].lower()


# -- errors in words ------------------------------------------------------------------


async def test_a_refused_address_is_named_in_words_not_by_what_the_name_resolves_to(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="monitor.web.context")
    config = MonitorConfig(data_dir=tmp_path, database={"url": db_url})  # type: ignore[arg-type]
    app = App(config, console=io.StringIO())
    app.prepare()
    web = create_web_app(app)  # the real fetcher and its address guard; no allowed networks
    try:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            csrf = await _csrf(client)
            url = "http://localhost:9/internal"
            shown = await client.post(
                "/watches/new", data={"url": url, "action": "preview", CSRF_FIELD: csrf}
            )
            assert shown.status_code == 422
            assert "not a public address" in shown.text
            for leak in ("127.0.0.1", "::1", "resolves to", "loopback"):
                assert leak not in shown.text, leak
            assert any("resolves to" in r.getMessage() for r in caplog.records)
    finally:
        close_web_app(web)
        await app.aclose()


async def test_an_unexpected_error_answers_a_problem_with_the_security_headers(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = create_web_app(site.app)
    try:

        def broken(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("a bug")

        monkeypatch.setattr(web.state.dashboard.views, "watches", broken)
        transport = httpx.ASGITransport(app=web, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            answer = await client.get("/api/v1/watches")
        assert answer.status_code == 500
        assert answer.headers["content-type"] == "application/problem+json"
        assert "a bug" not in answer.text
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" in answer.headers
    finally:
        close_web_app(web)


# -- every write route, taken from the app's own table: a new one cannot slip by ----------


OTHER_ORIGINS = (
    "https://evil.example",
    "null",  # a sandboxed frame or a file
    "http://127.0.0.1:8081",  # another port is another site
    "http://127.0.0.1.evil.example",
    "http://evil.example@127.0.0.1.evil.example",
    "http://localhost",  # the same machine by another name is another origin
)


def _write_routes() -> list[tuple[str, str]]:
    """(method, path) of every route that writes, from the routers the app includes
    (monitor.web.app), ids filled with the seeded ones."""
    from starlette.routing import Route

    from monitor.web import api, feeds_routes
    from monitor.web.app import API_PREFIX
    from monitor.web.pages import alerts, changes, health, postings, signin, watches

    pages = (signin, watches, postings, changes, alerts, health)  # monitor.web.pages
    from monitor.web.pages import router as every_page

    assert len(every_page.routes) == len(pages)  # each page module's router, included once
    routers = [(API_PREFIX, api.router), ("", feeds_routes.router)]
    found = []
    for prefix, router in routers + [("", page.router) for page in pages]:
        for route in router.routes:
            if not isinstance(route, Route):
                continue
            for method in sorted((route.methods or set()) - {"GET", "HEAD"}):
                path = (
                    (prefix + route.path)
                    .replace("{watch_id}", "1")
                    .replace("{alert_id}", "1")
                    .replace("{name}", "hook")
                    .replace("{action}", "pause")
                )
                found.append((method, path))
    return found


async def test_every_write_route_refuses_other_origins_and_forms_without_csrf(
    site: Site,
) -> None:
    routes = _write_routes()
    assert ("PATCH", "/api/v1/watches/1") in routes  # the table reads the app's routes
    assert ("POST", "/watches/bulk") in routes
    assert {m for m, _ in routes} >= {"POST", "PATCH", "DELETE"}
    before = (await site.client.get("/api/v1/watches")).json()
    unrouted = [("PUT", p) for p in sorted({p for _, p in routes})]  # refused before routing
    for method, path in routes + unrouted:
        for origin in OTHER_ORIGINS:
            cross = await site.client.request(method, path, headers={"Origin": origin}, json={})
            assert cross.status_code == 403, (method, path, origin, cross.status_code)
    for method, path in routes:
        if not path.startswith("/api/") and path not in ("/login", "/logout"):
            bare = await site.client.request(method, path, data={"ids": "1", "action": "pause"})
            assert bare.status_code == 403, (method, path, bare.status_code)  # no CSRF token
    assert (await site.client.get("/api/v1/watches")).json() == before  # nothing changed


async def test_every_form_refuses_a_token_that_is_not_its_cookies(site: Site) -> None:
    """Not only a missing token: a wrong one, one of another browser, one with no cookie
    to match, and one that is only the cookie's beginning."""
    forms = [(m, p) for m, p in _write_routes() if not p.startswith("/api/") and p != "/logout"]
    assert len(forms) >= 5
    mine = await _csrf(site.client)
    theirs = ("y" if mine.startswith("x") else "x") + mine[1:]  # differs, whatever mine is
    before = (await site.client.get("/api/v1/watches")).json()
    for case, cookie, sent in (
        ("wrong token", mine, theirs),
        ("token cut short", mine, mine[:-1]),
        ("token and more", mine, mine + "x"),
        ("no cookie", None, mine),
        ("empty token", mine, ""),
    ):
        site.client.cookies.delete(CSRF_COOKIE)
        if cookie is not None:
            site.client.cookies.set(CSRF_COOKIE, cookie)
        for method, path in forms:
            form = {CSRF_FIELD: sent, "ids": "1", "action": "pause", "token": TOKEN, "url": ""}
            answer = await site.client.request(method, path, data=form)
            assert answer.status_code == 403, (case, method, path, answer.status_code)
    site.client.cookies.set(CSRF_COOKIE, mine)
    assert (await site.client.get("/api/v1/watches")).json() == before  # nothing changed


async def test_every_api_write_route_needs_the_token_when_one_is_set(
    tmp_path: Path, db_url: str, receiver: WebhookReceiver
) -> None:
    async for site in _site(tmp_path, db_url, receiver, token=TOKEN):
        routes = [(m, p) for m, p in _write_routes() if p.startswith("/api/")]
        assert len(routes) >= 6
        for method, path in routes:
            denied = await site.client.request(method, path, json={})
            assert denied.status_code == 401, (method, path, denied.status_code)
