"""the schema's own state: the oldest code revision that may run on it (rolling upgrades)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
contract = False  # expand only: code built for 0006 or later runs on it (store.schema)


def upgrade() -> None:
    state = op.create_table(
        "t_isl_schema",
        sa.Column("id", sa.SmallInteger(), nullable=False, autoincrement=False),
        sa.Column("min_code_revision", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_t_isl_schema")),
    )
    # store.schema.migrate keeps the value current after every upgrade
    op.bulk_insert(state, [{"id": 1, "min_code_revision": "0006"}])


def downgrade() -> None:
    op.drop_table("t_isl_schema")
