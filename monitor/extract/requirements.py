"""Requirement lists under headings such as "Minimum Requirements" and "Nice to have".

Bullets count as requirements only under a recognised heading ("Requirements",
"Skills and Qualifications", "What you'll need", "Who you are", "Kogo
poszukujemy?") or right after a lead-in sentence ("You should have:").
Description text and other lists (responsibilities, benefits, key skills)
never become requirements. Every list under requirement headings is kept,
merged in page order; lists under preferred headings ("Nice to have", "Bonus
points", "You'll stand out if") and bullets marked "(preferred)" or "is a plus"
go to the preferred list, never to the minimum one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from enum import Enum

from monitor.extract.text import bullet_text, is_bullet
from monitor.model import Requirements


class Section(Enum):
    MINIMUM = "minimum"
    PREFERRED = "preferred"
    OTHER = "other"


_APOS = r"(?:'|’)?"
_PREFERRED = re.compile(
    r"^(?:preferred|desired|desirable|bonus|nice[- ]to[- ]haves?|good[- ]to[- ]haves?|plus|"
    r"additional (?:qualifications|skills|requirements|experience|knowledge)|"
    rf"it{_APOS}s a plus|extra credit|pluspunkte|wünschenswert|von vorteil|atouts?|idealement|"
    r"deseable|valorable|mile widziane|pluspunten)\b|"
    r"\b(?:preferred|nice[- ]to[- ]haves?|good[- ]to[- ]haves?|bonus points?|bonus if|"
    r"(?:extra|brownie) points|"
    rf"(?:will|would|to|{_APOS}ll) stand out|(?:is|are|be) a (?:big )?plus|even better|would be great|"
    r"ideally you|it would be (?:great|nice)|not required but|mile widziane|atouts?)\b|"
    r"\b(?:may|might) also have\b",
    re.I,
)
_MINIMUM = re.compile(
    r"^(?:minimum|basic|required|must[- ]haves?|essential|mandatory)\s+"
    r"(?:requirements|qualifications|skills|experience)|"
    rf"^(?:requirements|qualifications|what (?:you{_APOS}ll|you will) (?:need|bring)|what you (?:need|bring)|"
    rf"what we{_APOS}re looking for|who you are|you have|you{_APOS}ll have|about you|your profile|"
    r"your (?:expertise|experience|background|skills|qualifications)|votre (?:expertise|profil)|"
    r"ihr profil|dein profil|das bringst du mit|das bringen sie mit|was du mitbringst|anforderungen|"
    r"profil recherché|profil|compétences requises|requisitos|perfil|wat (?:wij vragen|breng je mee)|"
    r"functie-?eisen|jouw profiel|wymagania|kogo (?:poszukujemy|szukamy)|czego (?:wymagamy|oczekujemy)|"
    r"what we require|at a minimum|candidates must|what we expect(?: from you)?|"
    r"(?:the )?ideal (?:background|candidate|profile|experience)|(?:background|experience|skills)$|"
    rf"we{_APOS}re looking for (?:people|someone|candidates)|we are looking for (?:people|someone|candidates)|"
    r"who we(?:'|’)?re looking for)\b|"
    r"\b(?:skills|experience) (?:and|&) (?:qualifications|requirements|experience|skills)\b|"
    r"\b(?:job|role|position|candidate|key|basic|our|the) (?:requirements|qualifications)\b|"
    r"\bce que (?:nous recherchons|nous attendons|vous apportez)\b|\bvotre profil\b|"
    r"\blo que buscamos\b|\bwas wir erwarten\b|\bwat wij zoeken\b|"
    r"\b(?:qualifications|requirements) (?:and|&) (?:skills|experience)\b|"
    rf"\bwhat (?:you{_APOS}ll|you will|you) (?:need|bring)\b|\bwho you are\b|"
    r"\byou (?:may|might|would|could) be a (?:\w+ ){0,3}fit\b|\bgreat addition to the team if\b|"
    rf"\b(?:this|the) (?:role|job) (?:is|might be) (?:for you|a fit) if\b|\bis this you\b|"
    r"^(?:required|mandatory|must[- ]haves?)$",
    re.I,
)
# Headings that open a section that is not requirements: where a requirement list ends.
_OTHER = re.compile(
    r"^(?:responsibilities|(?:key |core |your )?responsibilities|what (?:you(?:'|’)?ll|you will) do|"
    r"the role|about (?:the|this) (?:role|job|position|team|company)|about us|who we are|benefits|"
    r"perks|what we offer|we offer|our offer|compensation|salary|pay|location|how to apply|"
    r"the interview|interview process|hiring process|equal opportunity|day to day|"
    r"your (?:role|mission|tasks)|deine aufgaben|ihre aufgaben|vos missions|missions|"
    r"czym będziesz się zajmować|jakie warunki|oferujemy|wat bieden wij)\b",
    re.I,
)
# "You should have:", "The ideal candidate has:": a sentence that opens a list of requirements.
_LEAD_IN = re.compile(
    r"\b(?:you (?:should|must|will need to) (?:have|bring|be)|you will need|you(?:'|’)?ll need|"
    r"you have|we(?:'|’)?re looking for (?:someone|people|candidates)(?: (?:with|who))?|"
    r"we are looking for (?:someone|people|candidates)(?: (?:with|who))?|"
    r"(?:the )?ideal candidate (?:has|will have|should have|is)|candidates (?:must|should) have|"
    r"requirements (?:include|are)|you(?:'|’)?ll need to have|to succeed (?:in this role )?you)\b"
    r"[^:]{0,60}:\s*$",
    re.I,
)
_MARKED_PREFERRED = re.compile(
    r"\((?:preferred|a plus|nice to have|bonus|optional|desired|desirable|ideal(?:ly)?)\)\s*\.?$|"
    r"\b(?:is|are|would be) (?:a )?(?:big |huge |strong )?(?:plus|bonus|advantage|nice to have)\b"
    r"[.!]?\s*$|\bpreferred\.?$|\bnice to have\.?$",
    re.I,
)
_MAX_HEADING_CHARS = 80
_MAX_SUBHEADING_CHARS = 40
# A heading may be followed by one line of prose ("Stripe encourages ...") before its bullets.
_PROSE_LINES_ALLOWED = 1


def classify_heading(line: str) -> Section | None:
    """The section a heading line opens, or None if it is not a heading we know."""
    if is_bullet(line) or len(line) > _MAX_HEADING_CHARS or line.rstrip().endswith((".", "!")):
        return None  # a sentence, not a heading
    return _classify(line)


# Sites repeat their headings on every posting; the regexes below are the costly part.
@functools.lru_cache(maxsize=4096)
def _classify(line: str) -> Section | None:
    text = line.strip().rstrip(":?").strip()
    if _PREFERRED.search(text):
        return Section.PREFERRED
    if _MINIMUM.search(text):
        return Section.MINIMUM
    if _OTHER.search(text):
        return Section.OTHER
    if _LEAD_IN.search(line):
        return Section.MINIMUM
    return None


def requirements_from_lines(lines: Sequence[str]) -> Requirements:
    """Every list under requirement headings, merged per kind, in page order."""
    found: dict[Section, list[str]] = {Section.MINIMUM: [], Section.PREFERRED: []}
    for section, item in _section_items(lines):
        if section is Section.MINIMUM and _MARKED_PREFERRED.search(re.split(r"[;:]", item)[0]):
            section = Section.PREFERRED
        if item not in found[section]:
            found[section].append(item)
    return Requirements(
        minimum=tuple(found[Section.MINIMUM]), preferred=tuple(found[Section.PREFERRED])
    )


def _section_items(lines: Sequence[str]) -> list[tuple[Section, str]]:
    items: list[tuple[Section, str]] = []
    section: Section | None = None
    prose = 0
    started = False
    for line in lines:
        heading = classify_heading(line)
        if heading is not None:
            section, prose, started = heading, 0, False
            continue
        if section in (None, Section.OTHER):
            continue
        assert section is not None
        if is_bullet(line):
            items.append((section, bullet_text(line)))
            started = True
            continue
        if _is_subheading(line):
            continue  # "Technical skills:" inside a requirements section
        prose += 1
        if started or prose > _PROSE_LINES_ALLOWED:
            section = None
    return items


def _is_subheading(line: str) -> bool:
    return len(line) <= _MAX_SUBHEADING_CHARS and line.rstrip().endswith(":")
