"""What every page uses: a template rendered with the sign-in state and the CSRF
token, the error page, the form whose CSRF token has been checked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from monitor.errors import Forbidden, MonitorError
from monitor.notify.render import FIELD_LABELS
from monitor.web import security
from monitor.web.context import Dashboard, dashboard_of


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
        checking=_checking(dashboard),
        unseen=_unseen(request, dashboard),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def _checking(dashboard: Dashboard) -> bool:
    """A daemon or worker beat lately (three heartbeats, at least a minute): else every
    page says nothing is checking the watches."""
    every = dashboard.app.config.scheduler.heartbeat_every
    try:
        return dashboard.views.checking(
            since=dashboard.now() - max(every * 3, timedelta(minutes=1))
        )
    except MonitorError:
        return True  # the database cannot say: the page says so itself, not this notice


def _unseen(request: Request, dashboard: Dashboard) -> int | None:
    """The nav's count of watches with changes not yet viewed, for those signed in."""
    if dashboard.credentials.required and not request.state.signed_in:
        return None
    try:
        return dashboard.views.unseen_count()
    except MonitorError:
        return None  # the error page of a database that cannot be reached


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
