"""Signing in with the API token, and out: a signed session cookie naming a random
session id, which signing out ends on the server (a copy of the cookie stops working).
Wrong tokens from one client make it wait (``Throttle``)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from monitor.web import security
from monitor.web.context import client_of, dashboard_of
from monitor.web.pages.base import _text, checked_form, render

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=_local(next), failed=False)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await checked_form(request)
    dashboard = dashboard_of(request)
    target = _local(_text(form, "next"))
    client = client_of(request)
    wait = dashboard.throttle.wait(client)
    if wait:
        page = render(request, "login.html", status=429, next=target, failed=True)
        page.headers["Retry-After"] = str(max(1, round(wait)))
        return page
    if not dashboard.credentials.token_ok(_text(form, "token")):
        dashboard.throttle.failed(client)
        return render(request, "login.html", status=401, next=target, failed=True)
    dashboard.throttle.succeeded(client)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        security.SESSION_COOKIE,
        dashboard.signer.sign(security.new_session()),
        max_age=security.SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=dashboard.secure(request),
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    dashboard = dashboard_of(request)
    signed = dashboard.signer.verify(request.cookies.get(security.SESSION_COOKIE) or "")
    session = security.session_id(signed)
    if session is not None and dashboard.sessions is not None:
        now = int(time.time())  # the clock the session's expiry is signed with
        await dashboard.app.store.run(
            dashboard.sessions.end, session, expires=now + security.SESSION_SECONDS, now=now
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(security.SESSION_COOKIE)
    return response


def _local(target: str) -> str:
    """Only a path on this site (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"
