"""daemons.kind (a local-engine daemon or a procrastinate worker); host_pacing: each
host's next request time and pause, shared by every worker; indexes for pruning the
check log and sent alerts by age, and of removed watches (counting due postings)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.store.tables import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("daemons", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=10), nullable=False, server_default="daemon")
        )
    op.create_table(
        "host_pacing",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("next_request_at", UTCDateTime(), nullable=True),
        sa.Column("paused_until", UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_host_pacing")),
    )
    op.create_index(op.f("ix_check_log_checked_at"), "check_log", ["checked_at"])
    op.create_index(op.f("ix_outbox_status_sent_at"), "outbox", ["status", "sent_at"])
    removed = sa.text("removed_at IS NOT NULL")
    op.create_index(
        "ix_watches_removed", "watches", ["id"], postgresql_where=removed, sqlite_where=removed
    )


def downgrade() -> None:
    op.drop_index("ix_watches_removed", table_name="watches")
    op.drop_index(op.f("ix_outbox_status_sent_at"), table_name="outbox")
    op.drop_index(op.f("ix_check_log_checked_at"), table_name="check_log")
    op.drop_table("host_pacing")
    with op.batch_alter_table("daemons", schema=None) as batch_op:
        batch_op.drop_column("kind")
