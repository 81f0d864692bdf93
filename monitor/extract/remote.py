"""Remote policy (onsite / hybrid / remote) and the rules a person would quote.

One sentence's kind is read in ``monitor.extract.remote_kind``, the rules a text
states in ``monitor.extract.remote_details``; this module weighs them for a posting.

Across sentences: any hybrid sentence makes the posting hybrid; remote and
on-site sentences both present make it hybrid only when they are equally
weighty, else the side said in a "Location:"-style line, then the majority.

A structured value (ATS workplace field, JSON-LD ``jobLocationType``, a
location named "Remote - US") is ``hint``. The documented rule: the hint
stands, except that text saying hybrid refines an on-site or unknown hint
(ATS dropdowns default to on-site and schema.org has no hybrid); the text alone
decides when there is no hint. ``read_remote`` keeps what each side said, so
a disagreement can be shown.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from monitor.extract.remote_details import names, regions_of, text_details
from monitor.extract.remote_kind import kind_of, kind_of_label, mentions_place
from monitor.extract.text import bullet_text, sentences
from monitor.model import RemoteKind, RemotePolicy

_R, _H, _O = RemoteKind.REMOTE, RemoteKind.HYBRID, RemoteKind.ONSITE

_LOCATION_LINE = re.compile(
    r"^\s*(?:location|locations|work location|workplace|workplace type|location type|work model|"
    r"work arrangement|remote(?: status| work)?|telecommuting(?: options?)?|type of environment|"
    r"lieu|localisation|standort|arbeitsort|ubicación|locatie|modalidad|praca zdalna|"
    r"customer location|your location)\s*[:\-–]",
    re.I,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteReading:
    """The policy chosen, with what the structured value and the text each said.

    The kind comes from the structured value (``hint``) as the module's rule says;
    the details are the text's (``text_details``) beside any a structured value states
    itself (``stated_details``, from ``stated_by``, such as JSON-LD
    applicantLocationRequirements): both are kept in the policy.
    """

    policy: RemotePolicy
    hint: RemoteKind
    text: RemoteKind
    text_details: tuple[str, ...] = ()
    stated_details: tuple[str, ...] = ()
    stated_by: str = ""

    def with_stated_regions(self, details: Iterable[str], by: str) -> RemoteReading:
        """The reading with the "remote within <region>" details a structured value
        states (``by``) added beside the text's, where the text says the same once;
        nothing is dropped. Only for remote work: elsewhere they say nothing about where
        the work is."""
        stated = tuple(dict.fromkeys(details))
        if not stated or self.policy.kind is not RemoteKind.REMOTE:
            return self
        extra = tuple(d for d in stated if d not in self.policy.details)
        policy = replace(self.policy, details=self.policy.details + extra)
        return replace(self, policy=policy, stated_details=stated, stated_by=by)

    def details_source(self, text: str = "description text") -> str:
        """Where the policy's details were read: the text, the structured value, or both."""
        sources = [text] if self.text_details else []
        if self.stated_details:
            sources.append(self.stated_by)
        return " and ".join(sources)

    def disagreements(self, field: str) -> tuple[str, ...]:
        """What to show when the structured ``field`` and the text said different kinds,
        or the structured value and the text allow different regions; nothing when they
        agree or one is silent."""
        notes: list[str] = []
        unknown = RemoteKind.UNKNOWN
        if unknown not in (self.hint, self.text) and self.hint is not self.text:
            notes.append(
                f"remote policy: the {field} says {self.hint.value}, text says "
                f"{self.text.value}; chose {self.policy.kind.value}"
            )
        stated, said = regions_of(self.stated_details), regions_of(self.text_details)
        if stated and said and set(stated) != set(said):
            notes.append(
                f"remote regions: the {self.stated_by} says {names(stated)}, text says "
                f"{names(said)}; kept both"
            )
        return tuple(notes)


@dataclass(frozen=True, slots=True)
class _Said:
    kind: RemoteKind
    labelled: bool
    """Said in a "Location: …"-style line, a title or a location name: it outweighs prose."""


def remote_policy(
    lines: Iterable[str],
    *,
    hint: RemoteKind = RemoteKind.UNKNOWN,
    labelled: Iterable[str] = (),
) -> RemotePolicy:
    """Read the remote policy from a posting's lines, refining a structured hint."""
    return read_remote(lines, hint=hint, labelled=labelled).policy


def read_remote(
    lines: Iterable[str],
    *,
    hint: RemoteKind = RemoteKind.UNKNOWN,
    labelled: Iterable[str] = (),
) -> RemoteReading:
    """The remote policy of a posting's lines, with what hint and text each said.

    ``labelled`` are short texts that name the workplace outright, such as
    location names ("Hybrid - London") and the title ("Engineer (Remote)").
    """
    joined = list(_join_labels(lines))
    relevant = [
        s
        for line in joined
        if mentions_place(line)
        for s in sentences(bullet_text(line))
        if mentions_place(s)
    ]
    said = [_Said(k, bool(_LOCATION_LINE.match(s))) for s in relevant if (k := kind_of(s))]
    said += [_Said(k, True) for text in labelled if (k := kind_of_label(text))]
    text_kind = _combine(said)
    kind = _decide(hint, text_kind)
    details = text_details(relevant, _paragraphs(joined), kind=kind, text=text_kind)
    policy = RemotePolicy(kind=kind, details=details)
    return RemoteReading(policy=policy, hint=hint, text=text_kind, text_details=details)


def _join_labels(lines: Iterable[str]) -> Iterator[str]:
    """'Telecommuting Options:' on one line and 'Onsite' on the next are one statement."""
    pending = ""
    for line in lines:
        if pending:
            line = f"{pending} {bullet_text(line)}"
            pending = ""
        if line.endswith(":") and len(line) <= _MAX_LABEL_CHARS:
            pending = line
            continue
        yield line
    if pending:
        yield pending


_MAX_LABEL_CHARS = 40


def _combine(said: list[_Said]) -> RemoteKind:
    kinds = {s.kind for s in said}
    if not kinds:
        return RemoteKind.UNKNOWN
    if _H in kinds:
        return _H
    if len(kinds) == 1:
        return next(iter(kinds))
    labelled = {s.kind for s in said if s.labelled}
    if len(labelled) == 1:
        return next(iter(labelled))
    counts = Counter(s.kind for s in said)
    if counts[_R] == counts[_O]:
        return _H
    return _R if counts[_R] > counts[_O] else _O


def _decide(hint: RemoteKind, text: RemoteKind) -> RemoteKind:
    if hint is RemoteKind.UNKNOWN:
        return text
    if text is _H and hint is _O:
        return _H
    return hint


def _paragraphs(lines: list[str]) -> list[str]:
    """Every sentence of the lines that talk about the workplace or time zones."""
    return [
        s
        for line in lines
        if mentions_place(line) or "zone" in line.lower()
        for s in sentences(bullet_text(line))
    ]
