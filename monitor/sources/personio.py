"""Personio job feed: {company}.jobs.personio.de/xml (also .com).

An XML list of ``<position>``s: ``id``, ``name``, ``office`` and
``additionalOffices``, ``department``, ``employmentType`` / ``schedule`` /
``seniority`` enumerations, ``createdAt``, and named ``jobDescription`` blocks
("Your profile", "Dein Profil", ...) whose names say which holds the requirements.
No pay field: pay is read from the text. An office named "Remote" is a workplace.
"""

from __future__ import annotations

import html
import re
from typing import ClassVar
from xml.etree import ElementTree as ET

from monitor.errors import ParseError, UnsupportedContent
from monitor.model import Posting
from monitor.sources.base import FetchedPage
from monitor.sources.common import AtsSource, build_posting, parse_date

# Personio's enumerations, as a person would write them.
_EMPLOYMENT = {
    "permanent": "permanent",
    "intern": "internship",
    "trainee": "traineeship",
    "freelance": "freelance",
    "temporary": "temporary",
    "working_student": "working student",
}
_SCHEDULE = {
    "full-time": "full-time",
    "part-time": "part-time",
    "full-or-part-time": "full- or part-time",
}
_XML_TYPES = ("application/xml", "text/xml", "application/rss+xml", "text/plain")


class PersonioSource(AtsSource):
    """Personio careers site (the XML feed of every open position, or one of them)."""

    kind: ClassVar[str] = "personio"
    title: ClassVar[str] = "Personio XML feed (board or single position)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "{company}.jobs.personio.de",
        "{company}.jobs.personio.de/xml",
        "{company}.jobs.personio.de/job/{id}",
        "{company}.jobs.personio.com[/job/{id}]",
    )
    accepts: ClassVar[tuple[str, ...]] = _XML_TYPES
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(
            r"^https?://(?P<board>[\w-]+)\.jobs\.personio\.(?P<host>de|com)/job/(?P<job>\d+)"
        ),
        re.compile(
            r"^https?://(?P<board>[\w-]+)\.jobs\.personio\.(?P<host>de|com)/?(?:xml)?/?(?:[?#].*)?$"
        ),
    )

    def fetch_url(self, url: str) -> str:
        located = self._located(url)
        return f"https://{located.board}.jobs.personio.{located.host}/xml"

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        located = self._located(url)
        root = _xml(page)
        postings = [
            _posting(position, located.board, located.host) for position in root.iter("position")
        ]
        return self.only(postings, url)


def _xml(page: FetchedPage) -> ET.Element:
    if not page.content_type.startswith(_XML_TYPES):
        raise UnsupportedContent(url=page.url, content_type=page.content_type)
    parser = ET.XMLParser(target=_NoDoctype())  # noqa: S314 - refuses any DTD (below)
    try:
        parser.feed(page.body)
        return parser.close()
    except _DoctypeFound as exc:
        raise ParseError("XML with a document type declaration is refused", url=page.url) from exc
    except ET.ParseError as exc:
        raise ParseError(f"malformed XML: {exc}", url=page.url) from exc


class _DoctypeFound(Exception):
    pass


class _NoDoctype(ET.TreeBuilder):
    """Builds the tree, but stops the parse at a document type declaration, wherever
    it stands and in whatever encoding: a job feed needs none, and the entities it
    could declare are how a hostile feed would try to use memory (or read files).
    The parser calls this when the declaration starts, before any entity in it."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _DoctypeFound(name)


def _text(element: ET.Element, tag: str) -> str:
    found = element.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _posting(position: ET.Element, board: str, tld: str) -> Posting:
    job_id = _text(position, "id")
    offices = [_text(position, "office")] + [
        (office.text or "").strip() for office in position.iterfind("additionalOffices/office")
    ]
    blocks = [
        (_text(block, "name"), _text(block, "value"))
        for block in position.iterfind("jobDescriptions/jobDescription")
    ]
    kinds = [
        _EMPLOYMENT.get(_text(position, "employmentType"), ""),
        _SCHEDULE.get(_text(position, "schedule"), ""),
    ]
    return build_posting(
        kind=PersonioSource.kind,
        source_id=f"{board}:{job_id}",
        url=f"https://{board}.jobs.personio.{tld}/job/{job_id}",
        title=_text(position, "name"),
        company=_text(position, "subcompany"),
        department=_text(position, "department"),
        locations=[office for office in offices if office],
        description_html=[f"<h3>{html.escape(name)}</h3>{value}" for name, value in blocks],
        remote_field="office name",
        employment_type=", ".join(k for k in kinds if k) or None,
        posted_at=parse_date(_text(position, "createdAt")),
    )
