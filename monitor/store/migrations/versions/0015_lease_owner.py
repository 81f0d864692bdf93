"""postings.lease_owner: the process (its ``daemons`` row id) that leased a posting, so
that the postings of a process that died are given back when its death is known (a
restarted container's pid 1, a process of this host that no longer exists) instead of
when their leases run out

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("postings", sa.Column("lease_owner", sa.String(length=200), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE postings DROP COLUMN lease_owner")
    else:
        op.drop_column("postings", "lease_owner")
