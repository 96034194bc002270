"""The Citus tier: openisales on a real Citus cluster (coordinator + workers; decision 9).

It runs when ``OPENISALES_TEST_CITUS_URL`` names a database on a Citus
coordinator whose workers are registered (``.ci/run`` builds Citus and starts
the local cluster of ``shared/citus/cluster.sh`` when it can, and sets it);
otherwise every test here is skipped with the reason. A coordinator that is
down is started with ``cluster.sh up`` when the script is found. Each test
module gets a fresh database on every node of the cluster, dropped after it.

``database_url`` overrides the suite's fixture: a test here that uses the
suite's fixtures (``api``, ``engine``, ``settings``; the dialing ``rig``) runs
on the module's database, migrated by the real ``openisales migrate`` and
emptied before each test. Modules here import tests of the other tiers to run
them on the cluster as they are.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa

from openisales.store.tables import metadata, schema_state
from tests.conftest import MASTER_KEY

CITUS_URL = os.environ.get("OPENISALES_TEST_CITUS_URL", "")
ROOT = Path(__file__).resolve().parents[2]


def cluster_script() -> Path | None:
    """``shared/citus/cluster.sh`` beside the checkout, or in /work/shared (None: absent)."""
    for base in (ROOT.parent / "shared", Path("/work/shared")):
        script = base / "citus" / "cluster.sh"
        if script.is_file():
            return script
    return None


def _dsn(url: str, database: str | None = None) -> str:
    parsed = sa.make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _fetch(dsn: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def _run(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def fetch(dsn: str, query: str) -> list[asyncpg.Record]:
    return asyncio.run(_fetch(dsn, query))


def _reachable(url: str) -> str | None:
    """None when the coordinator answers with Citus and workers; else why not."""
    try:
        available = fetch(_dsn(url), "SELECT 1 FROM pg_available_extensions WHERE name = 'citus'")
        if not available:
            return "the citus extension is not installed (run shared/citus/build.sh)"
        workers = fetch(
            _dsn(url), "SELECT count(*) AS n FROM pg_dist_node WHERE groupid <> 0 AND isactive"
        )
    except (OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if not workers[0]["n"]:
        return "the coordinator has no active worker"
    return None


@pytest.fixture(scope="session")
def citus_cluster() -> str:
    """The coordinator URL of ``OPENISALES_TEST_CITUS_URL``, started when it is down."""
    if not CITUS_URL:
        pytest.skip("OPENISALES_TEST_CITUS_URL is not set (.ci/run sets it when Citus is built)")
    problem = _reachable(CITUS_URL)
    script = cluster_script()
    if problem is not None and script is not None:
        database = sa.make_url(CITUS_URL).database or "isales"
        started = subprocess.run(
            [str(script), "up", database], capture_output=True, text=True, check=False
        )
        problem = _reachable(CITUS_URL) if started.returncode == 0 else started.stderr.strip()
    if problem is not None:
        pytest.skip(f"no Citus cluster at {CITUS_URL}: {problem}")
    return CITUS_URL


def new_database(coordinator: str) -> str:
    """A fresh database with the extension on every node, its workers registered; its URL."""
    name = f"openisales_citus_{uuid.uuid4().hex[:10]}"
    nodes = fetch(
        _dsn(coordinator),
        "SELECT nodename, nodeport, groupid FROM pg_dist_node WHERE isactive ORDER BY groupid",
    )
    base = sa.make_url(coordinator)

    def node_dsn(row: asyncpg.Record, database: str) -> str:
        url = base.set(drivername="postgresql", host=row["nodename"], port=row["nodeport"])
        return url.set(database=database).render_as_string(hide_password=False)

    async def create() -> None:
        for row in nodes:
            await _run(
                node_dsn(row, base.database or "postgres"),
                f'CREATE DATABASE "{name}"',
                # fewer shards than the default 32: the same plans, a quicker migrate
                f'ALTER DATABASE "{name}" SET citus.shard_count = 4',
            )
            await _run(node_dsn(row, name), "CREATE EXTENSION citus")
        coordinator_row = next(r for r in nodes if r["groupid"] == 0)
        await _run(
            node_dsn(coordinator_row, name),
            "SET client_min_messages = warning",
            f"SELECT citus_set_coordinator_host('{coordinator_row['nodename']}', "
            f"{coordinator_row['nodeport']})",
            *(
                f"SELECT citus_add_node('{r['nodename']}', {r['nodeport']})"
                for r in nodes
                if r["groupid"] != 0
            ),
        )

    asyncio.run(create())
    return base.set(drivername="postgresql", database=name).render_as_string(hide_password=False)


def drop_database(coordinator: str, url: str) -> None:
    name = sa.make_url(url).database
    nodes = fetch(_dsn(coordinator), "SELECT nodename, nodeport FROM pg_dist_node WHERE isactive")
    base = sa.make_url(coordinator).set(drivername="postgresql")

    async def drop() -> None:
        for row in nodes:
            dsn = base.set(host=row["nodename"], port=row["nodeport"]).render_as_string(
                hide_password=False
            )
            await _run(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    asyncio.run(drop())


@pytest.fixture(scope="module")
def citus_database(citus_cluster: str) -> Iterator[str]:
    """A fresh, unmigrated database on the cluster for this module (``postgresql://`` URL)."""
    url = new_database(citus_cluster)
    yield url
    drop_database(citus_cluster, url)


@pytest.fixture
def fresh_citus_database(citus_cluster: str) -> Iterator[str]:
    """A fresh, unmigrated database on the cluster for one test."""
    url = new_database(citus_cluster)
    yield url
    drop_database(citus_cluster, url)


def openisales(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line on ``url`` (a process of its own); fails the test when it fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENISALES_")}
    env |= {"OPENISALES_DATABASE_URL": url, "OPENISALES_MASTER_KEY": MASTER_KEY}
    done = subprocess.run(
        [sys.executable, "-m", "openisales", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def migrated(citus_database: str) -> Iterator[str]:
    """The module's database after the real `openisales migrate`."""
    openisales(citus_database, "migrate")
    yield citus_database


@pytest.fixture
async def database_url(migrated: str) -> AsyncIterator[str]:
    """Overrides the suite's fixture: the module's Citus database, emptied for each test."""
    names = ", ".join(n for n in sorted(metadata.tables) if n != schema_state.name)
    await _run(migrated, f"TRUNCATE {names}")
    yield migrated.replace("postgresql://", "postgresql+asyncpg://", 1)
