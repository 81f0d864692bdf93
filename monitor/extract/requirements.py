"""Requirement lists under headings such as "Minimum Requirements" and "Nice to have".

Only bullets under a recognised heading count; description text and other
lists (responsibilities, benefits, key skills) never become requirements.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum

from monitor.extract.text import bullet_text, is_bullet
from monitor.model import Requirements


class Section(Enum):
    MINIMUM = "minimum"
    PREFERRED = "preferred"


_PREFERRED = re.compile(
    r"^(?:preferred|desired|desirable|bonus|nice[- ]to[- ]haves?|good[- ]to[- ]haves?|additional|plus|"
    r"it(?:'|’)?s a plus|extra credit|pluspunkte|wünschenswert|von vorteil|atouts?)\b|"
    r"\b(?:preferred|nice[- ]to[- ]haves?|good[- ]to[- ]haves?|bonus points?)\b|"
    r"\b(?:may|might) also have\b",
    re.I,
)
_MINIMUM = re.compile(
    r"^(?:minimum|basic|required|must[- ]haves?|essential)\s+(?:requirements|qualifications|skills|experience)|"
    r"^(?:requirements|qualifications|what (?:you(?:'|’)ll|you will) (?:need|bring)|what you (?:need|bring)|"
    r"what we(?:'|’)re looking for|who you are|you have|you(?:'|’)ll have|about you|your profile|"
    r"your (?:expertise|experience|background|skills)|votre (?:expertise|profil)|ihr profil|dein profil|"
    r"anforderungen|profil recherché|what we require|at a minimum|candidates must|"
    r"we(?:'|’)re looking for (?:people|someone|candidates)|we are looking for (?:people|someone|candidates))\b|"
    r"\byou (?:may|might|would|could) be a (?:\w+ ){0,3}fit\b|\bgreat addition to the team if\b|"
    r"^(?:required|mandatory|must[- ]haves?)$",
    re.I,
)
_MAX_HEADING_CHARS = 80
# A heading may be followed by one line of prose ("Stripe encourages ...") before its bullets.
_PROSE_LINES_ALLOWED = 1


def classify_heading(line: str) -> Section | None:
    """The requirement section a heading line opens, or None."""
    if is_bullet(line) or len(line) > _MAX_HEADING_CHARS:
        return None
    text = line.strip().rstrip(":").strip()
    if _PREFERRED.search(text):
        return Section.PREFERRED
    if _MINIMUM.search(text):
        return Section.MINIMUM
    return None


def requirements_from_lines(lines: Sequence[str]) -> Requirements:
    """The first non-empty list under each kind of heading, in page order."""
    found: dict[Section, tuple[str, ...]] = {}
    for index, line in enumerate(lines):
        section = classify_heading(line)
        if section is None or found.get(section):
            continue
        items = _bullets_after(lines, index + 1)
        if items:
            found[section] = items
    return Requirements(
        minimum=found.get(Section.MINIMUM, ()), preferred=found.get(Section.PREFERRED, ())
    )


def _bullets_after(lines: Sequence[str], start: int) -> tuple[str, ...]:
    items: list[str] = []
    prose = 0
    for line in lines[start:]:
        if is_bullet(line):
            items.append(bullet_text(line))
            continue
        if items or classify_heading(line) is not None or prose >= _PROSE_LINES_ALLOWED:
            break
        prose += 1
    return tuple(items)
