"""The web application: dashboard pages, the JSON API and feeds over one store.

``create_web_app`` takes an ``App`` (the same object ``check`` and ``run`` use, for
adding watches and sending) and builds a FastAPI application; reads go through
``Views`` on an engine of their own that never takes SQLite's write lock.

This module only assembles: the routes (``api``, ``pages``, ``feeds_routes``), the
sign-in middleware and the error handlers. What the routes share is in ``context``.
"""

from __future__ import annotations

import hashlib
import logging
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.routing import Route

from monitor.app import App
from monitor.core.discover import Discovery
from monitor.errors import ConfigError, MonitorError
from monitor.preview import Preview, discover_page, preview
from monitor.store.db import Database
from monitor.store.engine import create_db_engine
from monitor.store.sessions import Sessions
from monitor.store.views import Views
from monitor.urls import shown_url, url_problem
from monitor.version import __version__
from monitor.web import api, feeds_routes, filters, pages, security
from monitor.web.context import Dashboard, client_of, clip, problem, shown_error, status_of
from monitor.web.front import Front
from monitor.web.pages.base import error_page
from monitor.web.security import Credentials, Signer

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"


def create_web_app(
    app: App,
    *,
    preview_transport: httpx.AsyncBaseTransport | None = None,
    listen_host: str | None = None,
) -> FastAPI:
    """The dashboard and API for ``app``'s configuration and database, answering to
    loopback names, ``listen_host`` and the configured host names."""
    settings = app.config.web
    credentials = Credentials.from_config(settings)
    views = Views(
        Database(
            create_db_engine(
                app.config.database_url, setting=app.config.database_setting, reads_only=True
            )
        )
    )

    async def run_preview(url: str, kind: str | None = None) -> Preview:
        return await preview(
            app.config, url, sources=app.sources, transport=preview_transport, kind=kind
        )

    async def run_discover(url: str) -> Discovery:
        problem = url_problem(url, app.config.http.networks())
        if problem is not None:
            raise ConfigError(f"{shown_url(url)} can never be fetched: {problem}", source="url")
        return await discover_page(
            app.config, url, sources=app.sources, transport=preview_transport
        )

    dashboard = Dashboard(
        app=app,
        views=views,
        credentials=credentials,
        signer=Signer(_session_key(credentials)),
        instance=app.store.watches.instance_id(),
        templates=_templates(),
        preview=run_preview,
        discover=run_discover,
        page_size=settings.page_size,
        public_url=settings.public_url,
        sessions=Sessions(app.store.database),
    )
    web = FastAPI(
        title="Posting Monitor",
        version=__version__,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    web.state.dashboard = dashboard
    web.add_middleware(_Guard, dashboard=dashboard)
    web.add_middleware(
        Front,
        hosts=security.HostAllowList.from_config(settings, listen_host),
        max_url_bytes=settings.max_url_bytes,
        max_request_bytes=settings.max_request_bytes,
    )
    web.mount("/static", StaticFiles(directory=str(_package_dir("static"))), name="static")
    _add_error_handlers(web)
    web.include_router(api.router, prefix=API_PREFIX)
    web.include_router(feeds_routes.router)
    web.include_router(pages.router)
    return web


def close_web_app(web: FastAPI) -> None:
    """Let go of the read engine's connections."""
    web.state.dashboard.views.engine.dispose()


def _session_key(credentials: Credentials) -> bytes:
    # Derived from the token: sessions survive restarts, and end when the token changes.
    seed = (credentials.token or credentials.password or "").encode()
    return hashlib.sha256(b"posting-monitor session\0" + seed).digest()


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("monitor.web") / name))


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(_package_dir("templates"))),
        autoescape=select_autoescape(["html", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters.FILTERS)
    env.globals["version"] = __version__
    return env


# -- sign-in, CSRF and headers -------------------------------------------------------

_OPEN_PATHS = ("/static/", "/login")


class _Guard(BaseHTTPMiddleware):
    """Sign-in for every route (when credentials are set), a cross-site Origin refused
    on every write, the CSRF cookie handed out, security headers on every answer."""

    def __init__(self, app: Any, *, dashboard: Dashboard) -> None:
        super().__init__(app)
        self._dashboard = dashboard

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        try:
            refused = await self._refusal(request)
        except MonitorError as exc:  # the session store cannot be read
            refused = problem(*status_of(exc), str(exc))
        response = refused if refused is not None else await call_next(request)
        for name, value in security.SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        secure = self._dashboard.secure(request)
        if secure:
            response.headers.setdefault("Strict-Transport-Security", security.HSTS)
        if security.CSRF_COOKIE not in request.cookies:
            response.set_cookie(
                security.CSRF_COOKIE,
                request.state.csrf,
                httponly=True,
                samesite="strict",
                secure=secure,
            )
        return response

    async def _refusal(self, request: Request) -> Response | None:
        request.state.csrf = request.cookies.get(security.CSRF_COOKIE) or security.new_csrf_token()
        request.state.throttled = 0.0
        required = self._dashboard.credentials.required
        request.state.signed_in = required and await self._signed_in(request)
        path = request.url.path
        if request.method not in ("GET", "HEAD", "OPTIONS") and not security.same_origin(
            request.headers.get("origin"), request.headers.get("host")
        ):
            return problem(403, "Cross-site request refused", "The Origin is not this site.")
        if not self._dashboard.credentials.required or path.startswith(_OPEN_PATHS):
            return None
        if request.state.signed_in:
            return None
        if request.state.throttled:
            return _too_many(request.state.throttled)
        return self._challenge(request)

    async def _signed_in(self, request: Request) -> bool:
        dashboard = self._dashboard
        session = request.cookies.get(security.SESSION_COOKIE)
        signed = dashboard.signer.verify(session) if session else None
        # A database read: off the event loop, as the routes' reads are.
        valid: bool = signed is not None and await run_in_threadpool(dashboard.session_ok, signed)
        if valid:
            return True
        header = request.headers.get("authorization")
        token = (
            request.query_params.get("token") if request.url.path.startswith("/feeds/") else None
        )
        if not header and not token:
            return False
        client = client_of(request)
        request.state.throttled = dashboard.throttle.wait(client)
        if request.state.throttled:
            return False  # not even looked at: guessing gets no answer while it waits
        credentials = dashboard.credentials
        ok = credentials.header_ok(header) or bool(token and credentials.feed_token_ok(token))
        if ok:
            dashboard.throttle.succeeded(client)
        else:
            dashboard.throttle.failed(client)
        return ok

    def _challenge(self, request: Request) -> Response:
        credentials = self._dashboard.credentials
        path = request.url.path
        schemes = []
        if credentials.username is not None:
            schemes.append('Basic realm="Posting Monitor", charset="UTF-8"')
        if credentials.token is not None:
            schemes.append('Bearer realm="Posting Monitor"')
        if path.startswith((API_PREFIX, "/feeds/")) or credentials.token is None:
            detail = "Send the token or user name and password."
            if path.startswith("/feeds/"):
                detail += " Feed readers: ?token= takes web.feed_token (never web.token)."
            response = problem(401, "Sign-in required", detail)
            response.headers["WWW-Authenticate"] = ", ".join(schemes)
            return response
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def _too_many(wait: float) -> Response:
    seconds = max(1, round(wait))
    response = problem(
        429, "Too many failed sign-ins", f"Wrong credentials from here: try again in {seconds}s."
    )
    response.headers["Retry-After"] = str(seconds)
    return response


# -- errors --------------------------------------------------------------------------


def _add_error_handlers(web: FastAPI) -> None:
    @web.exception_handler(MonitorError)
    async def monitor_error(request: Request, exc: MonitorError) -> Response:
        status, title = status_of(exc)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        detail = shown_error(exc)
        if request.url.path.startswith(API_PREFIX) or request.url.path.startswith("/feeds/"):
            return problem(status, title, detail)
        return error_page(request, status, title, clip(detail))

    @web.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"where": ".".join(str(p) for p in e["loc"]), "message": clip(e["msg"])}
            for e in exc.errors()[:20]
        ]
        detail = "; ".join(f"{e['where']}: {e['message']}" for e in errors)
        if not request.url.path.startswith(API_PREFIX):
            return error_page(request, 422, "Invalid input", clip(detail))
        return problem(422, "Invalid input", detail, errors=errors)

    @web.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # Starlette's last resort answers outside _Guard: the headers are added here.
        response = problem(500, "Internal error", "The server could not answer this request.")
        response.headers.update(security.SECURITY_HEADERS)
        return response

    @web.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        detail = clip(str(exc.detail))
        response: Response
        if request.url.path.startswith(API_PREFIX):
            response = problem(exc.status_code, _reason(exc.status_code), detail)
        else:
            response = error_page(request, exc.status_code, _reason(exc.status_code), detail)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            first = (exc.headers or {}).get("Allow", "")
            response.headers["Allow"] = ", ".join(_allowed_methods(request.url.path, first))
        return response


def _allowed_methods(path: str, first: str) -> list[str]:
    """Every method the path answers: Starlette names only the first route's (GET for
    /api/v1/watches, which POST answers too)."""
    methods: set[str] = set()
    for router, prefix in ((api.router, API_PREFIX), (feeds_routes.router, "")):
        if not path.startswith(prefix):
            continue
        for route in router.routes:
            if isinstance(route, Route) and route.path_regex.match(path[len(prefix) :]):
                methods |= route.methods or set()
    return sorted(methods) or [m.strip() for m in first.split(",") if m.strip()]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
