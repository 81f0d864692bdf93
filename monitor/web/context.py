"""What every route imports: the ``Dashboard`` a request runs against, and how an
error becomes an HTTP status and an RFC 9457 problem."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import JSONResponse
from jinja2 import Environment

from monitor.app import App
from monitor.core.discover import Discovery
from monitor.errors import (
    BlockedAddress,
    ConfigError,
    Conflict,
    FetchError,
    Forbidden,
    MonitorError,
    NotFound,
    ParseError,
    StoreError,
)
from monitor.preview import Preview
from monitor.store.sessions import Sessions
from monitor.store.views import Views
from monitor.urls import shown_url
from monitor.web.security import Credentials, Signer, Throttle
from monitor.web.security import session_id as security_session_id

log = logging.getLogger(__name__)
PROBLEM_TYPE = "application/problem+json"
# Ids are 64-bit database integers: a larger number is refused as invalid input
# before it reaches the database (where SQLite would overflow: a 500). Text filters
# are bounded too: a 50,000-character LIKE pattern is "too complex" for SQLite.
MAX_ID = 2**63 - 1
MAX_PAGE = 10**9
MAX_FILTER = 500
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Filter = Annotated[str, Query(max_length=MAX_FILTER)]


def id_or_none(text: str | None) -> int | None:
    """A page's ``before`` or ``watch`` parameter: an id, or none when it is not one."""
    return int(text) if text and text.isdigit() and int(text) <= MAX_ID else None


@dataclass(kw_only=True)
class Dashboard:
    """What every route needs: the monitor, its read views and the sign-in rules."""

    app: App
    views: Views
    credentials: Credentials
    signer: Signer
    instance: str
    templates: Environment
    preview: Callable[[str, str | None], Awaitable[Preview]]
    discover: Callable[[str], Awaitable[Discovery]]
    page_size: int
    public_url: str | None = None
    sessions: Sessions | None = None
    throttle: Throttle = field(default_factory=Throttle)
    extra: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.app.clock.now()

    def base_url(self, request: Request) -> str:
        return (self.public_url or str(request.base_url)).rstrip("/")

    def secure(self, request: Request) -> bool:
        """Reached over https: an https ``web.public_url``, or the request's scheme
        (https directly, or a trusted proxy's X-Forwarded-Proto)."""
        public = (self.public_url or "").lower().startswith("https://")
        return public or request.url.scheme == "https"

    def session_ok(self, value: str | None) -> bool:
        """A verified session value whose session was not signed out."""
        session = security_session_id(value)
        if session is None:
            return False
        return self.sessions is None or not self.sessions.ended(session)


def client_of(request: Request) -> str:
    """Who the throttle counts: the client address (a trusted proxy's X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"


def dashboard_of(request: Request) -> Dashboard:
    dashboard: Dashboard = request.app.state.dashboard
    return dashboard


_STATUS: tuple[tuple[type[MonitorError], int, str], ...] = (
    (NotFound, 404, "Not found"),
    (Conflict, 409, "Conflict"),
    (Forbidden, 403, "Forbidden"),
    (ConfigError, 422, "Invalid input"),
    (FetchError, 502, "Could not fetch"),
    (ParseError, 422, "Could not read the page"),
    (StoreError, 503, "Database unavailable"),
)


def status_of(exc: MonitorError) -> tuple[int, str]:
    for kind, status, title in _STATUS:
        if isinstance(exc, kind):
            return status, title
    return 500, "Error"


def shown_error(exc: MonitorError) -> str:
    """What a person is told of ``exc``. A refused address is said in words, never as
    what the name resolved to or the kind of network it is in: the dashboard must not
    answer DNS questions about internal names. The log keeps the whole message."""
    if isinstance(exc, BlockedAddress):
        log.info("refused address: %s", exc, extra={"action": "error"})
        return (
            f"refused: {exc.host} is not a public address "
            f"(allow it with http.allowed_networks) ({shown_url(exc.url)})"
        )
    return str(exc)


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """RFC 9457 problem details (a detail that echoes a long value is clipped)."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": clip(detail)}
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE)


DETAIL_CHARS = 500


def clip(text: str, limit: int = DETAIL_CHARS) -> str:
    """``text``, cut to ``limit`` characters: an error never echoes a whole request."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
