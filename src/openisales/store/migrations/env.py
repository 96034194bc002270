"""Alembic environment: a connection handed in by ``store.schema``, or offline SQL."""

from __future__ import annotations

from alembic import context

from openisales.store.tables import metadata

if context.is_offline_mode():  # `openisales migrate --sql`: DDL for a DBA to apply
    context.configure(
        dialect_name=context.config.attributes["dialect_name"],
        target_metadata=metadata,
        literal_binds=True,
        transactional_ddl=True,
    )
else:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transaction_per_migration=True,
    )
with context.begin_transaction():
    context.run_migrations()
    if context.is_offline_mode() and context.config.attributes.get("state_sql"):
        context.execute(context.config.attributes["state_sql"])
