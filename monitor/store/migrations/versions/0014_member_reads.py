"""watches.members: whether a board watch reads its members' job details ("full", the
default) or only its list ("list"); the versions board members have so far were read
from a thin list (Workday, SmartRecruiters, BambooHR, JazzHR, Breezy), and now say so
(``provenance.level = "list"``), so that their first detail read is a change of level,
never a burst of "added" changes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The sources whose board list was thin when this revision was written.
_THIN = ("workday", "smartrecruiters", "bamboohr", "jazzhr", "breezy")
_CHUNK = 1000
_postings = sa.table(
    "postings",
    sa.column("id", sa.Integer),
    sa.column("role", sa.String),
    sa.column("source_kind", sa.String),
)
_snapshots = sa.table(
    "snapshots",
    sa.column("id", sa.Integer),
    sa.column("posting_id", sa.Integer),
    sa.column("data", sa.JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("watches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("members", sa.String(length=10), nullable=False, server_default="full")
        )
    _label_list_reads()


def _label_list_reads() -> None:
    conn = op.get_bind()
    members = (
        sa.select(_postings.c.id)
        .where(_postings.c.role == "member", _postings.c.source_kind.in_(_THIN))
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(_snapshots.c.id, _snapshots.c.data).where(_snapshots.c.posting_id.in_(members))
    ).all()
    batch: list[dict[str, Any]] = []
    for row in rows:
        data = dict(row.data or {})
        data["provenance"] = {**(data.get("provenance") or {}), "level": "list"}
        batch.append({"sid": row.id, "data": data})
    for start in range(0, len(batch), _CHUNK):
        conn.execute(
            _snapshots.update()
            .where(_snapshots.c.id == sa.bindparam("sid"))
            .values(data=sa.bindparam("data")),
            batch[start : start + _CHUNK],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Not a batch copy of the table: dropping "watches" would take every posting
        # with it (postings.watch_id cascades). SQLite drops a column itself since 3.35.
        op.execute("ALTER TABLE watches DROP COLUMN members")
    else:
        op.drop_column("watches", "members")
