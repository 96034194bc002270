"""the operator console: operators, their VDNs, sessions, the login throttle, the audit log

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from openisales.store.tables import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
contract = False  # expand only: new tables, older code runs on it (store.schema)


def upgrade() -> None:
    op.create_table(
        "t_isl_operator",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("disabled_at", UTCDateTime(), nullable=True),
        sa.Column("password_changed_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_t_isl_operator")),
    )
    op.create_table(
        "t_isl_operator_vdn",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", "vdn_id", name=op.f("pk_t_isl_operator_vdn")),
    )
    op.create_table(
        "t_isl_console_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_t_isl_console_session")),
    )
    op.create_index(
        op.f("ix_t_isl_console_session_operator"), "t_isl_console_session", ["operator"]
    )
    op.create_index(
        op.f("ix_t_isl_console_session_expires_at"), "t_isl_console_session", ["expires_at"]
    )
    op.create_table(
        "t_isl_login_throttle",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_t_isl_login_throttle")),
    )
    op.create_table(
        "t_isl_audit",
        sa.Column(
            "audit_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("vdn_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_t_isl_audit")),
    )
    op.create_index(op.f("ix_t_isl_audit_vdn_id_at"), "t_isl_audit", ["vdn_id", "at"])
    op.create_index(op.f("ix_t_isl_audit_at"), "t_isl_audit", ["at"])


def downgrade() -> None:
    op.drop_table("t_isl_audit")
    op.drop_table("t_isl_login_throttle")
    op.drop_table("t_isl_console_session")
    op.drop_table("t_isl_operator_vdn")
    op.drop_table("t_isl_operator")
