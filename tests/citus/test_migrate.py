"""`openisales migrate` on a Citus coordinator distributes the schema (decision 9)."""

from __future__ import annotations

import asyncio

from openisales.store import citus, schema
from openisales.store.engine import create_engine
from openisales.store.tables import metadata
from tests.citus.conftest import fetch, openisales

TABLES = """
SELECT c.relname AS name, t.citus_table_type AS kind, t.distribution_column AS key,
       t.colocation_id AS colocation
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN citus_tables t ON t.table_name = c.oid::regclass
WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname LIKE 't\\_isl\\_%'
"""
SHARDS = "SELECT logicalrelid::text AS name, shardid FROM pg_dist_shard ORDER BY shardid"


def _async(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def test_migrate_distributes_every_table_and_a_second_run_does_nothing(
    citus_database: str,
) -> None:
    openisales(citus_database, "migrate")

    rows = {r["name"]: r for r in fetch(citus_database, TABLES)}
    assert set(rows) == set(metadata.tables)
    assert [n for n, r in rows.items() if r["kind"] is None] == []  # none left undistributed
    for name, row in rows.items():
        assert row["kind"] == citus.kind_of(metadata.tables[name]), name
    tenant = {n: r for n, r in rows.items() if r["kind"] == "distributed"}
    assert {r["key"] for r in tenant.values()} == {"vdn_id"}
    assert len({r["colocation"] for r in tenant.values()}) == 1  # all colocated
    assert rows["t_isl_credential"]["kind"] == "reference"  # looked up by AK alone
    assert rows["t_isl_data"]["kind"] == "distributed"

    shards = fetch(citus_database, SHARDS)
    done = openisales(citus_database, "migrate")
    assert "database at revision" in done.stdout
    assert fetch(citus_database, SHARDS) == shards  # nothing moved, nothing added
    assert {r["name"]: r for r in fetch(citus_database, TABLES)} == rows


def test_later_migrations_run_on_a_distributed_schema(fresh_citus_database: str) -> None:
    """A schema distributed at an older revision takes the newer migrations (DDL propagated)."""

    async def run() -> tuple[list[citus.Step], list[object]]:
        engine = create_engine(_async(fresh_citus_database))
        try:
            await schema.migrate(engine, "0005")  # t_isl_data and t_isl_campaign distributed
            async with engine.connect() as conn:
                assert await citus.distribute(conn) == []  # migrate did it already
            # 0006: a column and a new claim index on distributed tables; 0008-0010: new
            # tables (distributed after the upgrade), CONCURRENTLY-built partial indexes
            await schema.migrate(engine, "head")
            async with engine.connect() as conn:
                again = await citus.distribute(conn)
            return again, await schema.diff(engine)
        finally:
            await engine.dispose()

    again, differences = asyncio.run(run())
    assert again == []
    assert differences == []  # the migrated, distributed schema is tables.py
    rows = fetch(fresh_citus_database, TABLES)
    assert {r["name"] for r in rows if r["kind"] is not None} == set(metadata.tables)
    index = "ix_t_isl_data_vdn_id_batch_id_data_id"  # 0010, built CONCURRENTLY
    found = fetch(fresh_citus_database, f"SELECT 1 FROM pg_indexes WHERE indexname = '{index}'")
    assert len(found) == 1  # the shell table on the coordinator has the index
    status = asyncio.run(_status(fresh_citus_database))
    assert status.problem() is None


async def _status(url: str) -> schema.Status:
    engine = create_engine(_async(url))
    try:
        return await schema.status(engine)
    finally:
        await engine.dispose()
