"""The health page: the daemons and workers, the checks of the last 24 hours, the
hosts paused."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from monitor.web.context import dashboard_of
from monitor.web.pages.base import render

router = APIRouter(include_in_schema=False)


@router.get("/health")
def health_page(request: Request) -> HTMLResponse:
    dashboard = dashboard_of(request)
    now = dashboard.now()
    seen = dashboard.views.health(now=now, since=now - timedelta(hours=24))
    return render(request, "health.html", active="health", health=seen, now=now)
