"""postings(watch_id, last_changed_at) in place of postings(watch_id): whether a watch's
posting, or one on its board, changed since the watch was last viewed is read from the
index alone, so the dashboard's unseen count (on every page) stays cheap at 30,000 watches;
changes(detected_at, id): the first change since a time, so "changes since" stops its
newest-first scan there

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_postings_watch_id_last_changed_at", "postings", ["watch_id", "last_changed_at"]
    )
    op.drop_index("ix_postings_watch_id", table_name="postings")
    op.create_index("ix_changes_detected_at_id", "changes", ["detected_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_changes_detected_at_id", table_name="changes")
    op.create_index("ix_postings_watch_id", "postings", ["watch_id"])
    op.drop_index("ix_postings_watch_id_last_changed_at", table_name="postings")
