"""Pinpoint career sites: {company}.pinpointhq.com, read through ``/postings.json``.

One request gives every open posting in full (``{"data": [...]}``): the advert in
HTML sections (``description``, ``key_responsibilities``, ``skills_knowledge_expertise``
(the requirements), ``benefits``, each with its ``*_header``), the pay as structured
``compensation_minimum`` / ``_maximum`` / ``_currency`` / ``_frequency`` (shown only when
``compensation_visible`` is true: a hidden range is the company's internal budget, not
stated pay), ``workplace_type`` ("remote", "hybrid", "onsite") with its
``workplace_type_text``, the ``location`` and the ``job``'s department. The list is as full
as a posting's page, so a board watch reads no member on its own.

A posting's URL (``/en/postings/{uuid}``) has no JSON of its own: it is read from the
board's list. Its id is that uuid, the same in the list and in the URL.
"""

from __future__ import annotations

import html
import re
from typing import Any, ClassVar

from monitor.model import PayPeriod, Posting, RemoteKind, Salary
from monitor.sources.base import FetchedPage
from monitor.sources.common import (
    AtsSource,
    build_posting,
    html_of,
    remote_from_word,
    salary_object,
    text,
    web_url,
)

_HOST = r"^https?://(?P<board>[\w-]+)\.pinpointhq\.com"
_PERIODS = {"hour": PayPeriod.HOUR, "day": PayPeriod.DAY, "week": PayPeriod.WEEK,
            "month": PayPeriod.MONTH, "year": PayPeriod.YEAR, "annum": PayPeriod.YEAR}  # fmt: skip
# The advert's sections in reading order; each has a "<section>_header" title.
_SECTIONS = ("description", "key_responsibilities", "skills_knowledge_expertise", "benefits")
_UUID = re.compile(r"/postings/([\w-]+)")


class PinpointSource(AtsSource):
    """Pinpoint career site (every posting, or one posting read from the list)."""

    kind: ClassVar[str] = "pinpoint"
    title: ClassVar[str] = "Pinpoint postings.json (board or single posting)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "{company}.pinpointhq.com[/{lang}][/postings]",
        "{company}.pinpointhq.com/[{lang}/]postings/{uuid}",
        "{company}.pinpointhq.com/postings.json",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(_HOST + r"/(?:[a-z]{2}(?:-[A-Za-z]{2})?/)?postings/(?P<job>[0-9a-f-]{36})"),
        re.compile(
            _HOST + r"(?:/(?:[a-z]{2}(?:-[A-Za-z]{2})?/?)?(?:postings(?:\.json)?/?)?)?(?:[?#].*)?$"
        ),
    )

    def fetch_url(self, url: str) -> str:
        return f"https://{self._located(url).board}.pinpointhq.com/postings.json"

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        data = self.json(page)
        board = self._located(url).board
        items = data.get("data") if isinstance(data, dict) else data
        postings = [_posting(item, board) for item in items or [] if isinstance(item, dict)]
        return self.only(postings, url)


def _posting(item: dict[str, Any], board: str) -> Posting:
    sections = [_section(item, name) for name in _SECTIONS]
    location = item.get("location") if isinstance(item.get("location"), dict) else {}
    assert isinstance(location, dict)
    job = item.get("job") if isinstance(item.get("job"), dict) else {}
    assert isinstance(job, dict)
    department = job.get("department") if isinstance(job.get("department"), dict) else {}
    assert isinstance(department, dict)
    hint = remote_from_word(item.get("workplace_type"))
    return build_posting(
        kind=PinpointSource.kind,
        source_id=f"{board}:{_uuid(item)}",
        url=web_url(item.get("url")) or f"https://{board}.pinpointhq.com{text(item.get('path'))}",
        title=text(item.get("title")),
        department=text(department.get("name")),
        locations=[_place(location)],
        description_html=sections,
        requirements_html=html_of(item.get("skills_knowledge_expertise")),
        salaries=_pay(item),
        salary_field="compensation_minimum / maximum / currency / frequency",
        remote_hint=hint
        if hint is not RemoteKind.UNKNOWN
        else remote_from_word(item.get("workplace_type_text")),
        remote_field="workplace_type field",
        employment_type=text(item.get("employment_type_text")) or None,
    )


def _uuid(item: dict[str, Any]) -> str:
    """The posting's uuid from its path or URL ('/en/postings/<uuid>'); its numeric id
    only when neither names one."""
    for key in ("path", "url"):
        found = _UUID.search(text(item.get(key)))
        if found:
            return found[1]
    return text(str(item.get("id") or ""))


def _section(item: dict[str, Any], name: str) -> str:
    body = html_of(item.get(name))
    header = text(item.get(f"{name}_header"))
    return f"<h3>{html.escape(header)}</h3>{body}" if body and header else body


def _place(location: dict[str, Any]) -> str:
    """'London, United Kingdom'; the location's name alone where it is the city's or a
    workplace word ('Remote')."""
    name, city = text(location.get("name")), text(location.get("city"))
    if not city or city.lower() in name.lower() or remote_from_word(name) is not RemoteKind.UNKNOWN:
        return name or city
    return f"{city}, {name}" if name else city


def _pay(item: dict[str, Any]) -> list[Salary]:
    if item.get("compensation_visible") is not True:
        return []
    value = {
        "min": item.get("compensation_minimum"),
        "max": item.get("compensation_maximum"),
        "currency": item.get("compensation_currency"),
        "frequency": item.get("compensation_frequency"),
    }
    return salary_object(value, period_key="frequency", periods=_PERIODS)
