"""changes.percent: a pay change's largest move of min or max, signed, stored when the
change is found; the changes found before get the figure their summary states, as
the dashboard and the API read it from the summary until now

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_PERCENT = re.compile(r"\(([+-]\d+(?:\.\d+)?)%(?: / ([+-]\d+(?:\.\d+)?)%)?\)")
_changes = sa.table(
    "changes",
    sa.column("id", sa.Integer),
    sa.column("field", sa.String),
    sa.column("summary", sa.Text),
    sa.column("percent", sa.Numeric(scale=1)),
)


def upgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("percent", sa.Numeric(scale=1), nullable=True))
    _fill_percent()


def summary_percent(summary: str) -> Decimal | None:
    """The pay move a summary states ('(+6.0% / +5.0%)'): the larger one, signed."""
    match = _PERCENT.search(summary)
    if match is None:
        return None
    moves = [Decimal(m) for m in match.groups() if m is not None]
    return max(moves, key=abs)


def _fill_percent() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_changes.c.id, _changes.c.summary).where(_changes.c.field == "salary")
    )
    batch = [
        {"cid": row.id, "percent": percent}
        for row in rows
        if (percent := summary_percent(row.summary)) is not None
    ]
    if batch:
        conn.execute(
            _changes.update()
            .where(_changes.c.id == sa.bindparam("cid"))
            .values(percent=sa.bindparam("percent")),
            batch,
        )


def downgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_column("percent")
