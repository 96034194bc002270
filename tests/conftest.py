"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and a signed API."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings as hsettings
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.api.app import build_context, create_app
from openisales.api.context import AppContext
from openisales.auth.vault import Vault, new_master_key
from openisales.client import AsyncClient
from openisales.config import Settings
from openisales.services import admin
from openisales.services.audit import CLI
from openisales.store import schema
from openisales.store.engine import create_engine

hsettings.register_profile(
    "ci", derandomize=True, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)
hsettings.register_profile("dev", max_examples=50)
hsettings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

PG_URL = os.environ.get("OPENISALES_TEST_PG_URL", "")
ENGINES = ["sqlite"] + (["postgres"] if PG_URL else [])
MASTER_KEY = new_master_key()
BASE_URL = "https://testserver:8443"


def _pg_admin_url() -> str:
    url = sa.engine.make_url(PG_URL)
    return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


_template_ready = False


async def _pg_database() -> str:
    """A fresh database cloned from a migrated template (created once per run)."""
    global _template_ready
    admin_engine = create_engine(_pg_admin_url())
    template = f"openisales_tmpl_{os.getpid()}"
    name = f"openisales_t_{uuid.uuid4().hex[:12]}"
    try:
        async with admin_engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if not _template_ready:
                await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{template}"'))
                await conn.execute(sa.text(f'CREATE DATABASE "{template}"'))
                url = sa.engine.make_url(_pg_admin_url()).set(database=template)
                tmpl_engine = create_engine(url.render_as_string(hide_password=False))
                await schema.migrate(tmpl_engine)
                await tmpl_engine.dispose()
                _template_ready = True
            await conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    finally:
        await admin_engine.dispose()
    url = sa.engine.make_url(_pg_admin_url()).set(database=name)
    return url.render_as_string(hide_password=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop this run's template database (each run makes its own)."""
    if _template_ready:
        template = sa.engine.make_url(_pg_admin_url()).set(
            database=f"openisales_tmpl_{os.getpid()}"
        )
        asyncio.run(_drop_pg_database(template.render_as_string(hide_password=False)))


async def _drop_pg_database(url: str) -> None:
    name = sa.engine.make_url(url).database
    admin_engine = create_engine(_pg_admin_url())
    try:
        async with admin_engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin_engine.dispose()


@pytest.fixture(params=ENGINES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database on each configured engine."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        engine = create_engine(url)
        await schema.migrate(engine)
        await engine.dispose()
        yield url
    else:
        url = await _pg_database()
        yield url
        await _drop_pg_database(url)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        master_key=MASTER_KEY,
        credential_cache_s=0.0,
        # One pooled connection: a code path that holds a connection while it
        # waits for a second one would deadlock a busy server's fixed pool; here
        # it times out and fails its test (PostgreSQL; SQLite pools its own way).
        db_pool_size=1,
        db_pool_timeout_s=5.0,
        # Tests add call data to a campaign many times a second; the add interval's
        # own tests (tests/api/test_calldata_interval.py) set it on a fixed clock.
        calldata_min_interval_s=0.0,
    )


@dataclass
class Tenant:
    vdn_id: int
    ak: str
    sk: str


@dataclass
class Api:
    """A running app (in process) with two VDNs, each with its own key."""

    ctx: AppContext
    app: object
    tenants: dict[int, Tenant]

    def client(
        self, vdn_id: int = 1, *, profile: str = "hex", ak: str | None = None, sk: str | None = None
    ) -> AsyncClient:
        tenant = self.tenants[1] if vdn_id not in self.tenants else self.tenants[vdn_id]
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE_URL)
        return AsyncClient(
            BASE_URL,
            ak or tenant.ak,
            sk or tenant.sk,
            vdn_id=vdn_id,
            profile=profile,  # type: ignore[arg-type]
            http=http,
        )


async def add_tenants(ctx: AppContext, now: datetime) -> dict[int, Tenant]:
    """VDNs 1 and 2 (Asia/Shanghai), each with an API key of its own."""
    vault = Vault(MASTER_KEY)
    tenants = {}
    for vdn_id in (1, 2):
        await admin.add_vdn(
            ctx.engine,
            vdn_id=vdn_id,
            name=f"vdn{vdn_id}",
            time_zone="Asia/Shanghai",
            now=now,
            actor=CLI,
        )
        ak, sk = await admin.create_key(ctx.engine, vault, vdn_ids=[vdn_id], now=now, actor=CLI)
        tenants[vdn_id] = Tenant(vdn_id, ak, sk)
    return tenants


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    ctx = build_context(settings)
    tenants = await add_tenants(ctx, datetime.now(UTC))
    app = create_app(settings, context=ctx)
    yield Api(ctx, app, tenants)
    await ctx.close()


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    yield "asyncio"
