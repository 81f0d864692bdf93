"""What a source is: a declared plugin that turns a fetched response into postings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

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


@runtime_checkable
class Source(Protocol):
    """A source kind: how to fetch one kind of page or API and read postings from it."""

    kind: ClassVar[str]
    title: ClassVar[str]
    accepts: ClassVar[tuple[str, ...]]
    """Content types this source can read (prefix match)."""

    def matches(self, url: str) -> bool:
        """Whether this source handles the URL a user pasted."""
        ...

    def fetch_url(self, url: str) -> str:
        """The URL to request for a watched URL (an API endpoint for ATS boards)."""
        ...

    def parse(self, page: FetchedPage) -> list[Posting]:
        """Every posting in the response, not yet normalized. Pure."""
        ...
