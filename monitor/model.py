"""Frozen value objects for the domain: what a posting says and what changed.

These carry no database identity and no board-specific extras; rows live in
``monitor.store`` and are mapped to and from these objects there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class PayPeriod(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class RemoteKind(StrEnum):
    ONSITE = "onsite"
    HYBRID = "hybrid"
    REMOTE = "remote"
    UNKNOWN = "unknown"


class PostingStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Salary:
    """One pay range; ``label`` says whom it applies to (a location or level)."""

    min: Decimal | None
    max: Decimal | None
    currency: str | None = None
    period: PayPeriod | None = None
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "min": _decimal_str(self.min),
            "max": _decimal_str(self.max),
            "currency": self.currency,
            "period": self.period.value if self.period else None,
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Salary:
        return cls(
            min=_decimal_or_none(data.get("min")),
            max=_decimal_or_none(data.get("max")),
            currency=data.get("currency"),
            period=PayPeriod(data["period"]) if data.get("period") else None,
            label=data.get("label", ""),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RemotePolicy:
    """Where the work happens; ``details`` keeps the rules a person would quote, and
    ``regions`` the countries (ISO 3166 codes) or regions remote work is allowed from."""

    kind: RemoteKind = RemoteKind.UNKNOWN
    details: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.kind is not RemoteKind.UNKNOWN or bool(self.details)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind.value, "details": list(self.details)}
        if self.regions:
            data["regions"] = list(self.regions)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RemotePolicy:
        return cls(
            kind=RemoteKind(data["kind"]),
            details=tuple(data.get("details", ())),
            regions=tuple(data.get("regions", ())),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Requirements:
    minimum: tuple[str, ...] = ()
    preferred: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.minimum or self.preferred)

    def to_dict(self) -> dict[str, Any]:
        return {"minimum": list(self.minimum), "preferred": list(self.preferred)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Requirements:
        return cls(
            minimum=tuple(data.get("minimum", ())), preferred=tuple(data.get("preferred", ()))
        )


READER_VERSION = 3
DETAIL, LIST = "detail", "list"
"""The levels a posting is read at (``Provenance.level``)."""
"""Raised whenever the extractors read the same page differently (a better remote-policy,
pay or requirements reader). A posting last read by an older version is fetched in
full and read again once; when the page is byte-identical to the one last read, the
new version and its changes are recorded but not alerted: the page did not change,
our reading of it did."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """Where each field was read (an ATS field, JSON-LD, the page text), and where a
    structured value and the text disagreed. Not part of what is compared."""

    sources: tuple[tuple[str, str], ...] = ()
    disagreements: tuple[str, ...] = ()
    reader: int = 0
    """The version of the extractors that read this posting (``READER_VERSION``)."""
    level: str = DETAIL
    """What it was read from: ``detail`` (the posting itself, or a board list that
    carries every field) or ``list`` (a thin board list: title, place, workplace flag).
    A list-level read never overwrites a detail-level version, and a change of level
    is never a change (``monitor.core.levels``)."""

    def __bool__(self) -> bool:
        return bool(self.sources or self.disagreements or self.reader or self.level != DETAIL)

    def source_of(self, name: str) -> str:
        return next((source for field_name, source in self.sources if field_name == name), "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": dict(self.sources),
            "disagreements": list(self.disagreements),
            "reader": self.reader,
            **({"level": self.level} if self.level != DETAIL else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        return cls(
            sources=tuple((str(k), str(v)) for k, v in (data.get("sources") or {}).items()),
            disagreements=tuple(data.get("disagreements") or ()),
            reader=int(data.get("reader") or 0),
            level=str(data.get("level") or DETAIL),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Posting:
    """One job posting as a person reads it, normalized."""

    source_kind: str
    source_id: str
    url: str
    title: str
    company: str = ""
    department: str = ""
    locations: tuple[str, ...] = ()
    salaries: tuple[Salary, ...] = ()
    remote: RemotePolicy = field(default_factory=RemotePolicy)
    requirements: Requirements = field(default_factory=Requirements)
    employment_type: str | None = None
    posted_at: date | None = None
    updated_at: date | None = None
    status: PostingStatus = PostingStatus.OPEN
    provenance: Provenance = field(default_factory=Provenance)

    def to_dict(self) -> dict[str, Any]:
        data = self._fields_dict()
        if self.provenance:
            data["provenance"] = self.provenance.to_dict()
        return data

    def _fields_dict(self) -> dict[str, Any]:
        return {
            "source_kind": self.source_kind,
            "source_id": self.source_id,
            "url": self.url,
            "title": self.title,
            "company": self.company,
            "department": self.department,
            "locations": list(self.locations),
            "salaries": [s.to_dict() for s in self.salaries],
            "remote": self.remote.to_dict(),
            "requirements": self.requirements.to_dict(),
            "employment_type": self.employment_type,
            "posted_at": self.posted_at.isoformat() if self.posted_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "status": self.status.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Posting:
        return cls(
            source_kind=data["source_kind"],
            source_id=data["source_id"],
            url=data["url"],
            title=data["title"],
            company=data.get("company", ""),
            department=data.get("department", ""),
            locations=tuple(data.get("locations", ())),
            salaries=tuple(Salary.from_dict(s) for s in data.get("salaries", ())),
            remote=RemotePolicy.from_dict(data.get("remote") or {"kind": "unknown"}),
            requirements=Requirements.from_dict(data.get("requirements") or {}),
            employment_type=data.get("employment_type"),
            posted_at=_date_or_none(data.get("posted_at")),
            updated_at=_date_or_none(data.get("updated_at")),
            status=PostingStatus(data.get("status", "open")),
            provenance=Provenance.from_dict(data.get("provenance") or {}),
        )

    def content_hash(self) -> str:
        """Stable hash of what a person reads, and of the reader's version (so that a
        newer reader's version is stored once); volatile fields and the rest of the
        provenance are left out."""
        data = self._fields_dict()
        del data["updated_at"]
        if self.provenance.reader:
            data["reader"] = self.provenance.reader
        if self.provenance.level != DETAIL:
            data["level"] = self.provenance.level
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def display_name(self) -> str:
        return f"{self.company} · {self.title}" if self.company else self.title


class ChangeKind(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"
    REWORDED = "reworded"
    CLOSED = "closed"
    REOPENED = "reopened"
    REPOSTED = "reposted"


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldChange:
    """One change a person would mention: ``summary`` is that sentence."""

    field: str
    kind: ChangeKind
    old: str | None
    new: str | None
    summary: str
    percent: Decimal | None = None
    """For pay: the largest move of min or max, signed (+6.0 means 6% up)."""
    direction: str = ""
    """For pay: "up", "down" or "mixed"; "" where it has no direction."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeSet:
    """Everything that changed between two versions of one posting."""

    before: Posting
    after: Posting
    changes: tuple[FieldChange, ...]

    def __bool__(self) -> bool:
        return bool(self.changes)


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """A message ready to send, in each body format a channel may want."""

    title: str
    body_text: str
    body_markdown: str
    body_html: str = ""
    body_json: str = ""
    """The structured payload for JSON webhooks (``monitor.notify.payload``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One alert for one channel, queued in the outbox with the change it reports.

    ``notice`` marks alerts about the monitor's own view of a posting (checks
    failing, checks recovered) rather than about a change in the posting.
    """

    channel: str
    alert: Alert
    notice: bool = False


def utc_isoformat(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _decimal_str(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _date_or_none(value: Any) -> date | None:
    return None if not value else date.fromisoformat(str(value))


class CheckOutcome(StrEnum):
    """What one check found; every consumer handles each value."""

    BASELINE = "baseline"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    NOT_MODIFIED = "not_modified"
    GONE = "gone"
    CLOSED = "closed"
    ERROR = "error"
    SUSPECT = "suspect"
    """Read a page that does not look like the posting (captcha, login, error page, far
    fewer fields): nothing stored or alerted until later checks confirm it."""
    DEFERRED = "deferred"
    """Not fetched: its host is paused or busy; rescheduled, not a failure."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Validators:
    """What the server gave us to ask "has it changed?" next time."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """Everything one check decided, written to the store in one transaction."""

    posting_id: int
    outcome: CheckOutcome
    checked_at: datetime
    next_check_at: datetime
    status: PostingStatus
    consecutive_failures: int = 0
    gone_count: int = 0
    http_status: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    validators: Validators | None = None
    """None keeps the stored validators (errors must not forget a good ETag)."""
    snapshot: Posting | None = None
    """A version to store if it differs from the current one."""
    changes: tuple[FieldChange, ...] = ()
    suspect_hash: str | None = None
    """Content hash of a suspect read awaiting confirmation, and how often it was seen."""
    suspect_count: int = 0
    quiet: bool = False
    """The changes come from a newer reader, not from the page: recorded, not alerted."""
    presence: bool = False
    """A board's word on a posting whose job is read on its own: only whether it is
    still listed (its status and missing count) is written, never its fields or
    schedule."""
    listed: bool = False
    """The posting's own read, while a board lists it: the board's list says whether
    it is open, so this read writes neither its status nor its missing count."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BoardFilters:
    """Which postings on a board are followed: every non-empty list must match.

    Keywords match case-insensitively anywhere in the field; ``exclude_title``
    drops a posting whose title has any of its words.
    """

    title: tuple[str, ...] = ()
    exclude_title: tuple[str, ...] = ()
    department: tuple[str, ...] = ()
    location: tuple[str, ...] = ()

    def follows(self, posting: Posting) -> bool:
        title = posting.title.lower()
        if any(word.lower() in title for word in self.exclude_title):
            return False
        return (
            _any_in(self.title, [posting.title])
            and _any_in(self.department, [posting.department])
            and _any_in(self.location, list(posting.locations))
        )

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "title": list(self.title),
            "exclude_title": list(self.exclude_title),
            "department": list(self.department),
            "location": list(self.location),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> BoardFilters:
        data = data or {}
        return cls(
            **{
                key: tuple(data.get(key, ()))
                for key in ("title", "exclude_title", "department", "location")
            }
        )


def _any_in(words: tuple[str, ...], values: list[str]) -> bool:
    if not words:
        return True
    haystack = " | ".join(values).lower()
    return any(word.lower() in haystack for word in words)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewMember:
    """A posting seen on a board for the first time."""

    posting: Posting
    changes: tuple[FieldChange, ...] = ()
    reposted_from: int | None = None
    """The closed posting this one reposts (same title, place and text), if any."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BoardResult:
    """One check of a board: the board's own outcome and each followed posting's."""

    board: CheckResult
    members: tuple[CheckResult, ...] = ()
    new_members: tuple[NewMember, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class HostPacing:
    """Where a host's politeness stands, in wall-clock time so that another process
    can take over: the earliest its next request may start, the end of its pause
    (Retry-After, or failures), and the failures in a row so far."""

    next_request_at: datetime | None = None
    paused_until: datetime | None = None
    failures: int = 0
