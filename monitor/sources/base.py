"""What a source is: a declared plugin that turns a fetched response into postings."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from monitor.model import Posting


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchedPage:
    """A response body with what a parser needs to read it."""

    url: str
    status: int
    content_type: str
    body: bytes
    encoding: str | None = None

    def text(self) -> str:
        return self.body.decode(self.encoding or "utf-8", errors="replace")


# The first element's name after any XML declaration, comments and doctype. The
# prolog's repetition is possessive: a run of comments that is followed by no element
# (b"<!---->" * 30 + b"x") fails at once instead of trying every way to split the run.
_ROOT = re.compile(rb"^(?:<\?xml[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>|\s)*+<([A-Za-z][\w:.-]*)", re.S)
_RSS_ROOTS = frozenset({b"rss", b"rdf:rdf", b"feed"})
# Elements a saved HTML page or fragment starts with (a widget's <div>, a <meta> before
# anything): none is an XML document's root in any source we read.
_HTML_ROOTS = frozenset(
    b"html head body meta link title base style script noscript template div span p a "
    b"section article main header footer nav aside ul ol li table form iframe img br hr "
    b"h1 h2 h3 h4 h5 h6".split()
)


def sniffed_content_type(body: bytes) -> str:
    """The content type a saved response's bytes say they are (no server sent one):
    JSON by its first character, HTML by its doctype or a first element of HTML's
    (``html``, or a fragment's ``div``, ``meta``...), XML by its declaration or any
    other root element (RSS feeds by theirs); else plain text."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        return "application/json"
    if head[:15].lower().startswith(b"<!doctype html"):
        return "text/html"
    root = _ROOT.match(head)
    if root is None:
        return "text/plain"
    name = root.group(1).lower()
    if name in _HTML_ROOTS:
        return "text/html"
    return "application/rss+xml" if name in _RSS_ROOTS else "application/xml"


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResponse:
    """What one fetch gave: the page (empty on a 304), the validators to store, and
    how long it took. Made by the fetcher, judged by the pure core."""

    page: FetchedPage
    not_modified: bool
    etag: str | None
    last_modified: str | None
    latency_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchRequest:
    """One request a source wants made: a GET of ``url``, or a POST of ``json``."""

    url: str
    method: str = "GET"
    json: Mapping[str, Any] | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    """What the source carries from page to page (a board's total, say)."""
    conditional: bool = True
    """Whether a stored ETag / Last-Modified may make it a 304 (False where an unchanged
    first page says nothing about the rest)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Headers the request needs besides the client's own (a widget's access token)."""


class PagedSource(Protocol):
    """A source whose boards come a page at a time (Workday): the first request, the
    next one after each page (None: that was the last), and the pages made one."""

    def first_request(self, url: str) -> FetchRequest: ...

    def next_request(
        self, url: str, request: FetchRequest, page: FetchedPage
    ) -> FetchRequest | None: ...

    def merge(self, url: str, pages: Sequence[FetchedPage]) -> FetchedPage: ...


@runtime_checkable
class Source(Protocol):
    """A source kind: how to fetch one kind of page or API and read postings from it.

    A watched URL is either one posting or a whole board (``is_board``); either
    way ``parse`` returns postings, one for a posting URL and every listed job
    for a board. ``parse`` is pure.

    A source whose board list lacks fields its job read has sets the class attribute
    ``thin_list = True``: a board watch then also reads each member at its posting URL
    (which the source must read as one job).
    """

    kind: ClassVar[str]
    title: ClassVar[str]
    url_shapes: ClassVar[tuple[str, ...]]
    """The URLs it takes, as a person would write them (``features`` lists them)."""
    accepts: ClassVar[tuple[str, ...]]
    """Content types this source can read (prefix match)."""

    def matches(self, url: str) -> bool:
        """Whether this source handles the URL a user pasted."""
        ...

    def is_board(self, url: str) -> bool:
        """Whether the URL names a whole board rather than one posting."""
        ...

    def fetch_url(self, url: str) -> str:
        """The URL to request for a watched URL (an API endpoint for ATS boards)."""
        ...

    def source_id(self, url: str) -> str:
        """The stable id of what the URL names, without fetching it."""
        ...

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        """Postings in the response for the watched ``url``, not yet normalized."""
        ...
