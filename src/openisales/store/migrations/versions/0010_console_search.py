"""the console: call-data search indexes; import jobs and their refused rows

Three partial indexes on ``t_isl_data`` serve the console's call-data search,
newest first: ``(vdn_id, session_id, data_id)``, ``(vdn_id, batch_id,
data_id)`` and ``(vdn_id, custom_field, data_id)``, each over the rows that
have the key. On PostgreSQL they are built ``CONCURRENTLY`` (``store.schema.
create_index``): the table keeps taking writes while they build. Two new
tables hold the console's import jobs.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from openisales.store.schema import create_index
from openisales.store.tables import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
contract = False  # expand only: indexes and new tables, older code runs on it (store.schema)

SEARCH_KEYS = ("session_id", "batch_id", "custom_field")


def _name(key: str) -> str:
    return f"ix_t_isl_data_vdn_id_{key}_data_id"


def upgrade() -> None:
    for key in SEARCH_KEYS:
        where = sa.text(f"{key} IS NOT NULL")
        create_index(
            _name(key),
            "t_isl_data",
            ["vdn_id", key, "data_id"],
            postgresql_where=where,
            sqlite_where=where,
        )
    op.create_table(
        "t_isl_import_job",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("progress_done", sa.BigInteger(), nullable=False),
        sa.Column("progress_total", sa.BigInteger(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_valid", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), nullable=False),
        sa.Column("rows_refused", sa.Integer(), nullable=False),
        sa.Column("result_code", sa.String(length=16), nullable=True),
        sa.Column("result_desc", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("vdn_id", "job_id", name=op.f("pk_t_isl_import_job")),
    )
    op.create_table(
        "t_isl_import_reject",
        sa.Column("vdn_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", "job_id", "line", name=op.f("pk_t_isl_import_reject")),
    )


def downgrade() -> None:
    op.drop_table("t_isl_import_reject")
    op.drop_table("t_isl_import_job")
    for key in reversed(SEARCH_KEYS):
        op.drop_index(_name(key), table_name="t_isl_data")
