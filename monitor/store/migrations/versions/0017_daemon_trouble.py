"""daemons.trouble: what a running process says is wrong with it and that it cannot fix
itself (a browser renderer stuck past its deadline), written with each heartbeat so that
``health`` and the dashboard's health page, in other processes, can say so

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("daemons", sa.Column("trouble", sa.Text(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE daemons DROP COLUMN trouble")
    else:
        op.drop_column("daemons", "trouble")
