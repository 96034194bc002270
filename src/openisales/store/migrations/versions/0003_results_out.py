"""results out: blocklist, appointments, push outbox, call-data history

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from openisales.store.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "t_isl_blocklist",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("restrict_times", sa.Integer(), nullable=True),
        sa.Column("restrict_period", sa.String(length=1), nullable=True),
        sa.Column("rel_category_id", sa.String(length=64), nullable=True),
        sa.Column("type_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", "number", name=op.f("pk_t_isl_blocklist")),
    )
    op.create_table(
        "t_isl_appointment",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("appoint_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("call_type", sa.SmallInteger(), nullable=False),
        sa.Column("called_no", sa.String(length=24), nullable=False),
        sa.Column("work_no", sa.String(length=32), nullable=True),
        sa.Column("user_account", sa.String(length=64), nullable=True),
        sa.Column("appoint_time", UTCDateTime(), nullable=False),
        sa.Column("call_data", sa.Text(), nullable=True),
        sa.Column("remark", sa.String(length=200), nullable=True),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("data_id", sa.BigInteger(), nullable=True),
        sa.Column("caller_no", sa.String(length=24), nullable=True),
        sa.Column("fail_code", sa.String(length=8), nullable=True),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("busi_result", sa.String(length=50), nullable=True),
        sa.Column("busi_sub_status", sa.String(length=50), nullable=True),
        sa.Column("result_time", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", "appoint_id", name=op.f("pk_t_isl_appointment")),
    )
    with op.batch_alter_table("t_isl_appointment") as batch:
        batch.create_index(
            batch.f("ix_t_isl_appointment_vdn_id_status_appoint_time"),
            ["vdn_id", "status", "appoint_time"],
            unique=False,
        )
    op.create_table(
        "t_isl_push_outbox",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("data_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("vdn_id", "data_id", "seq", name=op.f("pk_t_isl_push_outbox")),
    )
    with op.batch_alter_table("t_isl_push_outbox") as batch:
        batch.create_index(
            batch.f("ix_t_isl_push_outbox_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )
    op.create_table(
        "t_isl_data_history",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("data_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("archived_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", "data_id", name=op.f("pk_t_isl_data_history")),
    )


def downgrade() -> None:
    op.drop_table("t_isl_data_history")
    op.drop_table("t_isl_push_outbox")
    op.drop_table("t_isl_appointment")
    op.drop_table("t_isl_blocklist")
