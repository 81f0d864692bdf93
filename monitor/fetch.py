"""Fetching pages: one shared client, conditional GET, size limits, error translation.

httpx errors never leave this module; callers see the ``FetchError`` tree.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import httpx

from monitor.config import HttpConfig
from monitor.errors import BodyTooLarge, FetchError, FetchTimeout, HttpStatusError, TransportError
from monitor.sources.base import FetchedPage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResponse:
    page: FetchedPage
    not_modified: bool
    etag: str | None
    last_modified: str | None
    latency_ms: int


class Fetcher:
    """Owns the HTTP client; inject ``transport`` to fetch without a network."""

    def __init__(self, config: HttpConfig, transport: httpx.AsyncBaseTransport | None = None):
        self._config = config
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=config.timeout.total_seconds(),
            follow_redirects=True,
            max_redirects=config.max_redirects,
            headers={
                "User-Agent": config.user_agent,
                "Accept": "text/html,application/json;q=0.9,*/*;q=0.5",
            },
            limits=httpx.Limits(max_connections=config.max_connections),
        )

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResponse:
        headers = _conditional_headers(etag, last_modified)
        started = time.perf_counter()
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                body = await self._read_limited(response, url)
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"timed out: {exc.__class__.__name__}", url=url) from exc
        except httpx.TooManyRedirects as exc:
            raise TransportError(
                f"more than {self._config.max_redirects} redirects", url=url
            ) from exc
        except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise TransportError(f"{exc.__class__.__name__}: {exc}", url=url) from exc
        latency_ms = round((time.perf_counter() - started) * 1000)
        return _response(url, response, body, latency_ms)

    async def _read_limited(self, response: httpx.Response, url: str) -> bytes:
        limit = self._config.max_body_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(url=url, limit=limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(url=url, limit=limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        await self._client.aclose()


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _response(url: str, response: httpx.Response, body: bytes, latency_ms: int) -> FetchResponse:
    if response.status_code == 304:
        return FetchResponse(
            page=FetchedPage(url=url, status=304, content_type="", body=b""),
            not_modified=True,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            latency_ms=latency_ms,
        )
    if not 200 <= response.status_code < 300:
        raise HttpStatusError(url=url, status=response.status_code)
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    page = FetchedPage(
        url=str(response.url),
        status=response.status_code,
        content_type=content_type,
        body=body,
        encoding=response.charset_encoding,
    )
    return FetchResponse(
        page=page,
        not_modified=False,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        latency_ms=latency_ms,
    )


__all__ = ["FetchError", "FetchResponse", "Fetcher"]
