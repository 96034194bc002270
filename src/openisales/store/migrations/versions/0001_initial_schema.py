"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from openisales.store.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "t_isl_auth_nonce",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", "digest", name=op.f("pk_t_isl_auth_nonce")),
    )
    with op.batch_alter_table("t_isl_auth_nonce", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_t_isl_auth_nonce_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "t_isl_busi_result",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("def_id", sa.BigInteger(), nullable=False),
        sa.Column("parent_def_id", sa.BigInteger(), nullable=False),
        sa.Column("def_level", sa.SmallInteger(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", "def_id", name=op.f("pk_t_isl_busi_result")),
        sa.UniqueConstraint(
            "vdn_id",
            "parent_def_id",
            "code",
            name=op.f("uq_t_isl_busi_result_vdn_id_parent_def_id_code"),
        ),
    )
    op.create_table(
        "t_isl_campaign",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("device_type", sa.SmallInteger(), nullable=False),
        sa.Column("api_version", sa.SmallInteger(), nullable=False),
        sa.Column("begin_time", UTCDateTime(), nullable=False),
        sa.Column("end_time", UTCDateTime(), nullable=False),
        sa.Column("caller_no", sa.Text(), nullable=False),
        sa.Column("max_alerting_time", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("schedule_param", sa.Text(), nullable=False),
        sa.Column("skill_param", sa.Text(), nullable=True),
        sa.Column("ivr_param", sa.Text(), nullable=True),
        sa.Column("call_policy", sa.Text(), nullable=True),
        sa.Column("init_status", sa.SmallInteger(), nullable=False),
        sa.Column("call_back_url", sa.String(length=1024), nullable=True),
        sa.Column("policy_type", sa.SmallInteger(), nullable=True),
        sa.Column("policy_json", sa.Text(), nullable=True),
        sa.Column("no_retry_policy", sa.Text(), nullable=True),
        sa.Column("busi_policy", sa.Text(), nullable=True),
        sa.Column("retry_policy_updated_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", "campaign_id", name=op.f("pk_t_isl_campaign")),
        sa.UniqueConstraint("vdn_id", "name", name=op.f("uq_t_isl_campaign_vdn_id_name")),
    )
    op.create_table(
        "t_isl_credential",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("ak", sa.String(length=64), nullable=False),
        sa.Column("sk_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("vdn_id", "ak", name=op.f("pk_t_isl_credential")),
    )
    with op.batch_alter_table("t_isl_credential", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_t_isl_credential_ak"), ["ak"], unique=False)

    op.create_table(
        "t_isl_data",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("data_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.Column("custom_field", sa.String(length=200), nullable=True),
        sa.Column("caller", sa.String(length=24), nullable=True),
        sa.Column("call_data", sa.Text(), nullable=True),
        sa.Column("recycle_time", UTCDateTime(), nullable=True),
        sa.Column("called_nos", sa.Text(), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("attempt_index", sa.Integer(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("next_call_time", UTCDateTime(), nullable=True),
        sa.Column("reserved_work_no", sa.String(length=32), nullable=True),
        sa.Column("last_fail_code", sa.String(length=8), nullable=True),
        sa.Column("last_call_status", sa.SmallInteger(), nullable=True),
        sa.Column("busi_result", sa.String(length=50), nullable=True),
        sa.Column("sub_status", sa.String(length=50), nullable=True),
        sa.Column("busi_result_desc", sa.Text(), nullable=True),
        sa.Column("work_no", sa.String(length=32), nullable=True),
        sa.Column("busi_write_time", UTCDateTime(), nullable=True),
        sa.Column("busi_attempt_no", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("vdn_id", "data_id", name=op.f("pk_t_isl_data")),
    )
    with op.batch_alter_table("t_isl_data", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_t_isl_data_vdn_id_campaign_id_status_next_call_time"),
            ["vdn_id", "campaign_id", "status", "next_call_time"],
            unique=False,
        )

    op.create_table(
        "t_isl_data_result",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.BigInteger(), nullable=False),
        sa.Column("data_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("called", sa.String(length=24), nullable=True),
        sa.Column("call_status", sa.SmallInteger(), nullable=True),
        sa.Column("fail_code", sa.String(length=8), nullable=True),
        sa.Column("result_code", sa.String(length=16), nullable=True),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("ack_begin_time", UTCDateTime(), nullable=True),
        sa.Column("call_begin_time", UTCDateTime(), nullable=True),
        sa.Column("call_end_time", UTCDateTime(), nullable=True),
        sa.Column("busi_result", sa.String(length=50), nullable=True),
        sa.Column("sub_status", sa.String(length=50), nullable=True),
        sa.Column("busi_result_desc", sa.Text(), nullable=True),
        sa.Column("work_no", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", "result_id", name=op.f("pk_t_isl_data_result")),
    )
    with op.batch_alter_table("t_isl_data_result", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_t_isl_data_result_vdn_id_campaign_id_created_at"),
            ["vdn_id", "campaign_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_t_isl_data_result_vdn_id_data_id"), ["vdn_id", "data_id"], unique=False
        )

    op.create_table(
        "t_isl_sequence",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", "name", name=op.f("pk_t_isl_sequence")),
    )
    op.create_table(
        "t_isl_vdn",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", name=op.f("pk_t_isl_vdn")),
    )


def downgrade() -> None:
    op.drop_table("t_isl_vdn")
    op.drop_table("t_isl_sequence")
    with op.batch_alter_table("t_isl_data_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_t_isl_data_result_vdn_id_data_id"))
        batch_op.drop_index(batch_op.f("ix_t_isl_data_result_vdn_id_campaign_id_created_at"))

    op.drop_table("t_isl_data_result")
    with op.batch_alter_table("t_isl_data", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_t_isl_data_vdn_id_campaign_id_status_next_call_time"))

    op.drop_table("t_isl_data")
    with op.batch_alter_table("t_isl_credential", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_t_isl_credential_ak"))

    op.drop_table("t_isl_credential")
    op.drop_table("t_isl_campaign")
    op.drop_table("t_isl_busi_result")
    with op.batch_alter_table("t_isl_auth_nonce", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_t_isl_auth_nonce_expires_at"))

    op.drop_table("t_isl_auth_nonce")
