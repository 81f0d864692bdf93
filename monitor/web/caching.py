"""Conditional GET for feeds and exports: an ``ETag`` and ``Last-Modified`` on every
answer, and ``304 Not Modified`` when the client already holds this version (a feed
reader polling every few minutes, a script fetching an export nightly)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request, Response

# Shared caches must not keep what may need sign-in; the client revalidates each time.
CACHE_CONTROL = "private, no-cache"


def etag_of(*parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f'"{digest}"'


def validators(etag: str, last_modified: datetime | None) -> dict[str, str]:
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    return headers


def not_modified(request: Request, etag: str, last_modified: datetime | None) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when sent; else If-Modified-Since."""
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    since = _http_date(request.headers.get("if-modified-since"))
    if since is None or last_modified is None:
        return False
    return last_modified.astimezone(UTC).replace(microsecond=0) <= since


def unchanged(headers: dict[str, str]) -> Response:
    return Response(status_code=304, headers=headers)


def _http_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
