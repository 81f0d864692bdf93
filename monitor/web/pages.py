"""The dashboard's pages: server-rendered HTML, forms with CSRF tokens, no script."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from monitor.errors import Forbidden, MonitorError, NotifyError
from monitor.notify.render import FIELD_LABELS, sample_alert
from monitor.store.readmodels import (
    FIELD_GROUPS,
    ChangeQuery,
    ChangeRow,
    PostingQuery,
    WatchQuery,
    change_fields,
)
from monitor.web import security
from monitor.web.charts import open_chart, pay_chart, pay_distribution, pay_series
from monitor.web.context import Dashboard, dashboard_of, status_of
from monitor.web.filters import change_percent

router = APIRouter(include_in_schema=False)
HISTORY_FIELDS = {
    "remote": ("remote",),
    "requirements": ("requirements.minimum", "requirements.preferred"),
}


def render(request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    dashboard = dashboard_of(request)
    template = dashboard.templates.get_template(name)
    html = template.render(
        request=request,
        csrf=request.state.csrf,
        csrf_field=security.CSRF_FIELD,
        signed_in=request.state.signed_in,
        sign_in_used=dashboard.credentials.token is not None,
        labels=FIELD_LABELS,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return render(request, "error.html", status=status, title=title, detail=detail)


async def checked_form(request: Request) -> FormData:
    """The form, once its CSRF token matches the cookie; 403 otherwise."""
    form = await request.form()
    submitted = form.get(security.CSRF_FIELD)
    if not security.csrf_ok(
        request.cookies.get(security.CSRF_COOKIE), submitted if isinstance(submitted, str) else None
    ):
        raise Forbidden("the form's security token is missing or stale: reload the page")
    return form


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _back(request: Request, fallback: str) -> RedirectResponse:
    return RedirectResponse(fallback, status_code=303)


# -- sign-in -------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=_local(next), failed=False)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await checked_form(request)
    dashboard = dashboard_of(request)
    target = _local(_text(form, "next"))
    if not dashboard.credentials.token_ok(_text(form, "token")):
        return render(request, "login.html", status=401, next=target, failed=True)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        security.SESSION_COOKIE,
        dashboard.signer.sign("signed-in"),
        max_age=security.SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(security.SESSION_COOKIE)
    return response


def _local(target: str) -> str:
    """Only a path on this site (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


# -- watches -------------------------------------------------------------------------


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/watches", status_code=303)


@router.get("/watches")
def watches_page(
    request: Request,
    q: str = "",
    status: str = "",
    company: str = "",
    kind: str = "",
    sort: str = "id",
    order: str = "asc",
    page: int = 1,
) -> HTMLResponse:
    dashboard = dashboard_of(request)
    query = WatchQuery(
        search=q,
        status=status if status in ("open", "closed", "failing", "paused") else "",
        company=company,
        kind=kind,
        sort=sort if sort in _SORTS else "id",  # type: ignore[arg-type]
        descending=order == "desc",
        page=max(page, 1),
        per_page=dashboard.page_size,
    )
    found = dashboard.views.watches(query)
    params = {"q": q, "status": status, "company": company, "kind": kind}
    return render(
        request,
        "watches.html",
        active="watches",
        found=found,
        query=query,
        params=params,
        companies=dashboard.views.companies(),
        kinds=dashboard.views.source_kinds(),
        link=lambda **more: (
            "/watches?" + urlencode({**params, "sort": sort, "order": order, **more})
        ),
        sort_link=lambda column: (
            "/watches?"
            + urlencode(
                {
                    **params,
                    "sort": column,
                    "order": "desc" if sort == column and order == "asc" else "asc",
                }
            )
        ),
    )


_SORTS = ("id", "title", "company", "status", "last_change", "last_check", "next_check", "failures")


@router.get("/watches/new")
def new_watch_page(request: Request, url: str = "") -> HTMLResponse:
    return _new_watch_form(request, {"url": url, "interval": "1h"})


def _new_watch_form(request: Request, values: dict[str, str], **extra: Any) -> HTMLResponse:
    dashboard = dashboard_of(request)
    channels = [c.name for c in dashboard.app.config.channels]
    return render(
        request,
        "watch_new.html",
        active="new",
        values=values,
        channels=channels,
        status=extra.pop("status", 200),
        **extra,
    )


@router.post("/watches/new")
async def new_watch(request: Request) -> Response:
    """'Preview' reads the URL as a check would and shows it; 'Save' adds the watch."""
    form = await checked_form(request)
    dashboard = dashboard_of(request)
    values = {
        name: _text(form, name)
        for name in (
            "url",
            "interval",
            "channel",
            "title",
            "exclude_title",
            "location",
            "department",
            "source",
        )
    }
    filters = {
        name: [w.strip() for w in values[name].split(",") if w.strip()]
        for name in ("title", "exclude_title", "location", "department")
    }
    try:
        if _text(form, "action") == "save":
            watch_id = dashboard.app.watches.add_from_text(
                url=values["url"],
                interval=values["interval"] or "1h",
                channels=[values["channel"]] if values["channel"] else [],
                filters=filters,
                source=values["source"] or None,
            )
            watch = dashboard.views.watch(watch_id)
            return RedirectResponse(f"/postings/{watch.posting_id}", status_code=303)
        seen = await dashboard.preview(values["url"], values["source"] or None)
    except MonitorError as exc:
        status, _title = status_of(exc)
        return _new_watch_form(request, values, error=str(exc), status=min(status, 422))
    return _new_watch_form(request, values, preview=seen)


@router.post("/watches/{watch_id}/{action}")
async def watch_action(request: Request, watch_id: int, action: str) -> Response:
    await checked_form(request)
    dashboard = dashboard_of(request)
    store, now = dashboard.app.store, dashboard.now()
    if action == "remove":
        store.watches.remove_watch(str(watch_id), now=now)
        return _back(request, "/watches")
    if action in ("pause", "resume"):
        store.watches.pause_watch(watch_id, paused=action == "pause", now=now)
        watch = dashboard.views.watch(watch_id)
        return _back(request, f"/postings/{watch.posting_id}")
    return error_page(request, 404, "Not found", f"no action {action!r}")


# -- a posting or a board ------------------------------------------------------------


@router.get("/postings/{posting_id}")
def posting_page(request: Request, posting_id: int) -> HTMLResponse:
    dashboard = dashboard_of(request)
    posting = dashboard.views.posting(posting_id)
    watch = _watch_of(dashboard, posting.watch_id)
    if posting.role == "board":
        return _board_page(request, dashboard, posting, watch)
    versions = dashboard.views.versions(posting_id)
    history = dashboard.views.changes(ChangeQuery(posting_id=posting_id, limit=200)).items
    by_version: dict[int, list[ChangeRow]] = {}
    for change in history:
        by_version.setdefault(change.snapshot_id, []).append(change)
    now = dashboard.now()
    series = pay_series([(v.captured_at, v.posting) for v in versions], now)
    title = posting.current.display_name if posting.current else posting.title
    return render(
        request,
        "posting.html",
        active="watches",
        posting=posting,
        watch=watch,
        current=posting.current,
        versions=list(reversed(versions)),
        by_version=by_version,
        chart=pay_chart(series, title="Pay over time"),
        remote_history=[c for c in history if c.field in HISTORY_FIELDS["remote"]],
        requirement_history=[c for c in history if c.field in HISTORY_FIELDS["requirements"]],
        percent=change_percent,
        title=title,
    )


def _watch_of(dashboard: Dashboard, watch_id: int) -> Any:
    try:
        return dashboard.views.watch(watch_id)
    except MonitorError:
        return None  # a removed watch: its history is still shown


def _board_page(request: Request, dashboard: Dashboard, board: Any, watch: Any) -> HTMLResponse:
    cursor = request.query_params.get("before")
    members = dashboard.views.postings(
        PostingQuery(
            board_id=board.id,
            status=request.query_params.get("status", "open"),
            before=int(cursor) if cursor and cursor.isdigit() else None,
            limit=dashboard.page_size,
        )
    )
    days = dashboard.views.open_per_day(board.id)
    recent = dashboard.views.changes(ChangeQuery(board_id=board.id, limit=30)).items
    open_postings = dashboard.views.open_members(board.id)
    return render(
        request,
        "board.html",
        active="watches",
        board=board,
        watch=watch,
        members=members,
        status_shown=request.query_params.get("status", "open"),
        open_chart=open_chart(
            [(d.day, d.open, d.new, d.closed) for d in days], title="Open postings per day"
        ),
        pay_chart=pay_distribution(open_postings, title="Pay of open postings"),
        recent=recent,
        percent=change_percent,
        title=board.company or _usual_company(open_postings) or board.title or board.url,
    )


def _usual_company(postings: list[Any]) -> str:
    """A board's company, read from its postings when the board itself names none."""
    companies = Counter(p.company for p in postings if p.company)
    return companies.most_common(1)[0][0] if companies else ""


@router.get("/postings/{posting_id}/versions/{snapshot_id}")
def version_page(request: Request, posting_id: int, snapshot_id: int) -> HTMLResponse:
    dashboard = dashboard_of(request)
    version = dashboard.views.version(posting_id, snapshot_id)
    raw = json.dumps(version.data, indent=2, ensure_ascii=False, sort_keys=True)
    return render(
        request,
        "version.html",
        active="watches",
        posting=dashboard.views.posting(posting_id),
        version=version,
        raw=raw,
    )


# -- changes -------------------------------------------------------------------------


@router.get("/changes")
def changes_page(
    request: Request,
    field: str = "",
    company: str = "",
    watch: str = "",
    since: str = "",
    before: str = "",
) -> HTMLResponse:
    dashboard = dashboard_of(request)
    query = ChangeQuery(
        fields=change_fields([field]) if field else (),
        company=company,
        watch_id=int(watch) if watch.isdigit() else None,
        since=_day(since),
        before=int(before) if before.isdigit() else None,
        limit=dashboard.page_size,
    )
    found = dashboard.views.changes(query)
    params = {"field": field, "company": company, "watch": watch, "since": since}
    return render(
        request,
        "changes.html",
        active="changes",
        found=found,
        params=params,
        groups=[g for g in FIELD_GROUPS if g not in ("salary", "monitor")],
        companies=dashboard.views.companies(),
        percent=change_percent,
        next_link="/changes?" + urlencode({**params, "before": found.next_before or ""}),
    )


def _day(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None
    except ValueError:
        return None


# -- alerts, channels, health --------------------------------------------------------


@router.get("/alerts")
def alerts_page(request: Request, status: str = "", before: str = "") -> HTMLResponse:
    dashboard = dashboard_of(request)
    found = dashboard.views.alerts(
        status=status if status in ("pending", "sent", "failed") else "",
        before=int(before) if before.isdigit() else None,
        limit=dashboard.page_size,
    )
    channels = [
        {"name": c.name, "url": dashboard.app.channels.masked_url(c.name), "format": c.format}
        for c in dashboard.app.config.channels
    ]
    return render(
        request,
        "alerts.html",
        active="alerts",
        found=found,
        shown_status=status,
        counts=dashboard.views.alert_counts(),
        channels=channels,
        sent=request.query_params.get("sent"),
        failed=request.query_params.get("failed"),
    )


@router.post("/alerts/{alert_id}/retry")
async def retry_alert_form(request: Request, alert_id: int) -> Response:
    await checked_form(request)
    dashboard = dashboard_of(request)
    dashboard.app.store.outbox.retry_alerts([alert_id], now=dashboard.now())
    return _back(request, "/alerts?status=pending")


@router.post("/alerts/retry-failed")
async def retry_failed_form(request: Request) -> Response:
    await checked_form(request)
    dashboard = dashboard_of(request)
    dashboard.app.store.outbox.retry_alerts(now=dashboard.now())
    return _back(request, "/alerts?status=pending")


@router.post("/channels/{name}/test")
async def test_channel(request: Request, name: str) -> Response:
    """Send a sample alert to one channel now (as ``test-notify`` does)."""
    await checked_form(request)
    dashboard = dashboard_of(request)
    if name not in {c.name for c in dashboard.app.config.channels}:
        return error_page(request, 404, "Not found", f"no channel {name!r}")
    try:
        await dashboard.app.notifier.send(name, sample_alert(dashboard.app.renderer))
    except NotifyError as exc:
        return _back(request, "/alerts?" + urlencode({"failed": f"{name}: {exc.reason or exc}"}))
    return _back(request, "/alerts?" + urlencode({"sent": name}))


@router.get("/health")
def health_page(request: Request) -> HTMLResponse:
    dashboard = dashboard_of(request)
    now = dashboard.now()
    seen = dashboard.views.health(now=now, since=now - timedelta(hours=24))
    return render(request, "health.html", active="health", health=seen, now=now)
