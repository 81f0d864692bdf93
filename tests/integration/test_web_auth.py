"""Every way in, tried with every way of being wrong: each sign-in scheme (HTTP Basic,
the signed session from the sign-in form, the API token as Bearer, the feed token)
with a wrong user, a wrong secret, both wrong, and near misses (a prefix, a longer
secret, another case, another scheme's secret). Each attempt comes from its own
client address, so the throttle never answers in the check's place."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from monitor.web.app import close_web_app, create_web_app
from monitor.web.security import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, Signer
from tests.integration.test_web import TOKEN, _site
from tests.peers import WebhookReceiver, webhook_receiver

pytestmark = pytest.mark.anyio
USER = "ann"
PASSWORD = "a-password-of-16-or-more"
FEED_TOKEN = "a-read-only-feed-token"
API = "/api/v1/watches"
FEED = "/feeds/changes.atom"
_ADDRESSES = (f"10.1.{n // 250}.{n % 250 + 1}" for n in count())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as hook:
        yield hook


@dataclass
class Door:
    web: FastAPI

    def client(self) -> httpx.AsyncClient:
        """A client from an address of its own (a fresh throttle count)."""
        transport = httpx.ASGITransport(app=self.web, client=(next(_ADDRESSES), 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        async with self.client() as client:
            return await client.get(path, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def door(tmp_path: Path, db_url: str, receiver: WebhookReceiver) -> AsyncIterator[Door]:
    settings = {"token": TOKEN, "username": USER, "password": PASSWORD, "feed_token": FEED_TOKEN}
    async for site in _site(tmp_path, db_url, receiver, **settings):
        web = create_web_app(site.app)
        try:
            yield Door(web)
        finally:
            close_web_app(web)


def _basic(user: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


BASIC_WRONG = {
    "wrong user": (USER + "x", PASSWORD),
    "user in another case": (USER.upper(), PASSWORD),
    "no user": ("", PASSWORD),
    "wrong password": (USER, PASSWORD + "x"),
    "password prefix": (USER, PASSWORD[:-1]),
    "no password": (USER, ""),
    "both wrong": ("bob", "another-password-16+"),
    "the token as password": (USER, TOKEN),
    "the password as user": (PASSWORD, USER),
}
TOKEN_WRONG = {
    "wrong token": "x" + TOKEN[1:],
    "token prefix": TOKEN[:-1],
    "token and more": TOKEN + "x",
    "token in another case": TOKEN.upper(),
    "the password": PASSWORD,
    "the feed token": FEED_TOKEN,
    "empty": "",
}
FEED_WRONG = {
    "wrong feed token": "x" + FEED_TOKEN[1:],
    "feed token prefix": FEED_TOKEN[:-1],
    "feed token and more": FEED_TOKEN + "x",
    "the API token": TOKEN,
    "the password": PASSWORD,
}


async def test_each_scheme_lets_in_with_its_own_secret(door: Door) -> None:
    assert (await door.get(API, headers=_basic(USER, PASSWORD))).status_code == 200
    assert (await door.get(API, headers=_bearer(TOKEN))).status_code == 200
    assert (await door.get(FEED, params={"token": FEED_TOKEN})).status_code == 200
    async with door.client() as client:
        assert await _sign_in(client, TOKEN) == 303
        assert (await client.get("/watches")).status_code == 200
        assert (await client.get(API)).status_code == 200
    assert (await door.get(API)).status_code == 401  # and nothing lets in without one


async def test_basic_refuses_a_wrong_user_a_wrong_password_and_both(door: Door) -> None:
    for case, (user, password) in BASIC_WRONG.items():
        for path in (API, "/watches", FEED):
            answer = await door.get(path, headers=_basic(user, password), follow_redirects=False)
            assert answer.status_code in (401, 303), (case, path)
            if answer.status_code == 303:
                assert answer.headers["location"].startswith("/login"), (case, path)


async def test_bearer_refuses_every_other_token(door: Door) -> None:
    for case, token in TOKEN_WRONG.items():
        for path in (API, FEED):
            answer = await door.get(path, headers=_bearer(token))
            assert answer.status_code == 401, (case, path)
            assert "items" not in answer.text


async def test_the_sign_in_form_refuses_every_other_token(door: Door) -> None:
    for case, token in TOKEN_WRONG.items():
        async with door.client() as client:
            assert await _sign_in(client, token) == 401, case
            assert SESSION_COOKIE not in client.cookies
            page = await client.get("/watches", follow_redirects=False)
            assert page.status_code == 303, case
            assert (await client.get(API)).status_code == 401, case


async def test_feeds_refuse_every_other_token(door: Door) -> None:
    for case, token in FEED_WRONG.items():
        answer = await door.get(FEED, params={"token": token})
        assert answer.status_code == 401, case
    for path in (API, "/watches", "/api/v1/changes.csv"):  # the feed token opens feeds only
        answer = await door.get(path, params={"token": FEED_TOKEN}, follow_redirects=False)
        assert answer.status_code in (401, 303), path


async def test_a_session_cookie_not_signed_by_us_or_altered_lets_no_one_in(door: Door) -> None:
    async with door.client() as client:
        assert await _sign_in(client, TOKEN) == 303
        real = client.cookies[SESSION_COOKIE]
    value, _, _mac = real.rpartition("|")
    forged = {
        "signed with another key": Signer(b"k" * 32).sign(value.rpartition("|")[0]),
        "altered id": real.replace("session:", "session:x", 1),
        "mac cut short": real[:-1],
        "no mac": value,
        "any text": "session:anything",
    }
    for case, cookie in forged.items():
        async with door.client() as client:
            client.cookies.set(SESSION_COOKIE, cookie)
            page = await client.get("/watches", follow_redirects=False)
            assert page.status_code == 303, case
            assert (await client.get(API)).status_code == 401, case


async def _sign_in(client: httpx.AsyncClient, token: str) -> int:
    await client.get("/login")
    csrf = client.cookies[CSRF_COOKIE]
    form = {CSRF_FIELD: csrf, "token": token, "next": "/watches"}
    return (await client.post("/login", data=form, follow_redirects=False)).status_code
