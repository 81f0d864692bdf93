"""The dashboard, JSON API and feeds without a browser: schemas, pagination, filters,
sign-in, CSRF, escaping, feeds (parsed), exports (round-trip), JSON webhooks."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import feedparser
import httpx
import pytest
from markupsafe import escape
from pydantic import SecretStr, ValidationError

from monitor.app import App
from monitor.config import ChannelConfig, HttpConfig, MonitorConfig, WebConfig
from monitor.demo import FIRST_VERSION, REVISED_VERSION, seeds_dir
from monitor.engines.oneshot import check_all
from monitor.errors import ConfigError
from monitor.testing import FrozenClock, PageServer
from monitor.version import __version__
from monitor.web.app import close_web_app, create_web_app
from monitor.web.security import CSRF_COOKIE, CSRF_FIELD, check_exposure
from tests.peers import WebhookReceiver, webhook_receiver

POSTING = "https://jobs.example.com/careers/backend-engineer"
HOSTILE = "https://jobs.example.com/careers/hostile"
SECRET = "s3cr3t-webhook-token-123"
TOKEN = "an-api-token-of-enough-length"
SCRIPT = "<script>alert(1)</script>"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Site:
    app: App
    client: httpx.AsyncClient
    pages: PageServer
    clock: FrozenClock
    hook: WebhookReceiver
    posting_id: int


def _seed(name: str) -> str:
    return (seeds_dir() / name).read_text(encoding="utf-8")


def _hostile_page() -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": SCRIPT,
        "hiringOrganization": {"name": "Evil <img src=x onerror=alert(2)>"},
        "description": f"<h3>Requirements</h3><ul><li>{SCRIPT} in production</li></ul>",
        "jobLocation": {"address": {"addressLocality": "Berlin"}},
    }
    return (
        '<html><head><script type="application/ld+json">'
        + json.dumps(data).replace("</", "<\\/")
        + "</script></head><body></body></html>"
    )


def _config(tmp_path: Path, db_url: str, hook: WebhookReceiver, **web: Any) -> MonitorConfig:
    return MonitorConfig(
        data_dir=tmp_path,
        database={"url": db_url},  # type: ignore[arg-type]
        http=HttpConfig(allowed_networks=("127.0.0.1/32",)),
        channels=(
            ChannelConfig(name="console", url=SecretStr("console://"), tags=("default",)),
            ChannelConfig(
                name="hook",
                url=SecretStr(f"json://127.0.0.1:{hook.port}/hooks/{SECRET}?+X-Token={SECRET}"),
                format="json",
                tags=("default",),
            ),
        ),
        web=WebConfig(**web),
    )


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as hook:
        yield hook


async def _site(
    tmp_path: Path, db_url: str, hook: WebhookReceiver, **web: Any
) -> AsyncIterator[Site]:
    pages = PageServer()
    pages.publish(POSTING, _seed(FIRST_VERSION))
    clock = FrozenClock()
    app = App(
        _config(tmp_path, db_url, hook, **web),
        transport=pages.transport(),
        clock=clock,
        console=io.StringIO(),
    )
    app.prepare()
    try:
        record = app.watches.add(POSTING, interval=timedelta(hours=1))
        await check_all(app)
        clock.advance(timedelta(days=3))
        pages.publish(POSTING, _seed(REVISED_VERSION))
        await check_all(app)
        posting_id = app.store.postings.get_posting(POSTING).id
        assert record.id
        web = create_web_app(app, preview_transport=pages.transport())
        transport = httpx.ASGITransport(app=web)
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1"
            ) as client:
                yield Site(app, client, pages, clock, hook, posting_id)
        finally:
            close_web_app(web)
    finally:
        await app.aclose()


@pytest.fixture
async def site(tmp_path: Path, db_url: str, receiver: WebhookReceiver) -> AsyncIterator[Site]:
    async for made in _site(tmp_path, db_url, receiver):
        yield made


async def _csrf(client: httpx.AsyncClient) -> str:
    await client.get("/watches")
    token = client.cookies.get(CSRF_COOKIE)
    assert token
    return token


async def _preview(client: httpx.AsyncClient, url: str) -> httpx.Response:
    """The Add page's Preview of ``url``, as its form sends it."""
    csrf = await _csrf(client)
    return await client.post(
        "/watches/new", data={"url": url, "action": "preview", CSRF_FIELD: csrf}
    )


# -- the JSON API --------------------------------------------------------------------


async def test_watches_postings_versions_and_changes_carry_values(site: Site) -> None:
    watches = (await site.client.get("/api/v1/watches")).json()
    assert watches["total"] == 1
    (watch,) = watches["items"]
    assert watch["kind"] == "html"  # a page of its own, not a known board system
    assert watch["posting_id"] == site.posting_id
    assert watch["pay"][0] == {
        "min": 165000,
        "max": 300000,
        "currency": "USD",
        "period": "year",
        "label": "",
    }
    assert watch["remote"] == "remote"
    assert watch["last_changed_at"] is not None

    versions = (await site.client.get(f"/api/v1/postings/{site.posting_id}/versions")).json()
    assert [v["fields"]["pay"][0]["min"] for v in versions] == [155700, 165000]
    assert versions[0]["fields"]["remote"]["kind"] == "hybrid"

    changes = (await site.client.get("/api/v1/changes")).json()["items"]
    pay = next(c for c in changes if c["field"] == "salary")
    assert pay["percent"] == 6.0
    assert pay["version_id"] == versions[1]["id"]
    assert {c["field"] for c in changes} >= {"salary", "remote", "requirements.minimum"}


async def test_responses_match_the_openapi_document(site: Site) -> None:
    document = (await site.client.get("/api/v1/openapi.json")).json()
    assert document["info"]["version"] == "1"
    schemas = document["components"]["schemas"]
    for path, schema in (
        ("/api/v1/watches", "WatchPage"),
        ("/api/v1/changes", "ChangePage"),
        ("/api/v1/postings", "PostingPage"),
        ("/api/v1/alerts", "AlertPage"),
        ("/api/v1/health", "Health"),
    ):
        assert path in document["paths"]
        body = (await site.client.get(path)).json()
        assert set(body) == set(schemas[schema]["properties"]), path
    item = (await site.client.get("/api/v1/changes")).json()["items"][0]
    assert set(item) == set(schemas["ChangeOut"]["properties"])
    not_found = document["paths"]["/api/v1/watches/{watch_id}"]["get"]["responses"]["404"]
    assert not_found["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert set(schemas["Problem"]["properties"]) >= {"type", "title", "status", "detail"}
    missing = (await site.client.get("/api/v1/watches/999")).json()
    assert set(missing) <= set(schemas["Problem"]["properties"])
    docs = await site.client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "/api/v1/changes" in docs.text


async def test_changes_page_by_cursor_and_filter(site: Site) -> None:
    every = (await site.client.get("/api/v1/changes", params={"limit": 200})).json()["items"]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await site.client.get("/api/v1/changes", params=params)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["id"] for c in every]
    assert seen == sorted(seen, reverse=True)

    pay = (await site.client.get("/api/v1/changes", params={"field": "pay"})).json()["items"]
    assert {c["field"] for c in pay} == {"salary"}
    reqs = (await site.client.get("/api/v1/changes", params={"field": "requirements"})).json()
    assert {c["field"] for c in reqs["items"]} <= {"requirements.minimum", "requirements.preferred"}
    assert reqs["items"]
    other = (await site.client.get("/api/v1/changes", params={"company": "Nobody"})).json()
    assert other["items"] == []

    bad = await site.client.get("/api/v1/changes", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["status"] == 422
    assert "cursor" in bad.json()["detail"]


async def test_watches_page_by_number_with_search_and_sort(site: Site) -> None:
    for n in range(3):
        url = f"https://jobs.example.com/careers/role-{n}"
        site.pages.publish(url, _seed(FIRST_VERSION))
        site.app.watches.add(url, interval=timedelta(hours=1))
    first = (await site.client.get("/api/v1/watches", params={"per_page": 3})).json()
    assert (first["total"], first["pages"], len(first["items"])) == (4, 2, 3)
    second = (await site.client.get("/api/v1/watches", params={"per_page": 3, "page": 2})).json()
    assert len(second["items"]) == 1
    found = (await site.client.get("/api/v1/watches", params={"q": "ROLE-1"})).json()
    assert [w["url"] for w in found["items"]] == ["https://jobs.example.com/careers/role-1"]
    assert found["total"] == 1
    # A search's total is counted with its page: right on every page, past the end
    # and with no match at all.
    for number, shown in ((1, 2), (2, 1), (3, 0)):
        params = {"q": "careers/role", "per_page": 2, "page": number}
        searched = (await site.client.get("/api/v1/watches", params=params)).json()
        assert (searched["total"], len(searched["items"])) == (3, shown), number
    nothing = (await site.client.get("/api/v1/watches", params={"q": "no such role"})).json()
    assert (nothing["total"], nothing["items"]) == (0, [])
    by_id = (
        await site.client.get("/api/v1/watches", params={"sort": "id", "order": "desc"})
    ).json()
    ids = [w["id"] for w in by_id["items"]]
    assert ids == sorted(ids, reverse=True)
    # One at a time, sorted by last change: every watch once, in order, each with its
    # own unseen mark (only the first watch's posting changed).
    walked = []
    for number in range(1, 5):
        params = {"per_page": 1, "page": number, "sort": "last_change", "order": "desc"}
        walked += (await site.client.get("/api/v1/watches", params=params)).json()["items"]
    assert [w["id"] for w in walked] == sorted(ids)
    assert [w["unseen"] for w in walked] == [True, False, False, False]
    bad = await site.client.get("/api/v1/watches", params={"sort": "nonsense"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


async def test_create_pause_resume_and_delete_a_watch(site: Site) -> None:
    url = "https://jobs.example.com/careers/new-role"
    site.pages.publish(url, _seed(FIRST_VERSION))
    created = await site.client.post("/api/v1/watches", json={"url": url, "interval": "6h"})
    assert created.status_code == 201, created.text
    watch = created.json()
    assert (watch["url"], watch["interval_seconds"], watch["paused"]) == (url, 21600, False)

    paused = (await site.client.post(f"/api/v1/watches/{watch['id']}/pause")).json()
    assert paused["paused"] is True
    claimed = site.app.store.leases.claim_all(
        now=site.clock.now(), limit=100, lease=timedelta(minutes=5)
    )
    assert watch["posting_id"] not in {s.id for s in claimed}  # a paused watch is not checked
    site.app.store.leases.release_leases([s.id for s in claimed])
    listed = (await site.client.get("/api/v1/watches", params={"status": "paused"})).json()
    assert [w["id"] for w in listed["items"]] == [watch["id"]]

    resumed = (await site.client.post(f"/api/v1/watches/{watch['id']}/resume")).json()
    assert resumed["paused"] is False
    assert resumed["next_check_at"] <= site.clock.now().isoformat().replace("+00:00", "Z")

    assert (await site.client.delete(f"/api/v1/watches/{watch['id']}")).status_code == 204
    gone = await site.client.get(f"/api/v1/watches/{watch['id']}")
    assert gone.status_code == 404
    assert gone.json()["title"] == "Not found"

    refused = await site.client.post("/api/v1/watches", json={"url": "ftp://example.com/x"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    bad_interval = await site.client.post("/api/v1/watches", json={"url": url, "interval": "soon"})
    assert bad_interval.status_code == 422
    assert "interval" in bad_interval.json()["detail"]


async def test_retry_only_failed_alerts(site: Site) -> None:
    site.hook.status = 500
    url = "https://jobs.example.com/careers/retry"
    site.pages.publish(url, _seed(FIRST_VERSION))
    site.app.watches.add(url, interval=timedelta(hours=1))
    await check_all(site.app)
    site.pages.publish(url, _seed(REVISED_VERSION))
    await check_all(site.app)
    site.app.store.outbox.retry_alerts(now=site.clock.now())  # nothing failed yet
    with site.app.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE outbox SET status = 'failed', last_error = 'HTTP 500'")
    alerts = (await site.client.get("/api/v1/alerts", params={"status": "failed"})).json()
    alert_id = alerts["items"][0]["id"]
    assert alerts["items"][0]["last_error"] == "HTTP 500"
    retried = await site.client.post(f"/api/v1/alerts/{alert_id}/retry")
    assert retried.json() == {"retried": 1}
    again = await site.client.post(f"/api/v1/alerts/{alert_id}/retry")
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


# -- sign-in, CSRF, exposure ---------------------------------------------------------


async def test_token_guards_api_feeds_and_pages(
    tmp_path: Path, db_url: str, receiver: WebhookReceiver
) -> None:
    async for site in _site(tmp_path, db_url, receiver, token=TOKEN):
        client = site.client
        denied = await client.get("/api/v1/watches")
        assert denied.status_code == 401
        assert "Bearer" in denied.headers["www-authenticate"]
        assert denied.headers["content-type"] == "application/problem+json"
        wrong = await client.get("/api/v1/watches", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = await client.get("/api/v1/watches", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert (await client.get("/feeds/changes.atom")).status_code == 401
        feed = await client.get("/feeds/changes.atom", params={"token": TOKEN})
        assert feed.status_code == 401  # the API token is no feed token (web.feed_token)
        assert (await client.get("/api/v1/watches", params={"token": TOKEN})).status_code == 401

        page = await client.get("/watches")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=/watches"
        csrf = await _csrf(client)
        failed = await client.post("/login", data={CSRF_FIELD: csrf, "token": "x", "next": "/"})
        assert failed.status_code == 401
        signed = await client.post(
            "/login", data={CSRF_FIELD: csrf, "token": TOKEN, "next": "/watches"}
        )
        assert signed.status_code == 303
        assert (await client.get("/watches")).status_code == 200
        assert (await client.get("/static/app.css")).status_code == 200


async def test_basic_auth_for_a_user_and_password(
    tmp_path: Path, db_url: str, receiver: WebhookReceiver
) -> None:
    async for site in _site(
        tmp_path, db_url, receiver, username="ann", password=SecretStr("correct horse battery")
    ):
        denied = await site.client.get("/watches")
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"].startswith("Basic")
        wrong = await site.client.get("/watches", auth=("ann", "wrong"))
        assert wrong.status_code == 401
        assert (
            await site.client.get("/watches", auth=("ann", "correct horse battery"))
        ).status_code == 200


async def test_forms_need_their_csrf_token_and_cross_site_writes_are_refused(site: Site) -> None:
    url = "https://jobs.example.com/careers/csrf"
    site.pages.publish(url, _seed(FIRST_VERSION))
    form = {"url": url, "interval": "1h", "action": "save"}
    missing = await site.client.post("/watches/new", data=form)
    assert missing.status_code == 403
    csrf = await _csrf(site.client)
    forged = await site.client.post("/watches/new", data={**form, CSRF_FIELD: "forged"})
    assert forged.status_code == 403
    assert (await site.client.get("/api/v1/watches")).json()["total"] == 1
    cross = await site.client.post(
        "/watches/new",
        data={**form, CSRF_FIELD: csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    api_cross = await site.client.post(
        "/api/v1/watches", json={"url": url}, headers={"Origin": "https://evil.example"}
    )
    assert api_cross.status_code == 403
    as_form = await site.client.post("/api/v1/watches", data={"url": url})
    assert as_form.status_code == 422  # the API takes JSON only: a form cannot write
    saved = await site.client.post("/watches/new", data={**form, CSRF_FIELD: csrf})
    assert saved.status_code == 303
    assert (await site.client.get("/api/v1/watches")).json()["total"] == 2


async def test_preview_shows_what_would_be_read_and_stores_nothing(site: Site) -> None:
    url = "https://jobs.example.com/careers/preview"
    site.pages.publish(url, _seed(FIRST_VERSION))
    shown = await _preview(site.client, url)
    assert shown.status_code == 200
    assert 'id="preview"' in shown.text
    assert "155,700" in shown.text
    assert (await site.client.get("/api/v1/watches")).json()["total"] == 1
    broken = await _preview(site.client, "https://jobs.example.com/missing")
    assert broken.status_code in (422, 502) or "404" in broken.text
    assert 'class="error"' in broken.text


async def test_a_site_known_by_its_page_is_saved_with_the_source_the_preview_found(
    site: Site,
) -> None:
    root = Path(__file__).resolve().parents[2] / "seeds" / "workday"
    job = "https://careers.northwind.example/External_Careers/job/USA-TX-Austin/Robotics_R-0042"
    site.pages.publish(job, (root / "fronted-site.html").read_text())
    site.pages.publish(
        "https://careers.northwind.example/wday/cxs/northwind/External_Careers"
        "/job/USA-TX-Austin/Robotics_R-0042",
        (root / "job.json").read_text(),
        "application/json",
    )
    shown = await _preview(site.client, job)
    assert "Source <strong>workday</strong>" in shown.text
    assert '<input type="hidden" name="source" value="workday">' in shown.text
    csrf = await _csrf(site.client)
    saved = await site.client.post(
        "/watches/new",
        data={"url": job, "source": "workday", "action": "save", CSRF_FIELD: csrf},
    )
    assert saved.status_code == 303
    watches = (await site.client.get("/api/v1/watches")).json()["items"]
    assert [w["kind"] for w in watches if w["url"] == job] == ["workday"]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
def test_listening_beyond_loopback_needs_credentials(anyio_backend: str) -> None:
    with pytest.raises(ConfigError, match=r"web\.token"):
        check_exposure(WebConfig(), "0.0.0.0")
    check_exposure(WebConfig(), "127.0.0.1")
    check_exposure(WebConfig(), "::1")
    check_exposure(WebConfig(token=SecretStr(TOKEN)), "0.0.0.0")
    with pytest.raises(ValidationError, match="beyond this machine"):
        MonitorConfig(web=WebConfig(listen="0.0.0.0:8080"))
    MonitorConfig(web=WebConfig(listen="0.0.0.0:8080", token=SecretStr(TOKEN)))
    with pytest.raises(ValidationError, match="both username and password"):
        WebConfig(username="ann")
    with pytest.raises(ValidationError, match="16 characters"):
        WebConfig(token=SecretStr("short"))


# -- pages: escaping, headers, no secrets --------------------------------------------


async def test_hostile_posting_content_renders_inert(site: Site) -> None:
    site.pages.publish(HOSTILE, _hostile_page())
    site.app.watches.add(HOSTILE, interval=timedelta(hours=1))
    await check_all(site.app)
    hostile_id = site.app.store.postings.get_posting(HOSTILE).id
    for path in ("/watches", f"/postings/{hostile_id}", "/changes"):
        page = await site.client.get(path)
        assert page.status_code == 200
        assert "<script" not in page.text.lower(), path  # no script at all, ours or theirs
        assert "onerror=alert" not in page.text.replace("onerror=alert(2)&gt;", ""), path
    posting_page = (await site.client.get(f"/postings/{hostile_id}")).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in posting_page
    csp = (await site.client.get("/watches")).headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp


async def test_no_secret_on_any_page_or_api_answer(site: Site) -> None:
    paths = [
        "/watches",
        "/alerts",
        "/health",
        "/changes",
        f"/postings/{site.posting_id}",
        "/api/v1/alerts",
        "/api/v1/health",
        "/api/v1/watches",
        "/api/v1/openapi.json",
    ]
    for path in paths:
        text = (await site.client.get(path)).text
        assert SECRET not in text, path
    alerts = (await site.client.get("/alerts")).text
    assert "json://127.0.0.1" in alerts  # the channel is shown, masked


async def test_every_page_renders(site: Site) -> None:
    versions = (await site.client.get(f"/api/v1/postings/{site.posting_id}/versions")).json()
    pages = {
        "/watches": "Watches",
        "/watches?status=open&sort=last_change&order=desc": "Watches",
        "/watches/new": "Add a watch",
        f"/postings/{site.posting_id}": "Timeline",
        f"/postings/{site.posting_id}/versions/{versions[0]['id']}": "155700",
        "/changes?field=pay": "+6.0%",
        "/alerts": "Channels",
        "/health": "Daemons and workers",
    }
    for path, text in pages.items():
        page = await site.client.get(path)
        assert page.status_code == 200, path
        assert text in page.text, path
        # Every footer names the app's version (W12: the raw version page printed a repr).
        assert f"<footer>Posting Monitor {__version__} ·" in page.text, path
    posting = (await site.client.get(f"/postings/{site.posting_id}")).text
    assert posting.count("<rect ") >= 2  # the pay band before and after the raise
    assert "USD per year" in posting
    assert "hybrid" in posting
    assert "remote" in posting
    missing = await site.client.get("/postings/99999")
    assert missing.status_code == 404
    assert "no posting 99999" in missing.text


# -- feeds and exports ---------------------------------------------------------------


async def test_feeds_are_valid_atom_with_stable_ids(site: Site) -> None:
    first = await site.client.get("/feeds/changes.atom")
    assert first.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(first.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert len(feed.entries) >= 3
    assert all(e.id.startswith("urn:posting-monitor:") for e in feed.entries)
    again = feedparser.parse((await site.client.get("/feeds/changes.atom")).content)
    assert [e.id for e in again.entries] == [e.id for e in feed.entries]
    assert any("salary" in e.title or "6.0%" in e.title for e in feed.entries)
    watch_id = (await site.client.get("/api/v1/watches")).json()["items"][0]["id"]
    for path in (
        f"/feeds/watches/{watch_id}.atom",
        f"/feeds/boards/{watch_id}.atom",
        f"/feeds/postings/{site.posting_id}.atom",
        "/feeds/changes.atom?field=pay",
    ):
        parsed = feedparser.parse((await site.client.get(path)).content)
        assert not parsed.bozo, path
        assert parsed.entries, path
    missing = await site.client.get("/feeds/watches/9999.atom")
    assert missing.status_code == 404


async def test_exports_over_http_round_trip(site: Site) -> None:
    changes_csv = await site.client.get("/api/v1/changes.csv")
    assert changes_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in changes_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(changes_csv.text)))
    api = (await site.client.get("/api/v1/changes", params={"limit": 200})).json()["items"]
    assert sorted((r["field"], r["summary"]) for r in rows) == sorted(
        (c["field"], c["summary"]) for c in api
    )
    versions = (await site.client.get("/api/v1/versions.jsonl")).text.splitlines()
    records = [json.loads(line) for line in versions]
    assert [r["pay_min"] for r in records] == [155700, 165000]
    postings = list(
        csv.DictReader(io.StringIO((await site.client.get("/api/v1/postings.csv")).text))
    )
    assert [p["url"] for p in postings] == [POSTING]
    later = await site.client.get("/api/v1/changes.jsonl", params={"since": "2999-01-01T00:00:00Z"})
    assert later.text == ""


async def test_feeds_and_exports_answer_304_when_unchanged(site: Site) -> None:
    for path in ("/feeds/changes.atom", "/api/v1/changes.csv", "/api/v1/postings.jsonl"):
        first = await site.client.get(path)
        assert first.status_code == 200, path
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert first.headers["cache-control"] == "private, no-cache"
        again = await site.client.get(path, headers={"If-None-Match": etag})
        assert (again.status_code, again.content) == (304, b""), path
        assert again.headers["etag"] == etag
        dated = await site.client.get(path, headers={"If-Modified-Since": modified})
        assert dated.status_code == 304, path
        other = await site.client.get(path, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200, path
    before = (await site.client.get("/api/v1/changes.csv")).headers["etag"]
    site.clock.advance(timedelta(days=1))
    site.pages.publish(POSTING, _seed(FIRST_VERSION))
    await check_all(site.app)
    after = await site.client.get("/api/v1/changes.csv", headers={"If-None-Match": before})
    assert after.status_code == 200  # a new change: a new export


async def test_the_api_refuses_what_its_document_does_not_allow(site: Site) -> None:
    api = "/api/v1"
    for bad in ({"since": "0.5"}, {"until": "1700000000"}):
        assert (await site.client.get(f"{api}/changes", params=bad)).status_code == 422
    assert (await site.client.get(f"{api}/changes.csv", params={"since": "0"})).status_code == 422
    kind = await site.client.get(f"{api}/watches", params={"kind": "greenhose"})
    assert kind.status_code == 422
    assert "greenhouse" in kind.json()["detail"]  # names the allowed ones
    field = await site.client.get(f"{api}/changes", params={"field": "salry"})
    assert field.status_code == 422
    assert "'pay'" in field.json()["detail"]
    assert (await site.client.get(f"{api}/changes", params={"kind": "gone"})).status_code == 422
    cursor = await site.client.get(f"{api}/changes", params={"cursor": "v2.99999999999999999999"})
    assert cursor.status_code == 422
    huge = await site.client.get(f"{api}/watches/{2**64}")
    assert huge.status_code == 422
    assert (await site.client.get(f"{api}/watches", params={"page": 10**10})).status_code == 422
    interval = await site.client.post(f"{api}/watches", json={"url": POSTING, "interval": "0s"})
    assert interval.status_code == 422
    json_type = {"Content-Type": "application/json"}
    broken = await site.client.post(f"{api}/watches", content=b"{nope", headers=json_type)
    assert broken.status_code == 422
    unreadable = await site.client.post(f"{api}/watches", content=b"\x0e\xff", headers=json_type)
    assert unreadable.status_code == 400  # documented
    for path, allowed in (
        (f"{api}/watches", "GET, POST"),
        (f"{api}/watches/1", "DELETE, GET, PATCH"),
    ):
        refused = await site.client.request("PUT", path)
        assert (refused.status_code, refused.headers.get("allow")) == (405, allowed)
    assert (await site.client.head(f"{api}/watches")).status_code == 405  # as Allow says
    assert (await site.client.head(f"{api}/watches/1")).status_code == 405


ACME = "https://jobs.example.com/careers/data-analyst"


async def _second_company(site: Site) -> tuple[datetime, datetime]:
    """A second company's posting, added at the last check's time (t1) and changed
    two days later (t2): the first company's changes are at t1, the second's at t2."""
    first = site.clock.now()
    page = _seed("acme-data-analyst.html")
    site.pages.publish(ACME, page)
    site.app.watches.add(ACME, interval=timedelta(hours=1))
    await check_all(site.app)
    site.clock.advance(timedelta(days=2))
    site.pages.publish(ACME, page.replace("€55.000 – €70.000", "€60.000 – €75.000"))
    await check_all(site.app)
    return first, site.clock.now()


async def _items(site: Site, path: str, **params: str) -> list[dict[str, Any]]:
    answer = await site.client.get(path, params={"limit": "200", **params})
    assert answer.status_code == 200, (path, params, answer.text)
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_company_filter_keeps_one_company_and_ignores_case(site: Site) -> None:
    await _second_company(site)
    every = await _items(site, "/api/v1/changes")
    assert {c["company"] for c in every} == {"Stripe", "Acme Analytics"}
    for company in ("Stripe", "stripe", "STRIPE"):
        watches = (await site.client.get("/api/v1/watches", params={"company": company})).json()
        postings = await _items(site, "/api/v1/postings", company=company)
        changes = await _items(site, "/api/v1/changes", company=company)
        assert watches["total"] == 1, company
        assert [p["company"] for p in postings] == ["Stripe"], company
        assert changes, company
        assert {c["company"] for c in changes} == {"Stripe"}, company
    acme = await _items(site, "/api/v1/changes", company="acme analytics")
    assert {c["field"] for c in acme} == {"salary"}
    assert len(acme) + len(changes) == len(every)
    page = await site.client.get("/changes", params={"company": "Acme Analytics"})
    assert "60,000" in page.text
    assert "165,000" not in page.text  # Stripe's pay change is left out


async def test_since_and_until_keep_the_rows_on_their_side_of_the_cutoff(site: Site) -> None:
    """Rows on both sides of each cutoff: what is kept and what is left out both count,
    and a row at the cutoff itself is kept."""
    t1, t2 = await _second_company(site)
    cutoff = (t1 + timedelta(days=1)).isoformat()
    every = await _items(site, "/api/v1/changes")
    later = await _items(site, "/api/v1/changes", since=cutoff)
    earlier = await _items(site, "/api/v1/changes", until=cutoff)
    assert {c["company"] for c in later} == {"Acme Analytics"}
    assert {c["company"] for c in earlier} == {"Stripe"}
    assert len(later) + len(earlier) == len(every)
    assert await _items(site, "/api/v1/changes", since=t2.isoformat()) == later
    day = (t1 + timedelta(days=1)).date().isoformat()
    page = (await site.client.get("/changes", params={"since": day})).text
    assert "60,000" in page
    assert "165,000" not in page
    whole = (await site.client.get("/changes")).text
    assert "165,000" in whole
    # Exports: changes by detection, versions by capture, postings by first sight.
    start = (t1 - timedelta(days=1)).isoformat()
    for what, since, kept in (
        ("changes", cutoff, [ACME]),
        ("versions", cutoff, [ACME]),
        ("postings", start, [ACME]),
        ("versions", t1.isoformat(), [ACME, ACME, POSTING]),
    ):
        answer = await site.client.get(f"/api/v1/{what}.jsonl", params={"since": since})
        rows = [json.loads(line) for line in answer.text.splitlines()]
        assert sorted({r["url"] for r in rows}) == sorted(set(kept)), (what, since)
        if what == "versions":
            assert sorted(r["url"] for r in rows) == sorted(kept), (what, since)
        csv_rows = list(csv.DictReader(io.StringIO(
            (await site.client.get(f"/api/v1/{what}.csv", params={"since": since})).text
        )))  # fmt: skip
        assert len(csv_rows) == len(rows), (what, since)


async def test_security_is_declared_as_enforced(
    tmp_path: Path, db_url: str, receiver: WebhookReceiver
) -> None:
    (tmp_path / "open").mkdir()
    async for site in _site(tmp_path / "open", db_url, receiver):
        document = (await site.client.get("/api/v1/openapi.json")).json()
        assert document["security"] == [{}]  # no sign-in set: none asked for
        assert "securitySchemes" not in document["components"]
    async for site in _site(tmp_path, db_url, receiver, token=TOKEN):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        document = (await site.client.get("/api/v1/openapi.json", headers=headers)).json()
        assert document["security"] == [{"bearer": []}]
        assert set(document["components"]["securitySchemes"]) == {"bearer"}


# -- structured webhooks -------------------------------------------------------------


async def test_json_webhook_gets_the_change_as_values(site: Site) -> None:
    await site.app.deliver(drain=True)
    posts = [p for p in site.hook.posts if p.get("type") == "change"]
    assert posts, site.hook.posts
    payload = posts[-1]
    assert payload["version"] == 1
    assert payload["posting"]["id"] == site.posting_id
    assert payload["posting"]["url"] == POSTING
    assert re.match(r"\d{4}-\d\d-\d\dT", payload["detected_at"])
    pay = next(c for c in payload["changes"] if c["field"] == "salary")
    assert pay["old_value"][0]["min"] == 155700
    assert pay["new_value"][0] == {**pay["new_value"][0], "min": 165000, "max": 300000}
    assert pay["new_value"][0]["currency"] == "USD"
    assert pay["new_value"][0]["period"] == "year"
    assert pay["percent"] == 6.0
    remote = next(c for c in payload["changes"] if c["field"] == "remote")
    assert (remote["old_value"]["kind"], remote["new_value"]["kind"]) == ("hybrid", "remote")
    assert site.hook.paths[-1] == f"/hooks/{SECRET}"


def _shape(value: Any) -> Any:
    """A JSON value's keys and types, lists by their first item (nulls as "null")."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


async def test_test_send_to_a_json_channel_from_the_alerts_page(site: Site) -> None:
    csrf = await _csrf(site.client)
    sent = await site.client.post("/channels/hook/test", data={CSRF_FIELD: csrf})
    assert sent.status_code == 303
    assert "sent=hook" in sent.headers["location"]
    test = site.hook.posts[-1]
    assert test["type"] == "test"
    # W8: shaped like a real alert, so a no-code tool can map pay from the test event.
    await site.app.deliver(drain=True)
    real = next(p for p in site.hook.posts if p.get("type") == "change")
    assert set(test) == set(real)
    assert {**_shape(test["posting"]), "id": "int"} == _shape(real["posting"])  # id: null
    for field in ("salary", "remote"):
        shapes = [
            _shape(next(c for c in p["changes"] if c["field"] == field)) for p in (test, real)
        ]
        assert shapes[0] == shapes[1], field
    pay = next(c for c in test["changes"] if c["field"] == "salary")
    assert (pay["percent"], pay["direction"]) == (6.0, "up")
    assert pay["old_value"][0]["min"] == 100000
    assert pay["new_value"][0]["max"] == 126000
    assert test["posting"]["pay"] == pay["new_value"]
    site.hook.status = 500
    failed = await site.client.post("/channels/hook/test", data={CSRF_FIELD: csrf})
    assert "failed=" in failed.headers["location"]
    assert "HTTP+500" in failed.headers["location"] or "HTTP%20500" in failed.headers["location"]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
def test_json_format_needs_a_web_address(anyio_backend: str) -> None:
    with pytest.raises(ValidationError, match="format 'json'"):
        ChannelConfig(name="x", url=SecretStr("discord://a/b"), format="json")


async def test_health_shows_hosts_a_local_daemon_paused(site: Site) -> None:
    from monitor.engines.local import LocalEngine

    engine = LocalEngine(site.app)
    site.app.fetcher.gate.pause(POSTING, 600, reason="HTTP 503")
    await engine.heartbeat()
    health = (await site.client.get("/api/v1/health")).json()
    assert list(health["paused_hosts"]) == ["jobs.example.com"]
    page = (await site.client.get("/health")).text
    assert "jobs.example.com" in page


async def test_every_page_says_when_nothing_is_checking(site: Site) -> None:
    notice = "Nothing is checking the watches"
    assert notice in (await site.client.get("/watches")).text
    site.app.store.processes.daemon_started(
        "d1", host="here", pid=1, now=site.clock.now(), kind="daemon"
    )
    assert notice not in (await site.client.get("/watches")).text
    site.clock.advance(timedelta(minutes=5))  # its beats stopped: stuck or gone
    assert notice in (await site.client.get("/changes")).text


async def test_health_counts_checks_that_found_nothing_new(site: Site) -> None:
    site.clock.advance(timedelta(hours=2))
    await check_all(site.app)  # the same page again: unchanged
    counts = (await site.client.get("/api/v1/health")).json()["checks_last_24h"]
    assert counts.get("unchanged", 0) + counts.get("not_modified", 0) == 1  # W13
    assert (
        "not_modified" in (await site.client.get("/health")).text
        or "unchanged" in (await site.client.get("/health")).text
    )
    site.clock.advance(timedelta(days=2))
    later = (await site.client.get("/api/v1/health")).json()["checks_last_24h"]
    assert not {"unchanged", "not_modified"} & set(later)


async def test_feed_links_use_the_public_url(
    tmp_path: Path, db_url: str, receiver: WebhookReceiver
) -> None:
    async for site in _site(tmp_path, db_url, receiver, public_url="https://jobs.me.example/"):
        feed = feedparser.parse((await site.client.get("/feeds/changes.atom")).content)
        assert feed.feed.links[0].href == "https://jobs.me.example/feeds/changes.atom"
        assert feed.entries[0].link.startswith("https://jobs.me.example/postings/")


async def test_bad_input_is_named_on_pages_and_in_the_api(site: Site) -> None:
    page = await site.client.get("/watches", params={"page": "two"})
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "page" in page.text
    api = await site.client.get("/api/v1/watches", params={"page": "two"})
    assert api.status_code == 422
    assert api.json()["errors"][0]["where"] == "query.page"
    filtered = await site.client.post(
        "/api/v1/watches", json={"url": POSTING + "-2", "filters": {"title": ["rust"]}}
    )
    assert filtered.status_code == 422
    assert "filters only apply to boards" in filtered.json()["detail"]
    unknown = await site.client.post("/api/v1/watches", json={"url": POSTING, "colour": "red"})
    assert unknown.status_code == 422
    assert "colour" in unknown.json()["detail"]


async def test_a_repost_links_the_two_postings(site: Site) -> None:
    from sqlalchemy import update

    from monitor.store.tables import postings

    url = "https://jobs.example.com/careers/again"
    site.pages.publish(url, _seed(FIRST_VERSION))
    site.app.watches.add(url, interval=timedelta(hours=1))
    await check_all(site.app)
    again = site.app.store.postings.get_posting(url).id
    with site.app.engine.begin() as conn:
        conn.execute(
            update(postings).where(postings.c.id == again).values(reposted_from=site.posting_id)
        )
    body = (await site.client.get(f"/api/v1/postings/{again}")).json()
    assert body["reposted_from"] == site.posting_id
    page = (await site.client.get(f"/postings/{again}")).text
    assert f'href="/postings/{site.posting_id}">an earlier posting of this job' in page


async def test_oversized_bodies_and_addresses_are_refused_and_never_echoed(site: Site) -> None:
    value = "https://jobs.example.com/" + "A" * 2_000_000
    big = await site.client.post("/api/v1/watches", json={"url": value})
    assert big.status_code == 413
    assert big.headers["content-type"] == "application/problem+json"
    assert len(big.content) < 500

    async def stream() -> AsyncIterator[bytes]:  # no declared length: counted as read
        for _ in range(40):
            yield b"A" * 65536

    chunked = await site.client.post(
        "/api/v1/watches", content=stream(), headers={"Content-Type": "application/json"}
    )
    assert (chunked.status_code, len(chunked.content) < 500) == (413, True)
    long_url = await site.client.get("/api/v1/watches", params={"q": "x" * 9000})
    assert long_url.status_code == 414
    assert (await site.client.get("/api/v1/watches")).json()["total"] == 1


async def test_a_long_value_is_refused_without_being_echoed(site: Site) -> None:
    for url in ("https://jobs.example.com/" + "A" * 900_000, "ftp://x/" + "A" * 900_000):
        refused = await site.client.post("/api/v1/watches", json={"url": url})
        assert refused.status_code == 422
        assert len(refused.content) < 1000
    interval = await site.client.post(
        "/api/v1/watches", json={"url": POSTING, "interval": "B" * 5000}
    )
    assert (interval.status_code, len(interval.content) < 2000) == (422, True)
    assert (await site.client.get("/api/v1/watches")).json()["total"] == 1


# -- acting on watches: edit, check now, failing reason ------------------------------


async def test_edit_a_watch_in_the_api_checked_as_adding_is(site: Site) -> None:
    watch_id = site.app.store.watches.list_watches()[0].id
    edited = await site.client.patch(
        f"/api/v1/watches/{watch_id}", json={"interval": "6h", "channels": ["hook"]}
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["interval_seconds"], body["cron"], body["channels"]) == (21600, None, ["hook"])
    assert body["render"] == "plain"
    assert body["from_config"] is False
    stored = site.app.store.watches.get_watch(watch_id)
    assert stored.interval == timedelta(hours=6)
    assert stored.channels == ("hook",)

    on_cron = (
        await site.client.patch(f"/api/v1/watches/{watch_id}", json={"cron": "0 9 * * mon"})
    ).json()
    assert on_cron["cron"] == "0 9 * * mon"
    assert on_cron["channels"] == ["hook"]
    back = (await site.client.patch(f"/api/v1/watches/{watch_id}", json={"cron": ""})).json()
    assert back["cron"] is None

    for wrong, named in (
        ({"channels": ["nowhere"]}, "channel"),
        ({"interval": "soon"}, "interval"),
        ({"cron": "every day"}, "cron"),
        ({"interval": "1h", "cron": "0 9 * * *"}, "not both"),
        ({"members": "list"}, "members"),
        ({"filters": {"title": ["engineer"]}}, "filters"),
        ({"source": "greenhouse"}, "greenhouse"),
    ):
        refused = await site.client.patch(f"/api/v1/watches/{watch_id}", json=wrong)
        assert refused.status_code == 422, (wrong, refused.text)
        assert named in refused.json()["detail"], (wrong, refused.json())
    assert site.app.store.watches.get_watch(watch_id).channels == ("hook",)  # unchanged
    missing = await site.client.patch("/api/v1/watches/9999", json={"interval": "1h"})
    assert missing.status_code == 404


async def test_edit_a_watch_on_its_page(site: Site) -> None:
    watch_id = site.app.store.watches.list_watches()[0].id
    page = await site.client.get(f"/postings/{site.posting_id}")
    assert f'href="/watches/{watch_id}/edit"' in page.text
    form = await site.client.get(f"/watches/{watch_id}/edit")
    assert form.status_code == 200
    assert 'name="interval" value="1h"' in form.text
    token = await _csrf(site.client)
    fields = {CSRF_FIELD: token, "interval": "2h", "cron": "", "channels": "hook, console"}
    saved = await site.client.post(f"/watches/{watch_id}/edit", data=fields)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/postings/{site.posting_id}"
    stored = site.app.store.watches.get_watch(watch_id)
    assert (stored.interval, stored.channels) == (timedelta(hours=2), ("hook", "console"))

    wrong = await site.client.post(
        f"/watches/{watch_id}/edit", data={**fields, "channels": "nowhere"}
    )
    assert wrong.status_code == 422
    assert "no channel named" in wrong.text
    assert 'value="nowhere"' in wrong.text  # what was typed stays in the form


async def test_check_a_watch_now_in_the_api_and_on_its_page(site: Site) -> None:
    watch_id = site.app.store.watches.list_watches()[0].id
    site.pages.publish(POSTING, _seed(FIRST_VERSION))  # back to the first version
    checked = await site.client.post(f"/api/v1/watches/{watch_id}/check")
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["outcome"] == "changed"
    assert body["watch"]["last_outcome"] == "changed"
    assert body["watch"]["last_checked_at"] == site.clock.now().isoformat().replace("+00:00", "Z")

    token = await _csrf(site.client)
    again = await site.client.post(f"/watches/{watch_id}/check", data={CSRF_FIELD: token})
    assert again.status_code == 303
    assert again.headers["location"] == f"/postings/{site.posting_id}?checked=not_modified#checked"
    page = await site.client.get(again.headers["location"])
    assert "Checked just now: nothing changed (the server said so)." in page.text

    leased = site.app.store.leases.claim_all(now=site.clock.now(), lease=timedelta(minutes=5))
    assert site.posting_id in [s.id for s in leased]  # the checks gave their leases back
    busy = await site.client.post(f"/api/v1/watches/{watch_id}/check")
    assert busy.status_code == 409
    assert (await site.client.post("/api/v1/watches/9999/check")).status_code == 404


async def test_a_failing_watch_shows_its_reason_and_since_when(site: Site) -> None:
    watch_id = site.app.store.watches.list_watches()[0].id
    quiet = await site.client.get(f"/postings/{site.posting_id}")
    assert 'id="failing"' not in quiet.text
    site.pages.fail(POSTING, lambda _request: httpx.Response(403, text="denied"))
    site.clock.advance(timedelta(hours=1))
    first = (await site.client.post(f"/api/v1/watches/{watch_id}/check")).json()
    assert first["outcome"] == "error"
    began = site.clock.now()
    site.clock.advance(timedelta(hours=2))
    await site.client.post(f"/api/v1/watches/{watch_id}/check")

    page = await site.client.get(f"/postings/{site.posting_id}")
    failing = page.text.split('id="failing"', 1)[1].split("</section>", 1)[0]
    assert "2 failed checks in a row, since" in failing
    assert began.strftime("%Y-%m-%d %H:%M") in failing
    assert "403" in failing  # the last error itself, not only a tooltip
    assert site.app.store.views.failing_since(site.posting_id, 2) == began
    listed = await site.client.get("/watches")
    assert 'class="row-error"' in listed.text

    site.pages.publish(POSTING, _seed(REVISED_VERSION))
    site.clock.advance(timedelta(hours=1))
    await site.client.post(f"/api/v1/watches/{watch_id}/check")
    assert 'id="failing"' not in (await site.client.get(f"/postings/{site.posting_id}")).text
    assert site.app.store.views.failing_since(site.posting_id, 0) is None
    site.pages.fail(POSTING, lambda _request: httpx.Response(403, text="denied"))
    site.clock.advance(timedelta(hours=1))
    await site.client.post(f"/api/v1/watches/{watch_id}/check")  # a new run of failures
    assert (
        f"since {site.clock.now():%Y-%m-%d %H:%M}"
        in (await site.client.get(f"/postings/{site.posting_id}")).text
    )


async def test_tags_on_watches_filter_the_list(site: Site) -> None:
    url = "https://jobs.example.com/careers/new-role"
    site.pages.publish(url, _seed(FIRST_VERSION))
    created = await site.client.post(
        "/api/v1/watches", json={"url": url, "tags": ["Backend", "berlin", "backend"]}
    )
    assert created.status_code == 201, created.text
    tagged = created.json()
    assert tagged["tags"] == ["backend", "berlin"]
    other = site.app.store.watches.list_watches()[0].id
    edited = await site.client.patch(f"/api/v1/watches/{other}", json={"tags": ["remote"]})
    assert edited.json()["tags"] == ["remote"]

    def ids(found: httpx.Response) -> list[int]:
        return [w["id"] for w in found.json()["items"]]

    assert ids(await site.client.get("/api/v1/watches", params={"tag": "berlin"})) == [tagged["id"]]
    assert ids(await site.client.get("/api/v1/watches", params={"tag": "remote"})) == [other]
    assert ids(await site.client.get("/api/v1/watches", params={"tag": "back"})) == []
    refused = await site.client.patch(f"/api/v1/watches/{other}", json={"tags": ['a"b']})
    assert refused.status_code == 422
    assert "tag" in refused.json()["detail"]

    page = await site.client.get("/watches", params={"tag": "berlin"})
    assert "<option selected>berlin</option>" in page.text
    assert page.text.count('class="badge tag"') == 2  # the one watch listed, its two tags
    token = await _csrf(site.client)
    saved = await site.client.post(
        f"/watches/{other}/edit",
        data={CSRF_FIELD: token, "interval": "1h", "tags": "remote, eu"},
    )
    assert saved.status_code == 303
    assert site.app.store.watches.get_watch(other).tags == ("remote", "eu")


async def test_bulk_actions_on_a_selection_in_the_list(site: Site) -> None:
    url = "https://jobs.example.com/careers/new-role"
    site.pages.publish(url, _seed(FIRST_VERSION))
    second = (await site.client.post("/api/v1/watches", json={"url": url})).json()["id"]
    first = site.app.store.watches.list_watches()[0].id
    listed = await site.client.get("/watches", params={"q": "example"})
    assert f'name="ids" value="{second}"' in listed.text
    token = await _csrf(site.client)

    async def bulk(action: str, *ids: int, tag: str = "") -> httpx.Response:
        form = {CSRF_FIELD: token, "action": action, "ids": [str(i) for i in ids], "tag": tag}
        done = await site.client.post("/watches/bulk", data=form)
        assert done.status_code == 303, done.text
        return await site.client.get(done.headers["location"])

    paused = await bulk("pause", first, second)
    assert "Paused 2 watches." in paused.text
    assert all(w.paused_at for w in site.app.store.watches.list_watches())
    await bulk("resume", second)
    assert site.app.store.watches.get_watch(second).paused_at is None
    tagged = await bulk("tag", first, second, tag="Urgent")
    assert "Tagged 2 watches." in tagged.text
    assert {w.tags for w in site.app.store.watches.list_watches()} == {("urgent",)}
    assert site.app.store.views.tags() == ["urgent"]
    assert "<option>urgent</option>" in (await site.client.get("/watches")).text
    bad_tag = await bulk("tag", first, tag="no spaces")
    assert "Tagged 0 watches. Not done:" in bad_tag.text
    assert "not a tag" in bad_tag.text
    checked = await bulk("check", first, second)
    assert "Checked 2 watches." in checked.text
    assert site.app.store.postings.get_posting(url).last_checked_at == site.clock.now()
    removed = await bulk("remove", second, 9999)
    assert "Removed 1 watch. Not done: #9999" in removed.text
    assert [w.id for w in site.app.store.watches.list_watches()] == [first]


async def test_unseen_changes_are_marked_until_viewed(site: Site) -> None:
    watch_id = site.app.store.watches.list_watches()[0].id
    listed = await site.client.get("/watches")
    assert 'id="unseen-count" href="/watches?status=unseen"' in listed.text
    assert ">1 new</a>" in listed.text
    assert '<tr class="unseen">' in listed.text
    api = (await site.client.get("/api/v1/watches", params={"status": "unseen"})).json()
    assert [w["id"] for w in api["items"]] == [watch_id]
    assert api["items"][0]["unseen"] is True

    await site.client.get(f"/postings/{site.posting_id}")  # viewing it
    assert 'id="unseen-count"' not in (await site.client.get("/watches")).text
    assert (await site.client.get(f"/api/v1/watches/{watch_id}")).json()["unseen"] is False

    site.clock.advance(timedelta(hours=1))
    site.pages.publish(POSTING, _seed(FIRST_VERSION))
    await site.client.post(f"/api/v1/watches/{watch_id}/check")  # a change again
    assert ">1 new</a>" in (await site.client.get("/changes")).text
    token = await _csrf(site.client)
    cleared = await site.client.post("/watches/viewed", data={CSRF_FIELD: token})
    assert cleared.status_code == 303
    assert site.app.store.views.unseen_count() == 0


async def _walk(site: Site, path: str, limit: int, **params: str) -> list[int]:
    """Every id of a cursor-paged list, ``limit`` at a time, following next_cursor."""
    seen: list[int] = []
    cursor = None
    for _ in range(100):
        page = await site.client.get(
            path, params={"limit": str(limit), **params, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= limit
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError(f"{path} never stopped paging")


async def test_postings_and_alerts_page_by_cursor_to_the_same_list(site: Site) -> None:
    for n in range(4):
        url = f"https://jobs.example.com/careers/role-{n}"
        site.pages.publish(url, _seed(FIRST_VERSION).replace("Backend Engineer", f"Role {n}"))
        site.app.watches.add(url, interval=timedelta(hours=1))
    await check_all(site.app)
    site.clock.advance(timedelta(hours=2))
    for n in range(4):  # each changes: alerts to both channels
        url = f"https://jobs.example.com/careers/role-{n}"
        site.pages.publish(url, _seed(REVISED_VERSION).replace("Backend Engineer", f"Role {n}"))
    await check_all(site.app)
    for path, params in (
        ("/api/v1/postings", {}),
        ("/api/v1/alerts", {}),
        ("/api/v1/postings", {"q": "role"}),
    ):
        every = [
            i["id"]
            for i in (await site.client.get(path, params={"limit": 200, **params})).json()["items"]
        ]
        assert len(every) >= 4, path
        assert every == sorted(every, reverse=True), path  # newest first
        for limit in (1, 2, 3, len(every), len(every) + 1):
            assert await _walk(site, path, limit, **params) == every, (path, limit)
    full = (await site.client.get("/api/v1/postings", params={"limit": 2})).json()
    assert full["next_cursor"] is not None
    last = (await site.client.get("/api/v1/postings", params={"limit": 200})).json()
    assert last["next_cursor"] is None  # the last page says so


HOSTILE_BOARD = "https://jobs.ashbyhq.com/hostile"
HOSTILE_API = "https://api.ashbyhq.com/posting-api/job-board/hostile?includeCompensation=true"
FROM_BOARD = {
    "title": "<script>alert(1)</script> Engineer",
    "location": '"><img src=x onerror=alert(2)> Berlin',
    "tier": "<svg onload=alert(3)> & Co",
}


def _hostile_board(raise_by: int = 0) -> str:
    board = json.loads(_seed("ashby/board.json"))
    job = board["jobs"][0]
    job["title"], job["location"] = FROM_BOARD["title"], FROM_BOARD["location"]
    job["compensation"]["compensationTiers"][0]["title"] = FROM_BOARD["tier"]
    for tier in job["compensation"]["compensationTiers"]:
        for component in tier["components"]:
            if component["minValue"] is not None:
                component["minValue"] += raise_by
                component["maxValue"] += raise_by
    return json.dumps(board)


async def test_hostile_values_from_a_board_reach_pages_charts_and_feeds_as_text(
    site: Site,
) -> None:
    """A board's title, place and pay-tier name, hostile, through the whole path: read,
    stored, changed, then shown on the board's page, the posting's (its pay chart's
    legend), the changes and the Atom feed."""
    site.pages.publish(HOSTILE_API, _hostile_board(), "application/json")
    site.app.watches.add(HOSTILE_BOARD, interval=timedelta(hours=1))
    await check_all(site.app)
    site.clock.advance(timedelta(days=1))
    site.pages.publish(HOSTILE_API, _hostile_board(raise_by=10_000), "application/json")
    await check_all(site.app)
    board = site.app.store.postings.get_posting(HOSTILE_BOARD)
    (member,) = [m for m in site.app.store.postings.members_of(board.id) if "Engineer" in m.title]
    pages = [f"/postings/{board.id}", f"/postings/{member.id}", "/changes", "/watches"]
    shown = ""
    for path in pages:
        page = await site.client.get(path)
        assert page.status_code == 200, path
        lowered = page.text.lower()
        assert "<script>alert" not in lowered, path
        assert "<img src=x" not in lowered, path
        assert "<svg onload" not in lowered, path
        shown += page.text
    for value in FROM_BOARD.values():
        assert str(escape(value)) in shown, value  # as Jinja escapes it: shown as text
    posting_page = (await site.client.get(f"/postings/{member.id}")).text
    assert "&lt;svg onload=alert(3)&gt; &amp; Co" in posting_page  # the chart's legend
    feed = await site.client.get("/feeds/changes.atom")
    root = ElementTree.fromstring(feed.content)  # well-formed
    text = "".join(root.itertext())
    assert FROM_BOARD["title"] in text
    assert all(e.tag.startswith("{http://www.w3.org/2005/Atom}") for e in root.iter())


async def test_api_discover_names_the_boards_of_a_careers_page(site: Site) -> None:
    url = "https://www.dexory.example/career"
    page = Path(__file__).resolve().parents[1] / "cases" / "careerpages"
    site.pages.publish(url, (page / "dexory_career_greenhouse_boards_api_fetch.html").read_text())
    found = await site.client.post("/api/v1/discover", json={"url": url})
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["page_kind"] == "board"
    (board,) = body["boards"]
    assert (board["system"], board["token"], board["proposed"]) == ("greenhouse", "dexory", True)
    missing = await site.client.post("/api/v1/discover", json={"url": "https://x.example/none"})
    assert missing.status_code == 502
    never = await site.client.post("/api/v1/discover", json={"url": "ftp://x.example/"})
    assert never.status_code == 422


async def test_preview_of_a_careers_page_shows_its_boards(site: Site) -> None:
    url = "https://www.playlist.example/careers/opportunities"
    page = Path(__file__).resolve().parents[1] / "cases" / "careerpages"
    site.pages.publish(
        url, (page / "playlist_careers_opportunities_personio_link.html").read_text()
    )
    shown = await _preview(site.client, url)
    assert shown.status_code == 200
    assert 'id="discovery"' in shown.text
    assert "Another company's board, not proposed" in shown.text
    assert "no board found" in shown.text
    assert 'id="preview"' not in shown.text


async def test_saving_a_careers_page_shows_its_boards_instead(site: Site) -> None:
    """Save, without a preview first, does what `watch add` does: a careers page is not
    saved as one page; its boards are shown. A posting's page is saved as before."""
    url = "https://www.dexory.example/career"
    page = Path(__file__).resolve().parents[1] / "cases" / "careerpages"
    site.pages.publish(url, (page / "dexory_career_greenhouse_boards_api_fetch.html").read_text())
    before = len(site.app.store.watches.list_watches())
    csrf = await _csrf(site.client)
    shown = await site.client.post(
        "/watches/new", data={"url": url, "action": "save", CSRF_FIELD: csrf}
    )
    assert shown.status_code == 200
    assert 'id="discovery"' in shown.text
    assert "dexory" in shown.text
    assert len(site.app.store.watches.list_watches()) == before

    posting = "https://jobs.example.com/careers/one-role"
    site.pages.publish(posting, _seed(FIRST_VERSION))
    saved = await site.client.post(
        "/watches/new", data={"url": posting, "action": "save", CSRF_FIELD: csrf}
    )
    assert saved.status_code == 303
    assert len(site.app.store.watches.list_watches()) == before + 1


async def test_a_careers_pages_words_reach_the_preview_as_text(site: Site) -> None:
    """Discovery reads the page's own words (link texts, script calls): a hostile
    careers page's markup in them never reaches the Preview as markup."""
    url = "https://www.acme.example/careers"
    hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    site.pages.publish(
        url,
        "<html><body><div>Want to join the Otherco team? "
        f'<a href="https://boards.greenhouse.io/otherco">{hostile}</a></div>'
        '<a href="https://boards.greenhouse.io/acme">Open roles</a></body></html>',
    )
    shown = await _preview(site.client, url)
    assert shown.status_code == 200
    assert 'id="discovery"' in shown.text
    assert "otherco" in shown.text
    assert "<script>alert(2)</script>" not in shown.text
    assert '<img src=x onerror="alert(1)">' not in shown.text
    assert "onerror=" not in shown.text.split('id="discovery"', 1)[1]
    api = await site.client.post("/api/v1/discover", json={"url": url})
    assert api.status_code == 200
    assert api.headers["content-type"].startswith("application/json")
