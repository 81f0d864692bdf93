"""What a watch would read, without storing anything (``test-source`` and the
dashboard's add-a-watch preview)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from monitor.config import MonitorConfig, ReadingConfig
from monitor.core.discover import Discovery, discover, readable
from monitor.core.normalize import normalize
from monitor.errors import ParseError, ReadLimitExceeded
from monitor.model import Posting
from monitor.sources import SourceRegistry
from monitor.sources.base import FetchedPage, Source
from monitor.sources.page import WebPageSource


@dataclass(frozen=True, slots=True, kw_only=True)
class Preview:
    url: str
    source_kind: str
    source_title: str
    is_board: bool
    source_id: str
    fetch_url: str
    postings: tuple[Posting, ...]
    identified_by_page: bool = False
    """The URL has none of the source's shapes; its page said what it is."""


async def preview(
    config: MonitorConfig,
    url: str,
    *,
    sources: SourceRegistry | None = None,
    page: FetchedPage | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    kind: str | None = None,
) -> Preview:
    """Fetch (unless ``page`` is given) and read ``url`` as a check would: with the
    source ``kind`` names, else the one its URL shape picks, or, for a URL only the
    generic page source takes, the one its page turns out to belong to.

    Raises the same errors a check would (FetchError, ParseError, ...)."""
    sources = sources or SourceRegistry.default()
    source = sources.get(kind) if kind else sources.detect(url)
    fetched = page is None
    if page is None:
        page = await fetch_once(config, source, url, transport=transport)
    generic = source.kind == WebPageSource.kind and fetched
    claimant = sources.claimant(url, page) if generic else None
    if claimant is not None:  # the page says what it is: read it as a check of that kind will
        source = claimant
        page = await fetch_once(config, source, url, transport=transport)
    read = await read_once(config.reading, sources, source, page, url)
    return Preview(
        url=url,
        source_kind=source.kind,
        source_title=source.title,
        is_board=source.is_board(url),
        source_id=source.source_id(url),
        fetch_url=source.fetch_url(url),
        postings=tuple(normalize(p) for p in read),
        identified_by_page=claimant is not None,
    )


async def read_once(
    config: ReadingConfig, sources: SourceRegistry, source: Source, page: FetchedPage, url: str
) -> list[Posting]:
    """Read as a check would: in a reader process, within the time limit."""
    from monitor.net.reading import make_reader

    reader = make_reader(
        sources,
        workers=min(config.worker_count(), 1),
        time_limit=config.time_limit.total_seconds(),
    )
    try:
        return await reader.read(source, page, url=url)
    finally:
        await reader.aclose()


async def fetch_once(
    config: MonitorConfig,
    source: Source,
    url: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FetchedPage:
    from monitor.net.fetch import Fetcher

    fetcher = Fetcher(config.http, transport)
    try:
        return (await fetcher.fetch_source(source, url, fetch_url=source.fetch_url(url))).page
    finally:
        await fetcher.aclose()


async def discover_page(
    config: MonitorConfig,
    url: str,
    *,
    sources: SourceRegistry | None = None,
    page: FetchedPage | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    time_limit: float | None = None,
) -> Discovery:
    """The boards the careers page at ``url`` names (fetched unless ``page`` is given),
    each with the registered source that reads it, if any.

    Raises the errors a fetch would (FetchError, ...), and ParseError for a page that
    cannot be read for boards."""
    sources = sources or SourceRegistry.default()
    if page is None:
        page = await fetch_once(config, sources.get(WebPageSource.kind), url, transport=transport)
    # Off the event loop (the dashboard serves others meanwhile), and read where the
    # page ended up after redirects, so its relative links and its host are its own.
    where = page.url or url
    limit = DISCOVERY_SECONDS if time_limit is None else time_limit
    try:
        found = await asyncio.wait_for(asyncio.to_thread(discover, where, page.text()), limit)
    except TimeoutError as exc:
        raise ReadLimitExceeded(
            f"reading the page for boards took over {limit:g} s", url=url
        ) from exc
    except ValueError as exc:  # a page nested too deep to read
        raise ParseError(str(exc), url=url) from exc
    return readable(found, sources)


DISCOVERY_SECONDS = 20.0
