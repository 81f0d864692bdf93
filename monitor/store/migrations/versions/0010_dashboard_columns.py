"""What the dashboard and API sort and filter by without opening every version:
postings.company and postings.last_changed_at (filled from the stored versions and
changes), outbox.body_json (the structured payload of JSON webhooks), watches.paused_at, and indexes for
a watch's postings, a company's postings and the changes of one field

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from monitor.store.tables import JsonColumn, UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_postings = sa.table(
    "postings",
    sa.column("id", sa.Integer),
    sa.column("current_snapshot_id", sa.Integer),
    sa.column("company", sa.Text),
)
_snapshots = sa.table("snapshots", sa.column("id", sa.Integer), sa.column("data", JsonColumn))


def upgrade() -> None:
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("company", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("last_changed_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_json", sa.Text(), nullable=True))
    with op.batch_alter_table("watches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_at", UTCDateTime(), nullable=True))
    _fill_company()
    op.execute(
        "UPDATE postings SET last_changed_at = "
        "(SELECT max(changes.detected_at) FROM changes WHERE changes.posting_id = postings.id)"
    )
    op.create_index(op.f("ix_postings_watch_id"), "postings", ["watch_id"])
    op.create_index(op.f("ix_postings_company"), "postings", ["company"])
    op.create_index(op.f("ix_postings_last_changed_at"), "postings", ["last_changed_at"])
    op.create_index(op.f("ix_changes_field_id"), "changes", ["field", "id"])


def _fill_company() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_postings.c.id, _snapshots.c.data).select_from(
            _postings.join(_snapshots, _snapshots.c.id == _postings.c.current_snapshot_id)
        )
    )
    batch: list[dict[str, Any]] = []
    for row in rows:
        company = (row.data or {}).get("company") or ""
        if company:
            batch.append({"pid": row.id, "company": company})
    if batch:
        conn.execute(
            _postings.update()
            .where(_postings.c.id == sa.bindparam("pid"))
            .values(company=sa.bindparam("company")),
            batch,
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_changes_field_id"), table_name="changes")
    op.drop_index(op.f("ix_postings_last_changed_at"), table_name="postings")
    op.drop_index(op.f("ix_postings_company"), table_name="postings")
    op.drop_index(op.f("ix_postings_watch_id"), table_name="postings")
    with op.batch_alter_table("watches", schema=None) as batch_op:
        batch_op.drop_column("paused_at")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("body_json")
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.drop_column("last_changed_at")
        batch_op.drop_column("company")
