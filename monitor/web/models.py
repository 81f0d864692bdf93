"""The JSON API's shapes: the pydantic models its OpenAPI document describes, and the
mappers from the read side's rows to them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from monitor.model import Posting
from monitor.notify.payload import pay_values
from monitor.store.readmodels import AlertRow, ChangeRow, PostingRow, WatchRow
from monitor.urls import shown_url
from monitor.web.filters import change_percent

_D, _H, _M, _S = (
    "(?:[1-9][0-9]?|[12][0-9]{2}|3[0-5][0-9]|36[0-5])d",
    "[1-9][0-9]{0,2}h",
    "[1-9][0-9]{0,3}m",
    "[1-9][0-9]{0,4}s",
)
# What the API takes as an interval, exactly (1 second to 365 days): days alone, or
# hours, minutes and seconds, e.g. 90s, 15m, 1h30m, 7d.
INTERVAL_PATTERN = f"^(?:{_D}|{_H}(?:{_M})?(?:{_S})?|{_M}(?:{_S})?|{_S})$"
# A tag as the API takes it (stored in lower case; see monitor.records.watch_tags).
Tag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(_Out):
    """An error (RFC 9457), served as application/problem+json."""

    type: str = Field(description="Always about:blank: the status says what kind of error.")
    title: str
    status: int
    detail: str = Field(description="What was wrong, naming the field or value.")
    errors: list[dict[str, str]] | None = Field(
        default=None, description="Invalid input: each problem with where it is."
    )


class Pay(_Out):
    min: float | None = Field(description="Lower end, in currency units.")
    max: float | None = Field(description="Upper end, in currency units.")
    currency: str | None = Field(description="ISO 4217 code.")
    period: Literal["hour", "day", "week", "month", "year"] | None
    label: str = Field(description="Whom the range applies to: a location or level; '' all.")


class Remote(_Out):
    kind: Literal["onsite", "hybrid", "remote", "unknown"]
    details: list[str] = Field(description="Rules quoted from the posting (office days, ...).")
    regions: list[str] = Field(default=[], description="Where remote work is allowed from.")


class Requirements(_Out):
    minimum: list[str]
    preferred: list[str]


class Fields(_Out):
    """What the posting says, as last read."""

    title: str
    company: str
    department: str
    locations: list[str]
    pay: list[Pay]
    remote: Remote
    requirements: Requirements
    employment_type: str | None
    posted_at: str | None
    status: Literal["open", "closed"]
    provenance: dict[str, str] = Field(description="Where each field was read.")


class Source(_Out):
    kind: str
    id: str


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: list[str] = []
    exclude_title: list[str] = []
    department: list[str] = []
    location: list[str] = []


class Watch(_Out):
    id: int
    url: str
    kind: str = Field(description="The source that reads it (greenhouse, workday, html, ...).")
    board: bool
    posting_id: int = Field(description="The watched posting, or the board's own row.")
    title: str
    company: str
    status: Literal["open", "closed"]
    paused: bool
    interval_seconds: int
    cron: str | None
    open_postings: int | None = Field(description="Boards: postings open now.")
    members: Literal["full", "list"] | None = Field(
        description="Boards: full reads each posting's job where the list lacks pay and "
        "requirements; list reads the list only."
    )
    pay: list[Pay]
    remote: str
    last_changed_at: datetime | None
    last_checked_at: datetime | None
    last_outcome: str | None
    last_error: str | None
    next_check_at: datetime
    consecutive_failures: int
    channels: list[str] = Field(description="Channel names or tags; [] the default channels.")
    render: Literal["plain", "browser", "auto"]
    filters: Filters | None = Field(description="Boards: which postings are followed.")
    from_config: bool = Field(description="Listed in the configuration file (edited there).")
    tags: list[str] = Field(description="Words it is filed under.")
    unseen: bool = Field(description="Changed since its page in the dashboard was last viewed.")


class Checked(_Out):
    """What checking a watch now found, and the watch after it."""

    outcome: Literal[
        "baseline",
        "changed",
        "unchanged",
        "not_modified",
        "gone",
        "closed",
        "error",
        "suspect",
        "deferred",
    ] = Field(
        description="baseline: first read; changed (alerts queued); unchanged or not_modified; "
        "gone or closed; error or suspect (see last_error); deferred: its host is paused."
    )
    watch: Watch


class WatchPage(_Out):
    items: list[Watch]
    total: int
    page: int
    per_page: int
    pages: int


class NewWatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(description="A posting page or a company board URL.")
    interval: str = Field(
        default="1h",
        description="Time between checks: 30m, 6h, 1d (at least a minute).",
        pattern=INTERVAL_PATTERN,
    )
    channels: list[str] = Field(default=[], description="Channel names or tags; [] default.")
    filters: Filters | None = Field(default=None, description="Boards only.")
    render: Literal["plain", "browser", "auto"] = Field(
        default="plain", description="Web pages: render in headless Chromium (see README)."
    )
    source: str | None = Field(
        default=None,
        description="Source kind to read it with (`posting-monitor features` lists them); "
        "default: picked from the URL.",
    )
    members: Literal["full", "list"] = Field(
        default="full",
        description="Boards: full reads each posting's job where the list lacks pay and "
        "requirements (Workday, SmartRecruiters, BambooHR, JazzHR, Breezy); list reads the "
        "list only.",
    )
    tags: list[Tag] = Field(
        default=[], description="Words to file it under: letters, digits, '-', '_', '.'."
    )


class WatchChanges(BaseModel):
    """The settings to change; those left out stay as they are. Checked as adding is."""

    model_config = ConfigDict(extra="forbid")
    interval: str | None = Field(
        default=None, description="Time between checks: 30m, 6h, 1d.", pattern=INTERVAL_PATTERN
    )
    cron: str | None = Field(
        default=None, description="A cron schedule instead of the interval; '' back to it."
    )
    channels: list[str] | None = Field(default=None, description="Channel names or tags.")
    filters: Filters | None = Field(default=None, description="Boards only.")
    render: Literal["plain", "browser", "auto"] | None = None
    source: str | None = Field(default=None, description="Source kind to read it with.")
    members: Literal["full", "list"] | None = None
    tags: list[Tag] | None = Field(default=None, description="The tags, all of them.")


class PostingOut(_Out):
    id: int
    watch_id: int
    board_id: int | None
    role: Literal["single", "board", "member", "detail"] = Field(
        description="single: watched on its own (maybe listed on a board too: board_id); "
        "board: a board's own row; member: found on a board, read from its list; detail: "
        "found on a board, its job read too."
    )
    source: Source
    url: str
    title: str
    company: str
    status: Literal["open", "closed"]
    created_at: datetime
    last_checked_at: datetime | None
    last_changed_at: datetime | None
    next_check_at: datetime
    consecutive_failures: int
    current: Fields | None
    reposted_from: int | None = Field(
        description="The closed posting of the same job this one reposts, if any."
    )


class PostingPage(_Out):
    items: list[PostingOut]
    next_cursor: str | None


class VersionOut(_Out):
    id: int
    captured_at: datetime
    fields: Fields


class ChangeOut(_Out):
    id: int
    posting_id: int
    version_id: int
    watch_id: int
    detected_at: datetime
    field: str = Field(description="salary, remote, requirements.minimum, status, title, ...")
    kind: str = Field(description="changed, added, removed, reworded, new, closed, reopened")
    old: str | None
    new: str | None
    summary: str
    percent: float | None = Field(description="Pay: the largest move of min or max, signed.")
    title: str
    company: str
    url: str


class ChangePage(_Out):
    items: list[ChangeOut]
    next_cursor: str | None


class AlertOut(_Out):
    id: int
    posting_id: int
    channel: str
    title: str
    status: Literal["pending", "sent", "failed"]
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    created_at: datetime


class AlertPage(_Out):
    items: list[AlertOut]
    next_cursor: str | None


class Retried(_Out):
    retried: int


class Process(_Out):
    id: str
    kind: str
    host: str
    pid: int
    started_at: datetime
    beat_at: datetime
    checks: int
    trouble: str | None = Field(
        None,
        description="What the process said at its last beat is wrong with it "
        "(a browser renderer stuck past its deadline); null when nothing.",
    )


class Health(_Out):
    version: str
    watches: int
    postings: int
    failing: int
    checks_last_24h: dict[str, int]
    alerts: dict[str, int]
    processes: list[Process]
    paused_hosts: dict[str, datetime]


# -- mapping -------------------------------------------------------------------------


def fields_out(posting: Posting) -> Fields:
    return Fields(
        title=posting.title,
        company=posting.company,
        department=posting.department,
        locations=list(posting.locations),
        pay=[Pay(**pay_values(s)) for s in posting.salaries],
        remote=Remote(**posting.remote.to_dict()),
        requirements=Requirements(**posting.requirements.to_dict()),
        employment_type=posting.employment_type,
        posted_at=posting.posted_at.isoformat() if posting.posted_at else None,
        status=posting.status.value,
        provenance=dict(posting.provenance.sources),
    )


def watch_out(row: WatchRow) -> Watch:
    current = row.current
    return Watch(
        id=row.watch_id,
        url=shown_url(row.url),
        kind=row.source_kind,
        board=row.role == "board",
        posting_id=row.posting_id,
        title=row.title,
        company=row.company,
        status=row.status,  # type: ignore[arg-type]
        paused=row.paused,
        interval_seconds=row.interval_seconds,
        cron=row.cron,
        open_postings=row.members_open if row.role == "board" else None,
        members=row.member_reads if row.role == "board" else None,  # type: ignore[arg-type]
        pay=[Pay(**pay_values(s)) for s in current.salaries] if current else [],
        remote=current.remote.kind.value if current else "unknown",
        last_changed_at=row.last_changed_at,
        last_checked_at=row.last_checked_at,
        last_outcome=row.last_outcome,
        last_error=row.last_error,
        next_check_at=row.next_check_at,
        consecutive_failures=row.consecutive_failures,
        channels=list(row.channels),
        render=row.render,  # type: ignore[arg-type]
        filters=Filters(**row.filters) if row.filters is not None else None,
        from_config=row.origin == "config",
        tags=list(row.tags),
        unseen=row.unseen,
    )


def posting_out(row: PostingRow) -> PostingOut:
    return PostingOut(
        id=row.id,
        watch_id=row.watch_id,
        board_id=row.board_id,
        role=row.role,  # type: ignore[arg-type]
        source=Source(kind=row.source_kind, id=row.source_id),
        url=shown_url(row.url),
        title=row.title,
        company=row.company,
        status=row.status,  # type: ignore[arg-type]
        created_at=row.created_at,
        last_checked_at=row.last_checked_at,
        last_changed_at=row.last_changed_at,
        next_check_at=row.next_check_at,
        consecutive_failures=row.consecutive_failures,
        current=fields_out(row.current) if row.current else None,
        reposted_from=row.reposted_from,
    )


def change_out(row: ChangeRow) -> ChangeOut:
    return ChangeOut(
        id=row.id,
        posting_id=row.posting_id,
        version_id=row.snapshot_id,
        watch_id=row.watch_id,
        detected_at=row.detected_at,
        field=row.field,
        kind=row.kind,
        old=row.old,
        new=row.new,
        summary=row.summary,
        percent=change_percent(row),
        title=row.title,
        company=row.company,
        url=shown_url(row.url),
    )


def alert_out(row: AlertRow) -> AlertOut:
    # The API's alert is the stored one without the claim, which is ours alone.
    return AlertOut.model_validate(row, from_attributes=True)


class DiscoverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(description="A company's careers page.", max_length=8192)


class FoundBoardOut(_Out):
    """One board a careers page names."""

    system: str = Field(description="The system, spelled as its source kind would be.")
    system_name: str
    token: str = Field(description="The board's name or id at its system.")
    parts: dict[str, str] = Field(description="What else names it (Workday: pod, site).")
    url: str = Field(description="The URL to watch the board at.")
    found_by: list[str] = Field(description="How it appeared: link, iframe, embed script, ...")
    evidence: str = Field(description="The URL or call as it stands in the page.")
    other_company: str | None = Field(
        description="Why it is taken to be another company's board (never proposed)."
    )
    source_kind: str | None = Field(description="The installed source that reads it, if any.")
    proposed: bool
    watch_command: str | None


class DiscoveryOut(_Out):
    """The boards behind a careers page (as `posting-monitor discover` reports them)."""

    page_url: str
    page_kind: Literal["posting", "board", "no board"] = Field(
        description="posting: one posting's page; board: a board is proposed; "
        "no board: nothing to watch but the page's text."
    )
    boards: list[FoundBoardOut]
    advice: str | None = Field(description="What to do when nothing is proposed.")
