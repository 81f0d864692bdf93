"""Any web page: schema.org JSON-LD first, then the page text for what it lacks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar, TypeVar
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from monitor.errors import ParseError, UnsupportedContent
from monitor.extract.page_fields import choose_title, locations_from_lines, title_parts
from monitor.extract.remote import RemoteReading, read_remote
from monitor.extract.requirements import requirements_from_lines
from monitor.extract.salary import salaries_from_lines
from monitor.extract.text import collapse, html_to_lines, parse_html
from monitor.model import Posting, Provenance, RemoteKind, RemotePolicy, Requirements
from monitor.sources import jsonld
from monitor.sources.base import FetchedPage
from monitor.sources.common import remote_source
from monitor.sources.workday import settings as workday_settings
from monitor.urls import canonical_url

T = TypeVar("T")


class WebPageSource:
    """A single posting page (HTML). Reads JSON-LD ``JobPosting`` where present and
    the visible text for salary, requirements and remote policy where it is not."""

    kind: ClassVar[str] = "html"
    title: ClassVar[str] = "Web page (schema.org JSON-LD, then page text)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "any other http(s) page: schema.org JobPosting JSON-LD, then the page's text",
    )
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
        tree = parse_html(page.text())
        found = jsonld.job_postings(tree)
        if not found:
            _refuse_known_app(page)
        return [_posting(page, tree, found[0] if found else {}, url)]


def _refuse_known_app(page: FetchedPage) -> None:
    """A career site whose page is only a shell for its API: its text is no posting
    (the title would be "Careers"), and the error says how to watch it."""
    workday = workday_settings(page.text())
    if workday is not None:
        tenant, site = workday
        raise ParseError(
            f"a Workday career site (tenant {tenant!r}, site {site!r}) on its own domain: "
            'watch it with source = "workday" (watch add --source workday URL)',
            url=page.url,
        )


def _posting(
    page: FetchedPage, tree: LexborHTMLParser, data: dict[str, object], url: str
) -> Posting:
    title = jsonld.title(data) or _page_title(tree)
    if not title:
        raise ParseError("no job posting found: no JSON-LD JobPosting and no title", url=page.url)
    texts = _texts(tree, jsonld.description_html(data))
    company = _pick(
        ("JSON-LD hiringOrganization", lambda: jsonld.company(data)),
        ("og:site_name", lambda: _meta(tree, "og:site_name")),
        ("page <title>", lambda: _title_company(tree)),
    )
    places = _pick(
        ("JSON-LD jobLocation", lambda: tuple(jsonld.locations(data))),
        ("Location line of the page", lambda: _first(locations_from_lines, texts, ())),
    )
    pay = _pick(
        ("JSON-LD baseSalary", lambda: tuple(jsonld.salaries(data))),
        ("page text", lambda: _first(salaries_from_lines, texts, ())),
    )
    reading = _remote(texts, data, title)
    requirements = _first(requirements_from_lines, texts, Requirements())
    return Posting(
        source_kind=WebPageSource.kind,
        source_id=canonical_url(url),
        url=url,
        title=title,
        company=company[1],
        locations=places[1],
        salaries=pay[1],
        remote=reading.policy,
        requirements=requirements,
        employment_type=jsonld.employment_type(data),
        posted_at=jsonld.posted_date(data),
        provenance=Provenance(
            sources=tuple(
                (name, source)
                for name, (source, value) in (
                    ("company", company),
                    ("locations", places),
                    ("salary", pay),
                    (
                        "remote",
                        (
                            remote_source(reading, "JSON-LD jobLocationType", "page text"),
                            reading.policy,
                        ),
                    ),
                    (
                        "remote details",
                        (reading.details_source("page text"), reading.policy.details),
                    ),
                    ("requirements", ("page text", requirements)),
                )
                if value
            ),
            disagreements=reading.disagreements("JSON-LD jobLocationType"),
        ),
    )


def _pick(*candidates: tuple[str, Callable[[], T]]) -> tuple[str, T]:
    """The first candidate with a value, with the name of where it came from; later
    candidates are not computed (reading the whole page is the costly part)."""
    found: T | None = None
    for name, read in candidates:
        found = read()
        if found:
            return name, found
    assert found is not None  # the last candidate's empty value
    return "", found


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


def _remote(texts: _Texts, data: dict[str, object], title: str) -> RemoteReading:
    hint = jsonld.remote_hint(data)
    reading = RemoteReading(policy=RemotePolicy(kind=hint), hint=hint, text=RemoteKind.UNKNOWN)
    for lines in texts:
        reading = read_remote(lines, hint=hint, labelled=[title])
        if reading.text is not RemoteKind.UNKNOWN or reading.text_details:
            break  # the text spoke; a structured kind alone does not stop the page's text
    return reading.with_stated_regions(
        jsonld.applicant_region_details(data), "JSON-LD applicantLocationRequirements"
    )


def _page_title(tree: LexborHTMLParser) -> str:
    return choose_title(_heading(tree), _text(tree, "title"), _meta(tree, "og:title"))


_CHROME_TAGS = frozenset(("nav", "aside", "footer"))


def _heading(tree: LexborHTMLParser) -> str:
    """The first <h1> that is not part of a menu, sidebar or footer."""
    for node in tree.css("h1"):
        parent, in_chrome = node.parent, False
        while parent is not None and not in_chrome:
            in_chrome = parent.tag in _CHROME_TAGS
            parent = parent.parent
        if not in_chrome and collapse(node.text()):
            return collapse(node.text())
    return ""


def _title_company(tree: LexborHTMLParser) -> str:
    return title_parts(_text(tree, "title")).company


def _text(tree: LexborHTMLParser, selector: str) -> str:
    node = tree.css_first(selector)
    return collapse(node.text()) if node is not None else ""


def _meta(tree: LexborHTMLParser, prop: str) -> str:
    node = tree.css_first(f'meta[property="{prop}"]') or tree.css_first(f'meta[name="{prop}"]')
    return collapse(node.attributes.get("content") or "") if node is not None else ""
