"""The dashboard's access rules and hostile input, without a browser: what a signed-in
session, a feed token, a proxy's https and odd numbers or URLs get (security review 3)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.demo import FIRST_VERSION
from monitor.engines.oneshot import check_all
from monitor.web.security import CSRF_FIELD
from tests.integration.test_web import Site, _csrf, _seed, _site
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
        answer = await site.client.get(path, params={"q": "x%_" * 6_000})
        assert answer.status_code == 422, path
        assert "500 characters" in answer.text
