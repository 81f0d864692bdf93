"""The alerts and their delivery: retrying them, and a sample alert to a channel."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from monitor.errors import NotifyError
from monitor.notify.render import sample_alert
from monitor.web.context import Id, dashboard_of, id_or_none
from monitor.web.pages.base import _back, checked_form, error_page, render

router = APIRouter(include_in_schema=False)


@router.get("/alerts")
def alerts_page(request: Request, status: str = "", before: str = "") -> HTMLResponse:
    dashboard = dashboard_of(request)
    found = dashboard.views.alerts(
        status=status if status in ("pending", "sent", "failed") else "",
        before=id_or_none(before),
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
async def retry_alert_form(request: Request, alert_id: Id) -> Response:
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
        await dashboard.app.notifier.send(
            name, sample_alert(dashboard.app.renderer, now=dashboard.now())
        )
    except NotifyError as exc:
        return _back(request, "/alerts?" + urlencode({"failed": f"{name}: {exc.reason or exc}"}))
    return _back(request, "/alerts?" + urlencode({"sent": name}))
