"""SQLAlchemy tables. Rows stay here and in the store's aggregate modules (rows.py and
readqueries.py map them to values); the values are in model.py and records.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, also on SQLite, which keeps no offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware values")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonColumn: Any = JSON().with_variant(JSONB(), "postgresql")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

watches = Table(
    "watches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("source_kind", String(40), nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("cron", String(200)),
    Column("channels", JsonColumn, nullable=False),
    Column("origin", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("removed_at", UTCDateTime),
    Column("filters", JsonColumn),
    # Paused from the dashboard or API: kept, not checked.
    Column("paused_at", UTCDateTime),
    # plain, browser or auto (see monitor.net.browser).
    Column("render", String(10), nullable=False, server_default="plain"),
    # Boards: "full" reads every member's job detail where the list is thin; "list" not.
    Column("members", String(10), nullable=False, server_default="full"),
    # Words the user files the watch under (the watches list filters by them).
    Column("tags", JsonColumn, nullable=False, server_default="[]"),
    # When its page was last viewed: changes found after it are unseen.
    Column("viewed_at", UTCDateTime),
)
# The few removed watches, so that counting due postings leaves theirs out without
# reading every watch (a million of them).
Index(
    "ix_watches_removed",
    watches.c.id,
    postgresql_where=watches.c.removed_at.is_not(None),
    sqlite_where=watches.c.removed_at.is_not(None),
)

WATCHED_ROLES = ("single", "board")
"""The roles of the one row a watch names (the rest are its board's members)."""

postings = Table(
    "postings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("watch_id", ForeignKey("watches.id", ondelete="CASCADE"), nullable=False),
    Column("source_kind", String(40), nullable=False),
    Column("source_id", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("company", Text, nullable=False, server_default="", index=True),
    Column("status", String(10), nullable=False, default="open"),
    Column("current_snapshot_id", Integer),
    Column("body_hash", String(64)),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("next_check_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    # Who holds the lease (a daemons row id), when the claimant said.
    Column("lease_owner", String(200)),
    Column("last_checked_at", UTCDateTime),
    Column("last_outcome", String(20)),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("gone_count", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    # 'single': a watched posting (and maybe listed on a board too: board_id says);
    # 'board': a watched board (fetched, never alerted on itself); 'member': a posting
    # found on a board, read through its list only; 'detail': a posting found on a
    # thin board (monitor.sources: thin_list) whose job detail is read on its own
    # schedule, the list saying only whether it is still there.
    Column("role", String(10), nullable=False, server_default="single"),
    Column("board_id", ForeignKey("postings.id", ondelete="CASCADE"), index=True),
    Column("baselined_at", UTCDateTime),
    # A suspect read awaiting confirmation (see monitor.core.suspect).
    Column("suspect_hash", String(64)),
    Column("suspect_count", Integer, nullable=False, server_default="0"),
    # When a change was last found: the dashboard sorts watches by it.
    Column("last_changed_at", UTCDateTime, index=True),
    # A posting new on its board that reposts this closed one (see monitor.core.boards).
    Column("reposted_from", ForeignKey("postings.id", ondelete="SET NULL")),
    UniqueConstraint("source_kind", "source_id"),
    Index(None, "next_check_at"),
    # A watch's postings, and (the nav's unseen count) whether one changed since a time,
    # answered from the index alone.
    Index(None, "watch_id", "last_changed_at"),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("posting_id", ForeignKey("postings.id", ondelete="CASCADE"), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("data", JsonColumn, nullable=False),
    Column("captured_at", UTCDateTime, nullable=False),
    Index(None, "posting_id", "captured_at"),
)

changes = Table(
    "changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("posting_id", ForeignKey("postings.id", ondelete="CASCADE"), nullable=False),
    Column("snapshot_id", ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
    Column("detected_at", UTCDateTime, nullable=False),
    Column("field", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("old", Text),
    Column("new", Text),
    Column("summary", Text, nullable=False),
    # Pay: the largest move of min or max, signed (``FieldChange.percent``).
    Column("percent", Numeric(scale=1)),
    Index(None, "posting_id", "detected_at"),
    Index(None, "field", "id"),  # the changes of one field, newest first
    Index(None, "detected_at", "id"),  # the first change since a time (lists, exports)
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("posting_id", ForeignKey("postings.id", ondelete="CASCADE"), nullable=False),
    Column("snapshot_id", ForeignKey("snapshots.id", ondelete="CASCADE")),
    Column("channel", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_markdown", Text, nullable=False),
    Column("body_html", Text),
    # A JSON webhook's payload (monitor.notify.payload), when a channel wants one.
    Column("body_json", Text),
    Column("status", String(10), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    # The process sending the alert now, and until when no other may.
    Column("claimed_by", String(200)),
    Column("claimed_until", UTCDateTime),
    Index(None, "status", "next_attempt_at"),
    Index(None, "status", "sent_at"),  # pruning sent alerts by age
)

check_log = Table(
    "check_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("posting_id", ForeignKey("postings.id", ondelete="CASCADE"), nullable=False),
    Column("checked_at", UTCDateTime, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("http_status", Integer),
    Column("latency_ms", Integer),
    Column("error", Text),
    Index(None, "posting_id", "checked_at"),
    Index(None, "checked_at"),  # pruning by age
)

daemons = Table(
    "daemons",
    metadata,
    # host:pid:start, so a restarted daemon is a new row and the old one stays as history.
    Column("id", String(200), primary_key=True),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("beat_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime),
    Column("checks", Integer, nullable=False, server_default="0"),
    Column("kind", String(10), nullable=False, server_default="daemon"),
    # What the process says is wrong with it that it cannot fix (a stuck renderer).
    Column("trouble", Text),
)

host_pacing = Table(
    "host_pacing",
    metadata,
    # Written by the procrastinate engine's batches (one host each, one at a time):
    # the next batch of a host, on whichever worker, keeps the host's pace and pause.
    Column("host", String(255), primary_key=True),
    Column("next_request_at", UTCDateTime),
    Column("paused_until", UTCDateTime),
    Column("failures", Integer, nullable=False, server_default="0"),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("value", Text, nullable=False),
)
