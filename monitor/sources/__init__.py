"""Source plugins and the registry that picks one for a URL.

Built-in sources and those from other packages (entry-point group
``posting_monitor.sources``) are registered the same way; the registry is an
object built at start, not a process-wide global.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points

from monitor.errors import MonitorError, ParseError, SourceError
from monitor.extract.text import TooDeep
from monitor.model import Posting
from monitor.sources.adp import AdpSource
from monitor.sources.ashby import AshbySource
from monitor.sources.bamboohr import BambooHRSource
from monitor.sources.base import FetchedPage, Source
from monitor.sources.comeet import ComeetSource
from monitor.sources.eightfold import EightfoldSource
from monitor.sources.greenhouse import GreenhouseSource
from monitor.sources.hosted import BreezySource, IcimsSource, JazzHRSource, SuccessFactorsSource
from monitor.sources.join import JoinSource
from monitor.sources.lever import LeverSource
from monitor.sources.oracle import OracleSource
from monitor.sources.page import WebPageSource
from monitor.sources.personio import PersonioSource
from monitor.sources.pinpoint import PinpointSource
from monitor.sources.recruitee import RecruiteeSource
from monitor.sources.rippling import RipplingSource
from monitor.sources.smartrecruiters import SmartRecruitersSource
from monitor.sources.teamtailor import TeamtailorSource
from monitor.sources.workable import WorkableSource
from monitor.sources.workday import WorkdaySource

ENTRY_POINT_GROUP = "posting_monitor.sources"
BUILTIN_SOURCES: tuple[type[Source], ...] = (
    GreenhouseSource,
    LeverSource,
    AshbySource,
    WorkableSource,
    SmartRecruitersSource,
    RecruiteeSource,
    PersonioSource,
    TeamtailorSource,
    BambooHRSource,
    WorkdaySource,
    IcimsSource,
    SuccessFactorsSource,
    JazzHRSource,
    BreezySource,
    OracleSource,
    EightfoldSource,
    RipplingSource,
    PinpointSource,
    ComeetSource,
    JoinSource,
    AdpSource,
    WebPageSource,
)

__all__ = [
    "BUILTIN_SOURCES",
    "FetchedPage",
    "Source",
    "SourceRegistry",
    "read_page",
    "reads_jobs_of_members",
]

# What reading JSON or HTML of an unexpected shape raises in parsing code (a number
# where a list was, a missing key, a string too deep to recurse into, a number too
# big for a date or a Decimal: OverflowError, decimal.InvalidOperation).
_SHAPE_ERRORS = (
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    IndexError,
    RecursionError,
    OverflowError,
    # A number a Decimal cannot hold (NaN, infinity in arithmetic) is the data's shape;
    # a division by zero stays a parser bug, reported as a crash with its traceback.
    decimal.InvalidOperation,
)


def reads_jobs_of_members(source: Source) -> bool:
    """Whether a board of this source is thin (its list lacks pay, requirements and the
    remote policy's text) and its members' jobs are read one by one. A plugin that does
    not say is taken as giving full lists."""
    return bool(getattr(source, "thin_list", False))


def read_page(source: Source, page: FetchedPage, *, url: str) -> list[Posting]:
    """Postings read from ``page`` by ``source``. Whatever a server sends, the result is
    postings or a ``MonitorError``: a body of a shape no source expects is a
    ``ParseError`` (recorded on the posting, retried), never a crashed check."""
    if not page.body.strip():
        raise ParseError(f"empty response body (HTTP {page.status})", url=page.url)
    try:
        return source.parse(page, url=url)
    except MonitorError:
        raise
    except TooDeep as exc:
        raise ParseError(str(exc), url=page.url) from exc
    except _SHAPE_ERRORS as exc:
        raise ParseError(
            f"unexpected response structure ({exc.__class__.__name__}: {exc})", url=page.url
        ) from exc


class SourceRegistry:
    """Source kinds by name; detection tries specific sources before the generic page."""

    def __init__(self, sources: Iterable[Source]) -> None:
        self._by_kind: dict[str, Source] = {}
        for source in sources:
            self.register(source)

    @classmethod
    def default(cls) -> SourceRegistry:
        registry = cls(source_class() for source_class in BUILTIN_SOURCES)
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            registry.register(entry.load()())
        return registry

    def register(self, source: Source) -> None:
        if source.kind in self._by_kind:
            raise SourceError(f"source kind {source.kind!r} is registered twice")
        self._by_kind[source.kind] = source

    def get(self, kind: str) -> Source:
        try:
            return self._by_kind[kind]
        except KeyError:
            known = ", ".join(sorted(self._by_kind))
            raise SourceError(f"unknown source kind {kind!r} (known: {known})") from None

    def detect(self, url: str) -> Source:
        """The most specific source that handles ``url``; the generic page source last."""
        generic = [s for s in self._by_kind.values() if s.kind == WebPageSource.kind]
        specific = [s for s in self._by_kind.values() if s.kind != WebPageSource.kind]
        for source in [*specific, *generic]:
            if source.matches(url):
                return source
        raise SourceError(f"no source handles {url!r}: only http and https URLs can be watched")

    def claimant(self, url: str, page: FetchedPage) -> Source | None:
        """A specific source that knows ``page`` as its own although ``url`` has none of
        its shapes (a Workday site on the company's domain), or None. Sources say so
        with an optional ``claims(url, page)``."""
        for source in self._by_kind.values():
            claims = getattr(source, "claims", None)
            if source.kind != WebPageSource.kind and claims is not None and claims(url, page):
                return source
        return None

    def __iter__(self) -> Iterator[Source]:
        return iter(self._by_kind.values())
