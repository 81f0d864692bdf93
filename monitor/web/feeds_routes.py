"""Atom feeds: every change, one watch's (a board's postings included), one posting's."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from monitor.store.readmodels import ChangeQuery, change_fields
from monitor.web.caching import etag_of, not_modified, unchanged, validators
from monitor.web.context import Dashboard, Filter, Id, dashboard_of
from monitor.web.feeds import CONTENT_TYPE, atom_feed

router = APIRouter(prefix="/feeds", include_in_schema=False)
FEED_SIZE = 100


@router.get("/changes.atom")
def all_changes(request: Request, field: Filter = "") -> Response:
    """Every change; ``field`` (pay, remote, requirements, status, ...) narrows it."""
    query = ChangeQuery(fields=change_fields([field]) if field else (), limit=FEED_SIZE)
    title = f"Posting Monitor: {field} changes" if field else "Posting Monitor: all changes"
    return _feed(request, query, title=title, key="changes" + (f":{field}" if field else ""))


@router.get("/watches/{watch_id}.atom")
def watch_changes(request: Request, watch_id: Id) -> Response:
    """One watch: its posting, or every posting of its board."""
    dashboard = dashboard_of(request)
    watch = dashboard.views.watch(watch_id)
    name = f"{watch.company} · {watch.title}" if watch.company else watch.title or watch.url
    query = ChangeQuery(watch_id=watch_id, limit=FEED_SIZE)
    return _feed(request, query, title=f"Posting Monitor: {name}", key=f"watch:{watch_id}")


@router.get("/boards/{watch_id}.atom")
def board_changes(request: Request, watch_id: Id) -> Response:
    """A board watch's postings: new, closed, reopened and every field change."""
    return watch_changes(request, watch_id)


@router.get("/postings/{posting_id}.atom")
def posting_changes(request: Request, posting_id: Id) -> Response:
    dashboard = dashboard_of(request)
    posting = dashboard.views.posting(posting_id)
    name = f"{posting.company} · {posting.title}" if posting.company else posting.title
    query = ChangeQuery(posting_id=posting_id, limit=FEED_SIZE)
    return _feed(request, query, title=f"Posting Monitor: {name}", key=f"posting:{posting_id}")


def _feed(request: Request, query: ChangeQuery, *, title: str, key: str) -> Response:
    dashboard: Dashboard = dashboard_of(request)
    rows = dashboard.views.changes(query).items
    base = dashboard.base_url(request)
    body = atom_feed(
        rows,
        feed_id=f"urn:posting-monitor:{dashboard.instance}:feed:{key}",
        title=title,
        self_url=f"{base}{request.url.path}",
        site_url=base,
        instance=dashboard.instance,
        now=dashboard.now(),
    )
    headers = validators(etag_of(body), rows[0].detected_at if rows else None)
    if not_modified(request, headers["ETag"], rows[0].detected_at if rows else None):
        return unchanged(headers)
    return Response(body, media_type=CONTENT_TYPE, headers=headers)
