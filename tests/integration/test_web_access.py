"""The dashboard's access rules and hostile input, without a browser: what a signed-in
session, a feed token, a proxy's https and odd numbers or URLs get (security review 3)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.demo import FIRST_VERSION
from monitor.engines.oneshot import check_all
from tests.integration.test_web import _seed, _site
from tests.peers import WebhookReceiver, webhook_receiver

pytestmark = pytest.mark.anyio
CREDENTIALED = "https://bob:UrlSecretPw@jobs.example.com/careers/with-credentials"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as hook:
        yield hook


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
