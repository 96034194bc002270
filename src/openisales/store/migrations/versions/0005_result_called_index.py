"""index attempts by number, for blocklist call quotas

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NAME = "ix_t_isl_data_result_vdn_id_called_created_at"


def upgrade() -> None:
    with op.batch_alter_table("t_isl_data_result") as batch:
        batch.create_index(NAME, ["vdn_id", "called", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("t_isl_data_result") as batch:
        batch.drop_index(NAME)
