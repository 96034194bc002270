"""add-call-data interval and batchId: t_isl_campaign.last_calldata_at, t_isl_data.batch_id

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from openisales.store.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
# expand only: two nullable columns; code built for 0006 runs on it (its adds just
# neither keep nor check the interval, and store no batchId)
contract = False  # expand only: nullable columns, older code runs on it (store.schema)


def upgrade() -> None:
    with op.batch_alter_table("t_isl_campaign") as batch:
        batch.add_column(sa.Column("last_calldata_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("t_isl_data") as batch:
        batch.add_column(sa.Column("batch_id", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("t_isl_data") as batch:
        batch.drop_column("batch_id")
    with op.batch_alter_table("t_isl_campaign") as batch:
        batch.drop_column("last_calldata_at")
