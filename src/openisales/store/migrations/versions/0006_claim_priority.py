"""claim priority: scheduled records (retries, appointments) before first calls

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD = "ix_t_isl_data_vdn_id_campaign_id_status_next_call_time_data_id"
NEW = "ix_t_isl_data_claim"  # the naming convention would exceed 63 characters


def upgrade() -> None:
    with op.batch_alter_table("t_isl_data") as batch:
        batch.add_column(
            sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="1")
        )
        batch.drop_index(OLD)
        batch.create_index(
            NEW,
            ["vdn_id", "campaign_id", "status", "priority", "next_call_time", "data_id"],
            unique=False,
        )
    # records already waiting for a retry keep their place ahead of first calls
    op.execute("UPDATE t_isl_data SET priority = 0 WHERE attempt_no > 0")


def downgrade() -> None:
    with op.batch_alter_table("t_isl_data") as batch:
        batch.drop_index(NEW)
        batch.create_index(
            OLD, ["vdn_id", "campaign_id", "status", "next_call_time", "data_id"], unique=False
        )
        batch.drop_column("priority")
