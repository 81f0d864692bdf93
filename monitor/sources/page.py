"""Any web page: schema.org JSON-LD first, then the page text for what it lacks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar, TypeVar
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from monitor.errors import ParseError, UnsupportedContent
from monitor.extract.page_fields import choose_title, locations_from_lines, title_parts
from monitor.extract.places import region_code, region_name
from monitor.extract.remote import remote_policy
from monitor.extract.requirements import requirements_from_lines
from monitor.extract.salary import salaries_from_lines
from monitor.extract.text import collapse, html_to_lines
from monitor.model import Posting, RemoteKind, RemotePolicy, Requirements
from monitor.sources import jsonld
from monitor.sources.base import FetchedPage
from monitor.urls import canonical_url

T = TypeVar("T")


class WebPageSource:
    """A single posting page (HTML). Reads JSON-LD ``JobPosting`` where present and
    the visible text for salary, requirements and remote policy where it is not."""

    kind: ClassVar[str] = "html"
    title: ClassVar[str] = "Web page (schema.org JSON-LD, then page text)"
    accepts: ClassVar[tuple[str, ...]] = ("text/html", "application/xhtml+xml")

    def matches(self, url: str) -> bool:
        return urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).hostname)

    def is_board(self, url: str) -> bool:
        return False

    def fetch_url(self, url: str) -> str:
        return url

    def source_id(self, url: str) -> str:
        return canonical_url(url)

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        if not page.content_type.startswith(self.accepts):
            raise UnsupportedContent(url=page.url, content_type=page.content_type)
        tree = LexborHTMLParser(page.text())
        found = jsonld.job_postings(tree)
        return [_posting(page, tree, found[0] if found else {}, url)]


def _posting(
    page: FetchedPage, tree: LexborHTMLParser, data: dict[str, object], url: str
) -> Posting:
    title = jsonld.title(data) or _page_title(tree)
    if not title:
        raise ParseError("no job posting found: no JSON-LD JobPosting and no title", url=page.url)
    texts = _texts(tree, jsonld.description_html(data))
    return Posting(
        source_kind=WebPageSource.kind,
        source_id=canonical_url(url),
        url=url,
        title=title,
        company=jsonld.company(data) or _meta(tree, "og:site_name") or _title_company(tree),
        locations=tuple(jsonld.locations(data)) or _first(locations_from_lines, texts, ()),
        salaries=tuple(jsonld.salaries(data)) or _first(salaries_from_lines, texts, ()),
        remote=_remote(texts, data, title),
        requirements=_first(requirements_from_lines, texts, Requirements()),
        employment_type=jsonld.employment_type(data),
        posted_at=jsonld.posted_date(data),
    )


class _Texts:
    """The JSON-LD description's lines first (the posting's own words), then the whole
    page's, which some sites fill while leaving the description short. The page is
    only read when an extractor finds nothing in the description."""

    def __init__(self, tree: LexborHTMLParser, description: str) -> None:
        self._tree = tree
        self._description = description
        self._read: list[list[str]] = []

    def __iter__(self) -> Iterator[list[str]]:
        if self._description:
            if not self._read:
                self._read.append(html_to_lines(self._description))
            yield self._read[0]
        wanted = 2 if self._description else 1
        if len(self._read) < wanted:
            self._read.append(html_to_lines(_main_html(self._tree)))
        yield self._read[wanted - 1]


def _main_html(tree: LexborHTMLParser) -> str:
    """The page's own content region (<main>, one <article>) when it marks one."""
    for selector in ("main", "[role=main]"):
        node = tree.css_first(selector)
        if node is not None and collapse(node.text()):
            return node.html or ""
    articles = tree.css("article")
    if len(articles) == 1 and collapse(articles[0].text()):
        return articles[0].html or ""
    return tree.html or ""


def _texts(tree: LexborHTMLParser, description: str) -> _Texts:
    return _Texts(tree, description)


def _first(extract: Callable[[list[str]], T], texts: Iterable[list[str]], empty: T) -> T:
    for lines in texts:
        value = extract(lines)
        if value:
            return value
    return empty


def _remote(texts: _Texts, data: dict[str, object], title: str) -> RemotePolicy:
    hint = jsonld.remote_hint(data)
    policy = _first(
        lambda lines: remote_policy(lines, hint=hint, labelled=[title]),
        texts,
        RemotePolicy(kind=hint),
    )
    regions = jsonld.applicant_regions(data)
    if not regions or policy.kind is not RemoteKind.REMOTE:
        return policy
    names = [region_name(code) if (code := region_code(r)) else r for r in regions]
    extra = tuple(
        f"remote within {n}"
        for n in dict.fromkeys(names)
        if f"remote within {n}" not in policy.details
    )
    return RemotePolicy(kind=policy.kind, details=policy.details + extra)


def _page_title(tree: LexborHTMLParser) -> str:
    return choose_title(_text(tree, "h1"), _text(tree, "title"), _meta(tree, "og:title"))


def _title_company(tree: LexborHTMLParser) -> str:
    return title_parts(_text(tree, "title")).company


def _text(tree: LexborHTMLParser, selector: str) -> str:
    node = tree.css_first(selector)
    return collapse(node.text()) if node is not None else ""


def _meta(tree: LexborHTMLParser, prop: str) -> str:
    node = tree.css_first(f'meta[property="{prop}"]') or tree.css_first(f'meta[name="{prop}"]')
    return collapse(node.attributes.get("content") or "") if node is not None else ""
