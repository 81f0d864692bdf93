"""Title, company and location of a page without JSON-LD, as a person finds them.

The page's ``<title>`` usually names both the job and the company ("Staff
Engineer at Acme", "Staff Engineer | Acme", "Acme: Staff Engineer - Careers");
"Location: Berlin, Germany (Hybrid)" lines name the place, once the workplace
words are set aside (they belong to the remote policy).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.extract.text import bullet_text, collapse

_GENERIC = re.compile(
    r"^(?:careers?|jobs?|job (?:board|application|details|opening|posting)|open (?:positions|roles)|"
    r"join (?:us|our team)|apply(?: now)?|we(?:'|’)?re hiring|home|work with us|vacancies|"
    r"stellenangebote|karriere|offres d'emploi|empleo)$",
    re.I,
)
_AT = re.compile(r"^(?P<job>.+?)\s+(?:at|@|chez|bei)\s+(?P<company>[^|–—]+?)(?:\s+[|–—-]\s+.*)?$")
_SEPARATORS = re.compile(r"\s+[|–—·-]\s+|\s*\|\s*")
_COMPANY_FIRST = re.compile(r"^(?P<company>[^:|]{2,40}):\s+(?P<job>.+)$")
_LOCATION_LINE = re.compile(
    r"^(?:job |work |office |primary )?(?:location|locations|sites?|standort|arbeitsort|lieu|"
    r"localisation|ubicación|locatie|lokalizacja)\s*:\s*(?P<value>.+)$",
    re.I,
)
_WORKPLACE_WORDS = re.compile(
    r"\b(?:hybrid[eo]?|remote(?:[- ]first| eligible| ok)?|on[- ]?site|in[- ]office|in person|"
    r"fully remote|télétravail|homeoffice|prefer\w*|relocation[^,;/|]*)\b",
    re.I,
)
_MAX_LOCATION_CHARS = 80


@dataclass(frozen=True, slots=True)
class TitleParts:
    job: str
    company: str


def title_parts(page_title: str) -> TitleParts:
    """'Engineer at Acme' / 'Engineer | Acme | Careers' / 'Acme: Engineer -' to parts."""
    text = collapse(page_title).strip(" -–—|:")
    if not text:
        return TitleParts("", "")
    match = _AT.match(text)
    if match:
        return TitleParts(match["job"].strip(), _strip_generic(match["company"]))
    segments = [s for s in _SEPARATORS.split(text) if s and not _GENERIC.match(s.strip())]
    if len(segments) == 1:
        first = _COMPANY_FIRST.match(segments[0])
        if first:
            return TitleParts(first["job"].strip(), first["company"].strip())
        return TitleParts(segments[0].strip(), "")
    if not segments:
        return TitleParts("", "")
    return TitleParts(segments[0].strip(), segments[1].strip())


def _strip_generic(company: str) -> str:
    parts = [p for p in _SEPARATORS.split(company) if p and not _GENERIC.match(p.strip())]
    return parts[0].strip() if parts else ""


def choose_title(h1: str, page_title: str, og_title: str) -> str:
    """The job title: the page's heading when the <title> agrees or says nothing better."""
    parts = title_parts(page_title)
    heading = "" if _GENERIC.match(h1) else h1
    if heading:
        # "DRONE TECHNICIAN" or "Acme Inc Staff Engineer" in the heading, "Staff Engineer" in
        # the <title>: the title's job is the same, better cased or without the company.
        return parts.job if parts.job and parts.job.lower() in heading.lower() else heading
    return parts.job or title_parts(og_title).job or og_title or page_title


def locations_from_lines(lines: Sequence[str]) -> tuple[str, ...]:
    """Places named in 'Location: …' lines, without the workplace words; else the
    place in a meta line under the heading ("Berlin, Germany · Full-time")."""
    found: list[str] = []
    for line in lines:
        match = _LOCATION_LINE.match(bullet_text(line))
        if match is None:
            continue
        place = clean_place(match["value"])
        if place and place not in found:
            found.append(place)
    return tuple(found) or _meta_line_place(lines[:_META_LINES])


_META_LINES = 8
_META_SEPARATORS = re.compile(r"\s*[·•|]\s*|\s{2,}")
_JOB_FACTS = re.compile(
    r"^(?:full[- ]?time|part[- ]?time|contract(?:or)?|permanent|temporary|internship|freelance|"
    r"hybrid|remote|on[- ]?site|in[- ]office|vollzeit|teilzeit|cdi|cdd)$",
    re.I,
)
_CITY_REGION = re.compile(
    r"^(?-i:[A-Z][\w.'-]*(?: [A-Z][\w.'-]*)*), (?-i:[A-Z][\w.'-]*(?: [A-Z][\w.'-]*)*)$"
)


def _meta_line_place(lines: Sequence[str]) -> tuple[str, ...]:
    for line in lines:
        parts = [p for p in _META_SEPARATORS.split(line) if p]
        if len(parts) < 2 or not any(_JOB_FACTS.match(p) for p in parts):
            continue
        places = [p for p in parts if _CITY_REGION.match(p)]
        if places:
            return (places[0],)
    return ()


def clean_place(value: str) -> str:
    """'Berkeley, California (On-Site. Relocation not provided.)' -> 'Berkeley, California'."""
    text = re.sub(r"\([^)]*\)", " ", value)
    parts = [p for p in re.split(r"\s*[/|·]\s*|\s+[-–—]\s+", text) if p.strip()]
    kept = [p for p in parts if not _WORKPLACE_WORDS.fullmatch(p.strip(" .,;:"))]
    place = collapse(", ".join(kept)).strip(" .,;:-")
    place = collapse(_WORKPLACE_WORDS.sub(" ", place)).strip(" .,;:-")
    if not place or len(place) > _MAX_LOCATION_CHARS or not re.search(r"[A-Za-zÀ-ÿ]{2}", place):
        return ""
    # "to support in-person team": what is left of a sentence is not a place.
    lower_words = [w for w in place.split() if w[:1].islower() and w not in _PLACE_PARTICLES]
    return "" if len(lower_words) >= 2 else place


_PLACE_PARTICLES = frozenset("de del la le les am an der of on sur upon du da di and y et".split())
