"""A posting (its versions, pay over time, what changed) or a board (its postings,
open postings per day, pay of the open ones), and one stored version."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from monitor.errors import MonitorError
from monitor.store.readmodels import ChangeQuery, ChangeRow, PostingQuery
from monitor.web.charts import open_chart, pay_chart, pay_distribution, pay_series
from monitor.web.context import Dashboard, Id, dashboard_of, id_or_none
from monitor.web.filters import change_percent
from monitor.web.pages.base import render

router = APIRouter(include_in_schema=False)
HISTORY_FIELDS = {
    "remote": ("remote",),
    "requirements": ("requirements.minimum", "requirements.preferred"),
}


@router.get("/postings/{posting_id}")
def posting_page(request: Request, posting_id: Id) -> HTMLResponse:
    dashboard = dashboard_of(request)
    posting = dashboard.views.posting(posting_id)
    watch = _watch_of(dashboard, posting.watch_id)
    if watch is not None and watch.posting_id == posting.id:
        dashboard.app.store.watches.mark_viewed([watch.watch_id], now=dashboard.now())
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
    in_time = request.query_params.get("pay_axis") == "time"
    return render(
        request,
        "posting.html",
        active="watches",
        posting=posting,
        watch=watch,
        current=posting.current,
        versions=list(reversed(versions)),
        by_version=by_version,
        chart=pay_chart(
            series, title="Pay over time" if in_time else "Pay by version", in_time=in_time
        ),
        chart_in_time=in_time,
        remote_history=[c for c in history if c.field in HISTORY_FIELDS["remote"]],
        requirement_history=[c for c in history if c.field in HISTORY_FIELDS["requirements"]],
        percent=change_percent,
        title=title,
        failing_since=_failing_since(dashboard, posting),
    )


def _failing_since(dashboard: Dashboard, posting: Any) -> Any:
    return dashboard.views.failing_since(posting.id, posting.consecutive_failures)


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
            before=id_or_none(cursor),
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
        failing_since=_failing_since(dashboard, board),
    )


def _usual_company(postings: list[Any]) -> str:
    """A board's company, read from its postings when the board itself names none."""
    companies = Counter(p.company for p in postings if p.company)
    return companies.most_common(1)[0][0] if companies else ""


@router.get("/postings/{posting_id}/versions/{snapshot_id}")
def version_page(request: Request, posting_id: Id, snapshot_id: Id) -> HTMLResponse:
    dashboard = dashboard_of(request)
    version = dashboard.views.version(posting_id, snapshot_id)
    raw = json.dumps(version.data, indent=2, ensure_ascii=False, sort_keys=True)
    return render(
        request,
        "version.html",
        active="watches",
        posting=dashboard.views.posting(posting_id),
        stored=version,  # not "version": the footer's app version has that name
        raw=raw,
    )
