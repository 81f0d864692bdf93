"""The JSON API, version 1 (/api/v1). Its OpenAPI document is served at
/api/v1/openapi.json; errors are RFC 9457 problem details.

Lists that grow without bound (postings, changes, alerts) page by cursor, newest
first: pass next_cursor back as cursor. The watches list pages by number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import AfterValidator, BeforeValidator

from monitor.errors import Conflict
from monitor.export import FORMATS, WHAT, export_lines
from monitor.sources import SourceRegistry
from monitor.store import Store
from monitor.store.readmodels import ChangeQuery, PostingQuery, WatchQuery, change_fields
from monitor.urls import shown_url
from monitor.version import __version__
from monitor.watches import WatchEdit
from monitor.web.caching import etag_of, not_modified, unchanged, validators
from monitor.web.context import Filter, Id, PageNumber, QueryId, dashboard_of
from monitor.web.cursors import CURSOR_PATTERN, aware, decode_cursor, encode_cursor
from monitor.web.models import (
    AlertPage,
    ChangePage,
    Checked,
    DiscoverRequest,
    DiscoveryOut,
    FoundBoardOut,
    Health,
    NewWatch,
    PostingOut,
    PostingPage,
    Problem,
    Process,
    Retried,
    VersionOut,
    Watch,
    WatchChanges,
    WatchPage,
    alert_out,
    change_out,
    fields_out,
    posting_out,
    watch_out,
)
from monitor.web.security import Credentials

API_VERSION = "1"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_only(value: object) -> object:
    """A date or date-time as ISO 8601 text; a bare number (which pydantic would read as
    seconds since 1970) is refused."""
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("not an ISO 8601 date-time (e.g. 2026-01-31T09:00:00Z)")
    return value


When = Annotated[
    datetime | None,
    BeforeValidator(_iso_only),
    Query(description="ISO 8601 date-time; UTC when it names no offset."),
]
ChangeKindFilter = Literal[
    "", "new", "changed", "added", "removed", "reworded", "closed", "reopened", "reposted"
]
ChangeField = Literal[
    "pay",
    "salary",
    "remote",
    "requirements",
    "requirements.minimum",
    "requirements.preferred",
    "status",
    "title",
    "company",
    "locations",
    "employment_type",
    "monitor",
]
"""What changes are filtered by: FIELD_GROUPS' names and the stored fields they mean."""


@cache
def source_kinds() -> tuple[str, ...]:
    """Every registered source kind (built in or from a plugin)."""
    return tuple(sorted(source.kind for source in SourceRegistry.default()))


def _known_kind(value: str) -> str:
    if value and value not in source_kinds():
        raise ValueError(f"unknown source kind {value!r}; one of: {', '.join(source_kinds())}")
    return value


SourceKind = Annotated[
    str,
    AfterValidator(_known_kind),
    Query(
        description="A source kind (`posting-monitor features` lists them); empty: any.",
        json_schema_extra={"enum": ["", *source_kinds()]},
    ),
]
Cursor = Annotated[
    str | None, Query(pattern=CURSOR_PATTERN, description="next_cursor of the previous page.")
]
_PROBLEM: dict[str, Any] = {"model": Problem, "content": {"application/problem+json": {}}}
router = APIRouter(
    responses={
        401: {**_PROBLEM, "description": "Sign-in required (web.token or user and password)."},
        403: {**_PROBLEM, "description": "A write from another site."},
        422: {**_PROBLEM, "description": "Invalid input."},
        429: {**_PROBLEM, "description": "Too many failed sign-ins: wait Retry-After seconds."},
        500: {**_PROBLEM, "description": "The server could not answer (a bug: please report)."},
        503: {**_PROBLEM, "description": "The database cannot be reached."},
    }
)
_UNREADABLE: dict[int | str, dict[str, Any]] = {
    400: {**_PROBLEM, "description": "The body cannot be read (not UTF-8)."}
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {**_PROBLEM, "description": "No such resource."}
}


# -- watches -------------------------------------------------------------------------


@router.get("/watches", response_model=WatchPage, tags=["watches"])
def list_watches(
    request: Request,
    q: Filter = "",
    status: Literal["", "open", "closed", "failing", "paused", "unseen"] = "",
    company: Filter = "",
    kind: SourceKind = "",
    tag: Filter = "",
    sort: Literal[
        "id", "title", "company", "status", "last_change", "last_check", "next_check", "failures"
    ] = "id",
    order: Literal["asc", "desc"] = "asc",
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> WatchPage:
    """Every active watch with its posting (or board) and check state."""
    query = WatchQuery(
        search=q,
        status=status,
        company=company,
        kind=kind,
        tag=tag.strip().lower(),
        sort=sort,
        descending=order == "desc",
        page=page,
        per_page=per_page,
    )
    found = dashboard_of(request).views.watches(query)
    return WatchPage(
        items=[watch_out(w) for w in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        pages=found.pages,
    )


@router.get("/watches/{watch_id}", response_model=Watch, tags=["watches"], responses=_NOT_FOUND)
def get_watch(request: Request, watch_id: Id) -> Watch:
    return watch_out(dashboard_of(request).views.watch(watch_id))


@router.post(
    "/watches",
    response_model=Watch,
    status_code=201,
    tags=["watches"],
    responses=_UNREADABLE,
)
def create_watch(request: Request, body: NewWatch) -> Watch:
    """Add a watch (as `posting-monitor watch add` does); 422 with the reason when it cannot be."""
    dashboard = dashboard_of(request)
    record = dashboard.app.watches.add_from_text(
        url=body.url,
        interval=body.interval,
        channels=body.channels,
        filters=body.filters.model_dump() if body.filters else None,
        render=body.render,
        source=body.source,
        members=body.members,
        tags=body.tags,
    )
    return watch_out(dashboard.views.watch(record))


@router.post(
    "/discover",
    response_model=DiscoveryOut,
    tags=["watches"],
    responses={
        **_UNREADABLE,
        502: {**_PROBLEM, "description": "The page could not be fetched."},
    },
)
async def discover_boards(request: Request, body: DiscoverRequest) -> DiscoveryOut:
    """The job boards a company's careers page names, each with how it was found and
    whether it can be watched (as `posting-monitor discover` does); stores nothing."""
    found = await dashboard_of(request).discover(body.url)
    return DiscoveryOut(
        page_url=shown_url(found.page_url),
        page_kind=found.kind.value,
        boards=[FoundBoardOut(**board.to_dict()) for board in found.boards],
        advice=None if found.proposed else found.advice,
    )


@router.patch(
    "/watches/{watch_id}",
    response_model=Watch,
    tags=["watches"],
    responses={
        **_NOT_FOUND,
        **_UNREADABLE,
        409: {**_PROBLEM, "description": "A watch from the config file."},
    },
)
def edit_watch(request: Request, watch_id: Id, body: WatchChanges) -> Watch:
    """Change a watch's settings (those sent; checked as adding is); 422 with the reason
    when one cannot be, 409 for a watch the configuration file lists."""
    dashboard = dashboard_of(request)
    edit = WatchEdit(
        **body.model_dump(exclude={"filters"}),
        filters=body.filters.model_dump() if body.filters else None,
    )
    dashboard.app.watches.edit(watch_id, edit)
    return watch_out(dashboard.views.watch(watch_id))


@router.post(
    "/watches/{watch_id}/check",
    response_model=Checked,
    tags=["watches"],
    responses={**_NOT_FOUND, 409: {**_PROBLEM, "description": "Being checked right now."}},
)
async def check_watch(request: Request, watch_id: Id) -> Checked:
    """Check the watch now (due or not) and write what it found; its alerts are sent."""
    dashboard = dashboard_of(request)
    outcome = await dashboard.app.check_watch(watch_id)
    await dashboard.app.deliver()
    watch = await dashboard.app.store.run(dashboard.views.watch, watch_id)
    return Checked(outcome=outcome.value, watch=watch_out(watch))


@router.delete("/watches/{watch_id}", status_code=204, tags=["watches"], responses=_NOT_FOUND)
def delete_watch(request: Request, watch_id: Id) -> None:
    """Stop watching; the history stays (and comes back if the URL is added again)."""
    dashboard = dashboard_of(request)
    dashboard.app.store.watches.remove_watch(str(watch_id), now=dashboard.now())


@router.post(
    "/watches/{watch_id}/pause", response_model=Watch, tags=["watches"], responses=_NOT_FOUND
)
def pause_watch(request: Request, watch_id: Id) -> Watch:
    dashboard = dashboard_of(request)
    dashboard.app.store.watches.pause_watch(watch_id, paused=True, now=dashboard.now())
    return watch_out(dashboard.views.watch(watch_id))


@router.post(
    "/watches/{watch_id}/resume", response_model=Watch, tags=["watches"], responses=_NOT_FOUND
)
def resume_watch(request: Request, watch_id: Id) -> Watch:
    """Check again, starting now."""
    dashboard = dashboard_of(request)
    dashboard.app.store.watches.pause_watch(watch_id, paused=False, now=dashboard.now())
    return watch_out(dashboard.views.watch(watch_id))


# -- postings, versions, changes -----------------------------------------------------


@router.get("/postings", response_model=PostingPage, tags=["postings"])
def list_postings(
    request: Request,
    status: Literal["", "open", "closed"] = "",
    company: Filter = "",
    watch: QueryId = None,
    board: QueryId = None,
    kind: SourceKind = "",
    q: Filter = "",
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PostingPage:
    """Postings, newest first (board members included)."""
    query = PostingQuery(
        status=status,
        company=company,
        watch_id=watch,
        board_id=board,
        source_kind=kind,
        search=q,
        before=decode_cursor(cursor),
        limit=limit,
    )
    found = dashboard_of(request).views.postings(query)
    return PostingPage(
        items=[posting_out(p) for p in found.items], next_cursor=encode_cursor(found.next_before)
    )


@router.get(
    "/postings/{posting_id}", response_model=PostingOut, tags=["postings"], responses=_NOT_FOUND
)
def get_posting(request: Request, posting_id: Id) -> PostingOut:
    return posting_out(dashboard_of(request).views.posting(posting_id))


@router.get(
    "/postings/{posting_id}/versions",
    response_model=list[VersionOut],
    tags=["postings"],
    responses=_NOT_FOUND,
)
def list_versions(request: Request, posting_id: Id) -> list[VersionOut]:
    """Every stored version (the newest 500), oldest first."""
    views = dashboard_of(request).views
    views.posting(posting_id)  # 404 for an unknown posting, not an empty list
    return [
        VersionOut(id=v.snapshot_id, captured_at=v.captured_at, fields=fields_out(v.posting))
        for v in views.versions(posting_id)
    ]


@router.get("/changes", response_model=ChangePage, tags=["changes"])
def list_changes(
    request: Request,
    since: When = None,
    until: When = None,
    field: Annotated[list[ChangeField], Query()] = [],  # noqa: B006 - FastAPI reads the default
    kind: ChangeKindFilter = "",
    watch: QueryId = None,
    posting: QueryId = None,
    company: Filter = "",
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ChangePage:
    """Every change, newest first. field: pay, remote, requirements, status, title,
    company, locations, employment_type (repeatable)."""
    query = ChangeQuery(
        fields=change_fields(field),
        kind=kind,
        company=company,
        watch_id=watch,
        posting_id=posting,
        since=aware(since),
        until=aware(until),
        before=decode_cursor(cursor),
        limit=limit,
    )
    found = dashboard_of(request).views.changes(query)
    return ChangePage(
        items=[change_out(c) for c in found.items], next_cursor=encode_cursor(found.next_before)
    )


# -- exports -------------------------------------------------------------------------


def _export(request: Request, what: str, fmt: str, since: datetime | None) -> Response:
    dashboard = dashboard_of(request)
    # A store on the read-only engine: streaming a million rows holds no write lock.
    reader = Store(dashboard.views.engine)
    stamp, last_modified = reader.maintenance.export_stamp(what, since=aware(since))
    headers = validators(etag_of(*stamp, fmt), last_modified)
    if not_modified(request, headers["ETag"], last_modified):
        return unchanged(headers)
    rows = reader.maintenance.export_rows(what, since=aware(since))
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    name = dashboard.now().strftime("%Y%m%d-%H%M%S")
    headers["Content-Disposition"] = f'attachment; filename="{what}-{name}.{fmt}"'
    return StreamingResponse(
        _encoded(export_lines(rows, what, fmt)), media_type=media, headers=headers
    )


def _encoded(lines: Iterator[str]) -> Iterator[bytes]:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= 500:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()


def _export_route(what: str, fmt: str) -> None:
    def export(request: Request, since: When = None) -> Response:
        return _export(request, what, fmt, since)

    export.__doc__ = f"All {what} as {'CSV' if fmt == 'csv' else 'JSON Lines'}, streamed."
    router.add_api_route(
        f"/{what}.{fmt}",
        export,
        methods=["GET"],
        tags=["exports"],
        name=f"export_{what}_{fmt}",
        response_class=StreamingResponse,
        responses={304: {"description": "Not modified since the ETag or date sent."}},
    )


for _what in WHAT:
    for _fmt in FORMATS:
        _export_route(_what, _fmt)


# -- alerts and health ---------------------------------------------------------------


@router.get("/alerts", response_model=AlertPage, tags=["alerts"])
def list_alerts(
    request: Request,
    status: Literal["", "pending", "sent", "failed"] = "",
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AlertPage:
    found = dashboard_of(request).views.alerts(
        status=status, before=decode_cursor(cursor), limit=limit
    )
    return AlertPage(
        items=[alert_out(a) for a in found.items], next_cursor=encode_cursor(found.next_before)
    )


@router.post(
    "/alerts/{alert_id}/retry",
    response_model=Retried,
    tags=["alerts"],
    responses={**_NOT_FOUND, 409: {**_PROBLEM, "description": "The alert has not failed."}},
)
def retry_alert(request: Request, alert_id: Id) -> Retried:
    """Queue a failed alert again (409 if it is not failed)."""
    dashboard = dashboard_of(request)
    alert = dashboard.views.alert(alert_id)
    if alert.status != "failed":
        raise Conflict(f"alert {alert_id} is {alert.status}, not failed")
    return Retried(retried=dashboard.app.store.outbox.retry_alerts([alert_id], now=dashboard.now()))


@router.get("/health", response_model=Health, tags=["health"])
def health(request: Request) -> Health:
    dashboard = dashboard_of(request)
    now = dashboard.now()
    seen = dashboard.views.health(now=now, since=now - timedelta(hours=24))

    return Health(
        version=__version__,
        watches=seen.watches,
        postings=seen.postings,
        failing=seen.failing,
        checks_last_24h=seen.outcomes,
        alerts=seen.alerts,
        processes=[Process.model_validate(p, from_attributes=True) for p in seen.processes],
        paused_hosts=dict(seen.paused_hosts),
    )


# -- the OpenAPI document and its page -----------------------------------------------


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(openapi_document(request.app))


@router.get("/docs", include_in_schema=False, response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    document = openapi_document(request.app)
    template = dashboard_of(request).templates.get_template("api_docs.html")
    return HTMLResponse(template.render(request=request, doc=document, active="api"))


def openapi_document(web: Any) -> dict[str, Any]:
    """FastAPI's document of the API routes (pages and feeds are left out of it),
    with its version, description and sign-in schemes."""
    if getattr(web.state, "openapi", None) is None:
        web.title, web.version, web.description = (
            "Posting Monitor API",
            API_VERSION,
            (__doc__ or "").strip(),
        )
        document = dict(web.openapi())
        document["servers"] = [{"url": "/"}]
        _declare_security(document, web.state.dashboard.credentials)
        _problems_as_problem_json(document)
        web.state.openapi = document
    return dict(web.state.openapi)


def _declare_security(document: dict[str, Any], credentials: Credentials) -> None:
    """The sign-in the server enforces: the token (Bearer) and/or user and password
    (Basic) when set; with neither, none (``{}``: the API is open on loopback)."""
    schemes: dict[str, Any] = {}
    if credentials.token is not None:
        schemes["bearer"] = {"type": "http", "scheme": "bearer", "description": "web.token"}
    if credentials.username is not None:
        schemes["basic"] = {
            "type": "http",
            "scheme": "basic",
            "description": "web.username and web.password",
        }
    if schemes:
        document.setdefault("components", {})["securitySchemes"] = schemes
    document["security"] = [{name: []} for name in schemes] or [{}]


def _problems_as_problem_json(document: dict[str, Any]) -> None:
    """Errors are served as application/problem+json: say so in the document (FastAPI
    files every model under application/json)."""
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for operations in document["paths"].values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if content.get("application/json", {}).get("schema") == problem_ref:
                    response["content"] = {"application/problem+json": {"schema": problem_ref}}


__all__ = ["router"]
