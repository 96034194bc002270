"""dialing engine: leases, attempt counters, holidays, display results

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from openisales.store.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("t_isl_campaign") as batch:
        batch.add_column(sa.Column("max_concurrency", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("gateway", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("gateway_config", sa.Text(), nullable=True))
    with op.batch_alter_table("t_isl_data") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("day_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("attempt_day", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("first_attempt_day", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("result_retries", sa.Text(), nullable=True))
        batch.add_column(sa.Column("last_result_code", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("last_call_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("complete_reason", sa.String(length=16), nullable=True))
        batch.create_index(
            batch.f("ix_t_isl_data_status_lease_expires_at"),
            ["status", "lease_expires_at"],
            unique=False,
        )
    op.create_table(
        "t_isl_holiday",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("holiday_date", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", "holiday_date", name=op.f("pk_t_isl_holiday")),
    )
    op.create_table(
        "t_isl_obs_result",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("def_id", sa.BigInteger(), nullable=False),
        sa.Column("result_code", sa.String(length=8), nullable=False),
        sa.Column("display_result", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", "def_id", name=op.f("pk_t_isl_obs_result")),
        sa.UniqueConstraint(
            "vdn_id", "result_code", name=op.f("uq_t_isl_obs_result_vdn_id_result_code")
        ),
    )
    op.create_table(
        "t_isl_obs_result_map",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("map_id", sa.BigInteger(), nullable=False),
        sa.Column("def_id", sa.BigInteger(), nullable=False),
        sa.Column("fail_code", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", "map_id", name=op.f("pk_t_isl_obs_result_map")),
        sa.UniqueConstraint(
            "vdn_id", "fail_code", name=op.f("uq_t_isl_obs_result_map_vdn_id_fail_code")
        ),
    )
    with op.batch_alter_table("t_isl_obs_result_map") as batch:
        batch.create_index(
            batch.f("ix_t_isl_obs_result_map_vdn_id_def_id"), ["vdn_id", "def_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("t_isl_obs_result_map")
    op.drop_table("t_isl_obs_result")
    op.drop_table("t_isl_holiday")
    with op.batch_alter_table("t_isl_data") as batch:
        batch.drop_index(batch.f("ix_t_isl_data_status_lease_expires_at"))
        for name in (
            "complete_reason",
            "last_call_id",
            "last_result_code",
            "result_retries",
            "first_attempt_day",
            "attempt_day",
            "day_attempts",
            "lease_expires_at",
            "lease_owner",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("t_isl_campaign") as batch:
        for name in ("gateway_config", "gateway", "max_concurrency"):
            batch.drop_column(name)
