"""The watch list, adding a watch (with a preview of what it reads), and pausing,
resuming or removing one."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from monitor.core.discover import Discovery, PageKind
from monitor.errors import MonitorError
from monitor.present import duration
from monitor.store.readmodels import WatchQuery, WatchRow
from monitor.watches import WatchEdit
from monitor.web.context import (
    MAX_PAGE,
    Dashboard,
    Filter,
    Id,
    dashboard_of,
    shown_error,
    status_of,
)
from monitor.web.pages.base import _back, _text, checked_form, error_page, render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/watches", status_code=303)


@router.get("/watches")
def watches_page(
    request: Request,
    q: Filter = "",
    status: str = "",
    company: Filter = "",
    kind: Filter = "",
    tag: Filter = "",
    sort: str = "id",
    order: str = "asc",
    page: Annotated[int, Query(le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    dashboard = dashboard_of(request)
    query = WatchQuery(
        search=q,
        status=status if status in ("open", "closed", "failing", "paused", "unseen") else "",
        company=company,
        kind=kind,
        tag=tag.strip().lower(),
        sort=sort if sort in _SORTS else "id",  # type: ignore[arg-type]
        descending=order == "desc",
        page=max(page, 1),
        per_page=dashboard.page_size,
    )
    found = dashboard.views.watches(query)
    params = {"q": q, "status": status, "company": company, "kind": kind, "tag": tag}
    bulk = {k: request.query_params.get(k, "") for k in ("did", "done", "refused")}
    return render(
        request,
        "watches.html",
        active="watches",
        found=found,
        query=query,
        params=params,
        companies=dashboard.views.companies(),
        kinds=dashboard.views.source_kinds(),
        tags=dashboard.views.tags(),
        bulk=bulk if bulk["did"] in BULK_ACTIONS.values() else None,
        back=urlencode({**params, "sort": sort, "order": order, "page": page}),
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
            "members",
            "tags",
        )
    }
    filters = {
        name: [w.strip() for w in values[name].split(",") if w.strip()]
        for name in ("title", "exclude_title", "location", "department")
    }
    try:
        if _text(form, "action") == "save":
            if not values["source"] and _page_only(dashboard, values["url"]):
                # As `watch add` does: a careers page is shown with its boards, never
                # saved as one page; a Workday site's own page is saved as the site.
                found = await _discovered(dashboard, values["url"])
                if found is not None and found.own_site is not None:
                    values["source"] = found.own_site.source_kind or ""
                elif found is not None and found.kind is not PageKind.POSTING:
                    return _new_watch_form(request, values, discovery=found)
            watch_id = dashboard.app.watches.add_from_text(
                url=values["url"],
                interval=values["interval"] or "1h",
                channels=[values["channel"]] if values["channel"] else [],
                filters=filters,
                source=values["source"] or None,
                members=values["members"] or "full",
                tags=_words(values["tags"]),
            )
            watch = dashboard.views.watch(watch_id)
            return RedirectResponse(f"/postings/{watch.posting_id}", status_code=303)
        if not values["source"] and _page_only(dashboard, values["url"]):
            found = await dashboard.discover(values["url"])
            # A careers page: its boards, not its text (a Workday site's own page is
            # previewed as the site, below).
            if found.kind is not PageKind.POSTING and found.own_site is None:
                return _new_watch_form(request, values, discovery=found)
        seen = await dashboard.preview(values["url"], values["source"] or None)
    except MonitorError as exc:
        status, _title = status_of(exc)
        return _new_watch_form(request, values, error=shown_error(exc), status=min(status, 422))
    return _new_watch_form(request, values, preview=seen)


_FILTERS = ("title", "exclude_title", "location", "department")


async def _discovered(dashboard: Dashboard, url: str) -> Discovery | None:
    """The boards of the page at ``url``; None when it cannot be read now (it is then
    watched as a page, as `watch add` does)."""
    try:
        return await dashboard.discover(url)
    except MonitorError:
        return None


def _page_only(dashboard: Dashboard, url: str) -> bool:
    """Whether only the page source takes ``url`` (a careers page, or one posting's)."""
    try:
        return dashboard.app.sources.detect(url).kind == "html"
    except MonitorError:
        return False


@router.get("/watches/{watch_id}/edit")
def edit_watch_page(request: Request, watch_id: Id) -> HTMLResponse:
    watch = dashboard_of(request).views.watch(watch_id)
    return _edit_form(request, watch, _settings_of(watch))


def _settings_of(watch: WatchRow) -> dict[str, str]:
    filters = watch.filters or {}
    return {
        "interval": "" if watch.cron else duration(timedelta(seconds=watch.interval_seconds)),
        "cron": watch.cron or "",
        "channels": ", ".join(watch.channels),
        "render": watch.render,
        "source": watch.source_kind,
        "members": watch.member_reads,
        "tags": ", ".join(watch.tags),
        **{name: ", ".join(filters.get(name, ())) for name in _FILTERS},
    }


def _edit_form(
    request: Request, watch: WatchRow, values: dict[str, str], **extra: Any
) -> HTMLResponse:
    dashboard = dashboard_of(request)
    return render(
        request,
        "watch_edit.html",
        active="watches",
        watch=watch,
        values=values,
        channels=[c.name for c in dashboard.app.config.channels],
        status=extra.pop("status", 200),
        **extra,
    )


@router.post("/watches/{watch_id}/edit")
async def edit_watch(request: Request, watch_id: Id) -> Response:
    """Save a watch's settings, checked as adding checks them; the form again with
    the reason when they cannot be."""
    form = await checked_form(request)
    dashboard = dashboard_of(request)
    watch = dashboard.views.watch(watch_id)
    names = ("interval", "cron", "channels", "render", "source", "members", "tags", *_FILTERS)
    values = {name: _text(form, name) for name in names}
    try:
        dashboard.app.watches.edit(watch_id, _edit_of(values, board=watch.role == "board"))
    except MonitorError as exc:
        status, _title = status_of(exc)
        return _edit_form(request, watch, values, error=shown_error(exc), status=min(status, 422))
    return RedirectResponse(f"/postings/{watch.posting_id}", status_code=303)


def _edit_of(values: dict[str, str], *, board: bool) -> WatchEdit:
    words = {name: _words(values[name]) for name in _FILTERS}
    return WatchEdit(
        interval=values["interval"] or None,
        cron=values["cron"],
        channels=_words(values["channels"]),
        tags=_words(values["tags"]),
        filters=words if board else None,
        render=values["render"] or None,
        source=values["source"] or None,
        members=(values["members"] or None) if board else None,
    )


def _words(text: str) -> list[str]:
    """A comma-separated field's words."""
    return [w.strip() for w in text.split(",") if w.strip()]


BULK_ACTIONS = {
    "pause": "paused",
    "resume": "resumed",
    "remove": "removed",
    "check": "checked",
    "tag": "tagged",
}
MAX_BULK = 200


@router.post("/watches/bulk")
async def bulk_action(request: Request) -> Response:
    """Pause, resume, remove, check or tag the watches ticked in the list; back to the
    list (as it was filtered) saying how many were done and which could not be."""
    form = await checked_form(request)
    action = _text(form, "action")
    if action not in BULK_ACTIONS:
        return error_page(request, 422, "Invalid input", "pick what to do with the selection")
    ids = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()][:MAX_BULK]
    done, refused = await _bulk(request, action, ids, _text(form, "tag"))
    back = _text(form, "back")
    query = urlencode({"did": BULK_ACTIONS[action], "done": done, "refused": refused})
    return RedirectResponse(
        f"/watches?{back + '&' if back.isascii() and back else ''}{query}", status_code=303
    )


async def _bulk(request: Request, action: str, ids: list[int], tag: str) -> tuple[int, str]:
    """How many of ``ids`` ``action`` was done to, and those refused with the reasons."""
    dashboard = dashboard_of(request)
    app, now = dashboard.app, dashboard.now()
    done, refused = 0, []
    for watch_id in ids:
        try:
            if action in ("pause", "resume"):
                app.store.watches.pause_watch(watch_id, paused=action == "pause", now=now)
            elif action == "remove":
                app.store.watches.remove_watch(str(watch_id), now=now)
            elif action == "tag":
                app.watches.tag(watch_id, tag)
            else:
                await app.check_watch(watch_id)
            done += 1
        except MonitorError as exc:
            refused.append(f"#{watch_id}: {shown_error(exc)}")
    if action == "check" and done:
        await app.deliver()
    return done, "; ".join(refused)[:500]


@router.post("/watches/viewed")
async def mark_all_viewed(request: Request) -> Response:
    """Every change so far counts as seen."""
    await checked_form(request)
    dashboard = dashboard_of(request)
    dashboard.app.store.watches.mark_viewed(None, now=dashboard.now())
    return RedirectResponse("/watches", status_code=303)


@router.post("/watches/{watch_id}/check")
async def check_watch_now(request: Request, watch_id: Id) -> Response:
    """Check the watch now; its page then says what the check found."""
    await checked_form(request)
    dashboard = dashboard_of(request)
    outcome = await dashboard.app.check_watch(watch_id)
    await dashboard.app.deliver()
    watch = await dashboard.app.store.run(dashboard.views.watch, watch_id)
    return RedirectResponse(
        f"/postings/{watch.posting_id}?checked={outcome.value}#checked", status_code=303
    )


@router.post("/watches/{watch_id}/{action}")
async def watch_action(request: Request, watch_id: Id, action: str) -> Response:
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
