"""Remote policy (onsite / hybrid / remote) and the rules a person would quote.

Structured hints (JSON-LD ``jobLocationType``, an ATS workplace field) come in
as ``hint``; the text decides when it is more specific, because schema.org has
no value for hybrid and every source writes hybrid rules as prose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from monitor.extract.text import bullet_text, collapse, sentences
from monitor.model import RemoteKind, RemotePolicy

_HYBRID = re.compile(
    r"\bhybrid\b|\bhybride?s?\b|days? (?:a|per) week in (?:the|our|an)? ?office|"
    r"\b(?:[1-4]|one|two|three|four) days? (?:a|per|each) week\b",
    re.I,
)
_REMOTE = re.compile(
    r"\bfully remote\b|\b100% remote\b|\bremote[- ]first\b|\bremote position\b|\bremote role\b|"
    r"\bwork from (?:home|anywhere)\b|\bremote\b(?: within| in| across| from)|"
    r"\bthis (?:role|position) is remote\b|\bremote[- ]friendly\b|\bremote work\b",
    re.I,
)
_ONSITE = re.compile(
    r"\bon[- ]?site\b|\bin[- ]office\b|\bin the office (?:five|5) days\b|\bnot (?:a )?remote\b|"
    r"\bno remote\b|\bvor ort\b|\b(?:in|from) (?:an|the|our) office(?: location)?\b",
    re.I,
)
_DETAIL_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(?P<n>\d{1,3})\s*%\s+of (?:their|your|the) time", re.I),
        "in office at least {n}% of the time",
    ),
    (
        re.compile(r"(?P<n>\d|one|two|three|four|five)\s+days?\s+(?:a|per|each)\s+week", re.I),
        "in office {n} days a week",
    ),
    (
        re.compile(
            r"(?P<n>\d{1,4})\+?\s*miles?(?:\s*(?:\(|or\s)\s*\d{1,4}\+?\s*(?:km|kilomet(?:er|re)s?)\)?)?(?:\s*or more)?\s+from",
            re.I,
        ),
        "remote only {n}+ miles from an office",
    ),
    (
        re.compile(
            r"remote (?:with)?in (?:the )?(?P<n>[A-Z][\w .]{1,30}?)(?=[,.;)]|\s+(?:only|time))",
            re.I,
        ),
        "remote within {n}",
    ),
)
_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5"}


def remote_policy(lines: Iterable[str], *, hint: RemoteKind = RemoteKind.UNKNOWN) -> RemotePolicy:
    """Read the remote policy from a posting's lines, refining a structured hint."""
    # A sentence can only mention a place if its line does; most lines do not.
    relevant = [
        s
        for line in lines
        if _mentions_place(line)
        for s in sentences(bullet_text(line))
        if _mentions_place(s)
    ]
    kind = _kind_from_text(relevant)
    if kind is RemoteKind.UNKNOWN or (
        hint is not RemoteKind.UNKNOWN and kind is not RemoteKind.HYBRID
    ):
        kind = hint if hint is not RemoteKind.UNKNOWN else kind
    return RemotePolicy(kind=kind, details=_details(relevant))


_PLACE = re.compile(f"{_HYBRID.pattern}|{_REMOTE.pattern}|{_ONSITE.pattern}|office", re.I)


# Every pattern above holds one of these words; testing them first skips the
# regexes (slow on long lines) for the many lines that mention no place at all.
_PLACE_WORDS = ("hybrid", "day", "remote", "work from", "site", "office", "vor ort")


def _mentions_place(sentence: str) -> bool:
    lowered = sentence.lower()
    return any(word in lowered for word in _PLACE_WORDS) and _PLACE.search(sentence) is not None


def _kind_from_text(relevant: list[str]) -> RemoteKind:
    text = " ".join(relevant)
    if _HYBRID.search(text):
        return RemoteKind.HYBRID
    remote, onsite = bool(_REMOTE.search(text)), bool(_ONSITE.search(text))
    if remote and onsite:
        # "in an office or as a remote position": both are offered, which is how people use hybrid.
        return RemoteKind.HYBRID
    if remote:
        return RemoteKind.REMOTE
    if onsite:
        return RemoteKind.ONSITE
    return RemoteKind.UNKNOWN


def _details(relevant: list[str]) -> tuple[str, ...]:
    found: list[str] = []
    for sentence in relevant:
        for pattern, template in _DETAIL_PATTERNS:
            match = pattern.search(sentence)
            if match is None:
                continue
            n = _NUMBER_WORDS.get(match["n"].lower(), collapse(match["n"]))
            detail = template.format(n=n)
            if detail not in found:
                found.append(detail)
    return tuple(found)
