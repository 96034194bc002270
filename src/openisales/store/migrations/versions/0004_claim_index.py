"""claim index in claim order: (vdn, campaign, status, next_call_time, data_id)

The claim orders due records by (next_call_time, data_id); without data_id in
the index PostgreSQL sorted every due record of the campaign on each claim.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD = "ix_t_isl_data_vdn_id_campaign_id_status_next_call_time"
NEW = "ix_t_isl_data_vdn_id_campaign_id_status_next_call_time_data_id"


def upgrade() -> None:
    with op.batch_alter_table("t_isl_data") as batch:
        batch.drop_index(OLD)
        batch.create_index(
            NEW, ["vdn_id", "campaign_id", "status", "next_call_time", "data_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("t_isl_data") as batch:
        batch.drop_index(NEW)
        batch.create_index(OLD, ["vdn_id", "campaign_id", "status", "next_call_time"], unique=False)
