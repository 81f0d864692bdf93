"""board watches: posting roles, board membership, baseline time, watch filters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from monitor.store.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=10), nullable=False, server_default="single")
        )
        batch_op.add_column(sa.Column("board_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("baselined_at", UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_postings_board_id_postings"),
            "postings",
            ["board_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_postings_board_id"), ["board_id"], unique=False)
    with op.batch_alter_table("watches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "filters", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("watches", schema=None) as batch_op:
        batch_op.drop_column("filters")
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_postings_board_id"))
        batch_op.drop_constraint(batch_op.f("fk_postings_board_id_postings"), type_="foreignkey")
        batch_op.drop_column("baselined_at")
        batch_op.drop_column("board_id")
        batch_op.drop_column("role")
