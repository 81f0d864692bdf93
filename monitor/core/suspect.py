"""Is a freshly read page believable? Pure judgement, no I/O.

Sites answer 200 with things that are not the posting: a captcha or bot wall, a
login page after a redirect, an error page, a half-rendered shell. Read as a
posting, such a page "removes" the salary and every requirement, which would be
a false alert. A read that looks like that is *suspect*: nothing is stored or
alerted, and it only becomes a change once later checks return the same content
(``alerts.confirm_suspect`` times), which a real edit does and a passing fault
does not. A block or login page is never confirmed: however long it lasts, it is
not the posting, and the failing streak is reported as the monitor's own error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.model import Posting, RemoteKind

BLOCK_PAGE = re.compile(
    r"captcha|verify (?:that )?you(?:'re| are) (?:a )?human|are you a robot|access denied|"
    r"attention required|just a moment|checking your browser|enable (?:javascript|cookies)|"
    r"unusual traffic|request (?:was )?blocked|\b(?:sign|log) ?in\b|session (?:has )?expired|"
    r"too many requests|temporarily unavailable|service unavailable|internal server error|"
    r"bad gateway|page not found|something went wrong|maintenance",
    re.I,
)
MIN_FIELDS_TO_JUDGE = 3
"""Postings with fewer readable fields than this are too thin to judge by loss."""
BLOCK_PAGE_MAX_FIELDS = 2
"""A title like "Sign in" only marks a block page when almost nothing else was read:
a real posting for a "Login Systems Engineer" has locations, pay, requirements."""


def richness(posting: Posting) -> int:
    """How many of the fields a person reads were found."""
    return sum(
        (
            bool(posting.company),
            bool(posting.department),
            bool(posting.locations),
            bool(posting.salaries),
            posting.remote.kind is not RemoteKind.UNKNOWN,
            bool(posting.requirements.minimum),
            bool(posting.requirements.preferred),
            bool(posting.employment_type),
            posting.posted_at is not None,
        )
    )


@dataclass(frozen=True, slots=True)
class Suspicion:
    reason: str
    confirmable: bool
    """False for block and login pages: repetition does not make them a posting."""


def _looks_blocked(posting: Posting) -> bool:
    return bool(BLOCK_PAGE.search(posting.title)) and richness(posting) <= BLOCK_PAGE_MAX_FIELDS


def suspicion(previous: Posting | None, new: Posting) -> Suspicion | None:
    """Why ``new`` might not be the posting at all, or None when it reads as one."""
    if _looks_blocked(new) and not (previous and _looks_blocked(previous)):
        return Suspicion(
            f"the page reads {new.title!r}: a block, login or error page, not the posting",
            confirmable=False,
        )
    if previous is None:
        return None
    before, after = richness(previous), richness(new)
    if before >= MIN_FIELDS_TO_JUDGE and after * 2 < before:
        return Suspicion(
            f"only {after} of the {before} fields of the last good version could be read",
            confirmable=True,
        )
    return None
