"""Rolling upgrades: which schema a release may run on, `migrate status`, `migrate --sql`.

On SQLite and PostgreSQL: the recorded oldest compatible revision, an older
schema refused, a newer release's expand migrations accepted, its contract
migrations refused; the worker refuses an unmigrated database in one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.cli import cli
from openisales.store import schema
from openisales.store.engine import create_engine
from openisales.store.tables import schema_state
from tests.conftest import ENGINES, MASTER_KEY, _drop_pg_database, _pg_admin_url


async def _pretend_a_newer_release(engine: AsyncEngine, min_code: str) -> None:
    """The database as a newer release's migrations (unknown here) would leave it."""
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
        await conn.execute(sa.update(schema_state).values(min_code_revision=min_code))


async def test_migrate_records_the_oldest_code_that_may_run(engine: AsyncEngine) -> None:
    found = await schema.check(engine)
    assert found.current == found.head == schema.known_revisions()[-1]
    assert found.min_code == schema.min_code_revision(found.head)
    assert found.pending == () and found.problem() is None
    # 0007 and 0008 are expand migrations: the code of 0006 still runs on them
    assert schema.min_code_revision("0008") == "0006"
    assert schema.min_code_revision("0006") == "0006"  # unflagged: a contract


async def test_a_newer_release_s_expand_migrations_are_accepted(engine: AsyncEngine) -> None:
    await _pretend_a_newer_release(engine, min_code="0006")
    found = await schema.check(engine)
    assert found.newer and found.pending == ()


async def test_a_newer_release_s_contract_migration_is_refused(engine: AsyncEngine) -> None:
    await _pretend_a_newer_release(engine, min_code="0999")
    with pytest.raises(schema.SchemaError, match=r"newer than this release .*upgrade openisales"):
        await schema.check(engine)


@pytest.fixture(params=ENGINES)
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    """A database nobody migrated."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"openisales_empty_{tmp_path.name[-12:].lower()}"
    admin = create_engine(_pg_admin_url())
    async with admin.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    url = sa.engine.make_url(_pg_admin_url()).set(database=name)
    text = url.render_as_string(hide_password=False)
    yield text
    await _drop_pg_database(text)


async def test_an_older_schema_is_refused_until_migrated(empty_url: str) -> None:
    engine = create_engine(empty_url)
    try:
        with pytest.raises(schema.SchemaError, match="not migrated: run `openisales migrate`"):
            await schema.check(engine)
        await schema.migrate(engine, "0006")
        with pytest.raises(schema.SchemaError, match=r"at revision 0006, this release needs"):
            await schema.check(engine)
        found = await schema.status(engine)
        assert found.pending == tuple(schema.known_revisions()[6:])
        await schema.migrate(engine)
        assert (await schema.check(engine)).problem() is None
    finally:
        await engine.dispose()


def test_the_worker_refuses_an_unmigrated_database_in_one_line(empty_url: str) -> None:
    if empty_url.startswith("sqlite"):
        pytest.skip("the embedded database migrates itself")
    result = CliRunner().invoke(
        cli,
        ["worker"],
        env={"OPENISALES_DATABASE_URL": empty_url, "OPENISALES_MASTER_KEY": MASTER_KEY},
    )
    assert result.exit_code == 1
    assert result.output == "Error: the database is not migrated: run `openisales migrate`\n"


def test_migrate_status_and_sql(empty_url: str, tmp_path: Path) -> None:
    env = {"OPENISALES_DATABASE_URL": empty_url, "OPENISALES_MASTER_KEY": MASTER_KEY}
    if empty_url.startswith("sqlite"):
        env = {"OPENISALES_DATABASE_URL": "", "OPENISALES_MASTER_KEY": ""}
        base = ["--data-dir", str(tmp_path / "data")]
    else:
        base = []
    runner = CliRunner()
    before = runner.invoke(cli, [*base, "migrate", "status"], env=env)
    assert before.exit_code == 1
    assert "database revision    none (never migrated)" in before.output
    assert runner.invoke(cli, [*base, "migrate"], env=env).exit_code == 0
    after = runner.invoke(cli, [*base, "migrate", "status"], env=env)
    assert after.exit_code == 0, after.output
    assert "state                ok" in after.output
    assert f"this release         {schema.head_revision()}" in after.output
    sql = runner.invoke(cli, [*base, "migrate", "--sql", "--from", "0006"], env=env)
    if base:
        assert sql.exit_code == 1 and "embedded database migrates itself" in sql.output
        return
    assert sql.exit_code == 0, sql.output
    assert "ALTER TABLE t_isl_campaign ADD COLUMN last_calldata_at" in sql.output
    assert "UPDATE t_isl_schema SET min_code_revision = '0006'" in sql.output
    assert sql.output.rstrip().endswith("COMMIT;")
    # nothing left to print once the database is at this release
    current = runner.invoke(cli, [*base, "migrate", "--sql"], env=env)
    assert current.exit_code == 0 and "ALTER TABLE" not in current.output


def test_new_indexes_are_built_concurrently_on_postgresql() -> None:
    """What a migration using ``schema.create_index`` emits, per dialect."""
    import io

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    def emitted(dialect: str) -> str:
        buffer = io.StringIO()
        context = MigrationContext.configure(
            dialect_name=dialect,
            opts={"as_sql": True, "output_buffer": buffer, "transactional_ddl": True},
        )
        with Operations.context(context), context.begin_transaction():
            schema.create_index("ix_example", "t_isl_data", ["vdn_id", "batch_id"])
        return buffer.getvalue()

    pg = emitted("postgresql")
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_example ON t_isl_data" in pg
    assert pg.index("COMMIT") < pg.index("CONCURRENTLY")  # outside the transaction
    assert "CONCURRENTLY" not in emitted("sqlite")


async def test_create_index_runs_on_a_live_database(engine: AsyncEngine) -> None:
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    def run(conn: sa.Connection) -> list[str]:
        context = MigrationContext.configure(conn)
        with Operations.context(context), context.begin_transaction():
            schema.create_index("ix_example", "t_isl_data", ["vdn_id", "batch_id"])
        conn.commit()
        return [i["name"] for i in sa.inspect(conn).get_indexes("t_isl_data")]

    async with engine.connect() as conn:
        assert "ix_example" in await conn.run_sync(run)


async def test_migrating_a_newer_schema_leaves_it_alone(engine: AsyncEngine) -> None:
    """The embedded database is migrated at every start: a newer release's schema is kept."""
    await _pretend_a_newer_release(engine, min_code="0006")
    await schema.migrate(engine)  # no "Can't locate revision" from Alembic
    found = await schema.check(engine)
    assert found.current == "0999" and found.newer
    await _pretend_a_newer_release(engine, min_code="0999")
    await schema.migrate(engine)
    with pytest.raises(schema.SchemaError, match="upgrade openisales"):
        await schema.check(engine)


async def test_the_claim_function_s_new_column_comes_last_and_goes_on_downgrade(
    empty_url: str,
) -> None:
    """0012 is an expand migration: 0011's code reads ``isl_claim`` by position (first columns)."""
    if empty_url.startswith("sqlite"):
        pytest.skip("the claim function is PostgreSQL's")
    engine = create_engine(empty_url)
    columns = sa.text(
        "SELECT unnest(proargnames) FROM pg_proc WHERE proname = 'isl_claim'"
        " OFFSET 11"  # the arguments' names come first
    )

    def downgrade(conn: sa.Connection, revision: str) -> None:
        command.downgrade(schema.alembic_config(conn), revision)
        conn.commit()

    try:
        await schema.migrate(engine, "0011")
        async with engine.connect() as conn:
            before = list((await conn.execute(columns)).scalars())
        await schema.migrate(engine)
        async with engine.connect() as conn:
            after = list((await conn.execute(columns)).scalars())
            await conn.run_sync(downgrade, "0011")
            again = list((await conn.execute(columns)).scalars())
            left = await conn.execute(
                sa.text(
                    "SELECT to_regclass('t_isl_calling') IS NULL,"
                    " (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 't_isl_%_calling_%'),"
                    " to_regprocedure('isl_calling_changed()') IS NULL"
                    " AND to_regprocedure('isl_calling_campaign_gone()') IS NULL"
                )
            )
            assert left.one() == (True, 0, True)  # 0013's table, triggers and function are gone
        assert after == [*before, "listed"]
        assert before[-2:] == ["claim_state", "claim_limit"]
        assert again == before
        await schema.migrate(engine)  # and up again
        async with engine.connect() as conn:
            assert list((await conn.execute(columns)).scalars()) == after
    finally:
        await engine.dispose()


async def test_the_count_of_calls_in_progress_starts_from_the_records(empty_url: str) -> None:
    """0013 fills ``t_isl_calling`` from the records being called; a TRUNCATE empties it."""
    if empty_url.startswith("sqlite"):
        pytest.skip("the claim function is PostgreSQL's")
    engine = create_engine(empty_url)
    records = sa.text(
        "INSERT INTO t_isl_data (vdn_id, data_id, campaign_id, called_nos, next_index,"
        " attempt_index, status, attempt_no, created_at, updated_at)"
        " SELECT 1 + g % 2, g, 7 + g % 3, '[]', 0, 0, g % 4, 0, now(), now()"
        " FROM generate_series(1, 40) g"
    )
    kept = sa.text(
        "SELECT vdn_id, campaign_id, sum(delta) FROM t_isl_calling"
        " GROUP BY 1, 2 HAVING sum(delta) <> 0 ORDER BY 1, 2"
    )
    counted = sa.text(
        "SELECT vdn_id, campaign_id, count(*) FROM t_isl_data WHERE status = 1"
        " GROUP BY 1, 2 ORDER BY 1, 2"
    )
    try:
        await schema.migrate(engine, "0012")
        async with engine.begin() as conn:
            await conn.execute(records)
        await schema.migrate(engine)
        async with engine.begin() as conn:
            expected = (await conn.execute(counted)).all()
            assert (await conn.execute(kept)).all() == expected
            assert len(expected) == 3 and sum(n for *_, n in expected) == 10
            await conn.execute(sa.text("TRUNCATE t_isl_data"))
            assert (await conn.execute(sa.text("SELECT count(*) FROM t_isl_calling"))).scalar() == 0
    finally:
        await engine.dispose()
