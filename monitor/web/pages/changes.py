"""Every change, newest first, filtered by field, company, watch and day."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from monitor.store.readmodels import FIELD_GROUPS, ChangeQuery, change_fields
from monitor.web.context import Filter, dashboard_of, id_or_none
from monitor.web.filters import change_percent
from monitor.web.pages.base import render

router = APIRouter(include_in_schema=False)


@router.get("/changes")
def changes_page(
    request: Request,
    field: Filter = "",
    company: Filter = "",
    watch: str = "",
    since: str = "",
    before: str = "",
) -> HTMLResponse:
    dashboard = dashboard_of(request)
    query = ChangeQuery(
        fields=change_fields([field]) if field else (),
        company=company,
        watch_id=id_or_none(watch),
        since=_day(since),
        before=id_or_none(before),
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
