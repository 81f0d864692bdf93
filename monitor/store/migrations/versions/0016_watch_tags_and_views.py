"""watches.tags: words a user files watches under (the list filters by them), and
watches.viewed_at: when the watch's page was last looked at (changes after it are
unseen)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.store.tables import JsonColumn, UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("watches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tags", JsonColumn, nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("viewed_at", UTCDateTime()))


def downgrade() -> None:
    for column in ("viewed_at", "tags"):
        if op.get_bind().dialect.name == "sqlite":
            # Not a batch copy: dropping "watches" would cascade to every posting.
            op.execute(f"ALTER TABLE watches DROP COLUMN {column}")
        else:
            op.drop_column("watches", column)
