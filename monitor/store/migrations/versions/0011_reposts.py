"""postings.reposted_from: the closed posting a new one on the same board reposts

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reposted_from", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_postings_reposted_from_postings"),
            "postings",
            ["reposted_from"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_postings_reposted_from_postings"), type_="foreignkey")
        batch_op.drop_column("reposted_from")
