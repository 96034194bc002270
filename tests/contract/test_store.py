"""Store contracts, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.auth.replay import MemoryReplayGuard
from openisales.errors import StorageError
from openisales.store import schema
from openisales.store.engine import create_engine
from openisales.store.ids import IdAllocator, compose
from openisales.store.nonces import SqlReplayGuard
from openisales.store.sql import reading, transaction
from openisales.store.tables import auth_nonce

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


async def test_migrations_produce_exactly_the_declared_schema(engine: AsyncEngine) -> None:
    assert await schema.current_revision(engine) == schema.head_revision()
    assert await schema.diff(engine) == []


async def test_migrating_twice_is_harmless(engine: AsyncEngine) -> None:
    await schema.migrate(engine)
    assert await schema.diff(engine) == []


async def test_ids_are_unique_across_allocators_and_vdns(engine: AsyncEngine) -> None:
    first, second = IdAllocator(engine, block=5), IdAllocator(engine, block=7)
    taken = await asyncio.gather(
        *[first.take(1, "data", 3) for _ in range(5)],
        *[second.take(1, "data", 4) for _ in range(5)],
    )
    values = [v for batch in taken for v in batch]
    assert len(values) == len(set(values)) == 35
    assert await first.take(2, "data") == [1]
    assert compose(2, 1) != compose(1, 1)


async def test_single_ids_taken_while_a_block_is_reserved_stay_unique(engine: AsyncEngine) -> None:
    """Single takes from the block in hand skip the lock; those that find it spent wait."""
    first, second = IdAllocator(engine, block=7), IdAllocator(engine, block=5)
    taken = await asyncio.gather(
        *[(first if i % 3 else second).take(1, "result") for i in range(60)],
        *[first.take(1, "result", 4) for _ in range(3)],
    )
    values = [v for batch in taken for v in batch]
    assert len(values) == len(set(values)) == 72
    assert min(values) == 1


async def test_sql_replay_guard_is_shared_and_expires(engine: AsyncEngine) -> None:
    one, two = SqlReplayGuard(engine), SqlReplayGuard(engine)
    later = NOW + timedelta(minutes=15)
    assert await one.first_use(1, "k", later, NOW)
    assert not await two.first_use(1, "k", later, NOW)
    assert await two.first_use(2, "k", later, NOW)  # per VDN
    assert await one.first_use(1, "k", later + timedelta(minutes=20), later + timedelta(seconds=1))


async def test_sql_replay_guard_prunes_expired_nonces_now_and_then(engine: AsyncEngine) -> None:
    guard = SqlReplayGuard(engine, prune_every=3)
    later = NOW + timedelta(minutes=15)
    assert await guard.first_use(1, "old", NOW - timedelta(seconds=1), NOW - timedelta(minutes=15))
    assert await guard.first_use(1, "a", later, NOW)
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(auth_nonce)) == 2
    assert await guard.first_use(1, "b", later, NOW)  # the third use prunes first
    async with engine.connect() as conn:
        left = set(await conn.scalars(sa.select(auth_nonce.c.digest)))
    assert left == {"a", "b"}


def test_the_embedded_database_has_one_connection(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", pool_size=20)
    assert engine.pool.size() == 1  # type: ignore[attr-defined]
    assert engine.pool._max_overflow == 0  # type: ignore[attr-defined]


async def test_memory_replay_guard_matches_the_sql_one() -> None:
    guard = MemoryReplayGuard()
    later = NOW + timedelta(minutes=15)
    assert await guard.first_use(1, "k", later, NOW)
    assert not await guard.first_use(1, "k", later, NOW + timedelta(minutes=1))
    assert await guard.first_use(2, "k", later, NOW)
    assert await guard.first_use(
        1, "k", later + timedelta(minutes=20), later + timedelta(seconds=1)
    )


def _postgres_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's pool and driver")


async def test_a_full_pool_makes_callers_wait_then_fail_with_the_failure_code(
    database_url: str, engine: AsyncEngine
) -> None:
    _postgres_only(engine)
    fixed = create_engine(database_url, pool_size=1, pool_timeout=0.2)
    try:
        async with fixed.connect():
            with pytest.raises(StorageError) as raised:
                async with reading(fixed, failure_code="0200999"):
                    pass  # pragma: no cover - the pool has no connection to give
            assert raised.value.result_code == "0200999"
            with pytest.raises(StorageError):
                async with transaction(fixed):
                    pass  # pragma: no cover
        # Returned, the one connection serves the next caller: nothing was opened or lost.
        async with reading(fixed) as conn:
            assert (await conn.exec_driver_sql("SELECT 1")).scalar() == 1
        assert fixed.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert fixed.pool.checkedin() == 1  # type: ignore[attr-defined]
    finally:
        await fixed.dispose()


async def test_errors_of_asyncpg_used_directly_become_storage_errors(engine: AsyncEngine) -> None:
    _postgres_only(engine)
    with pytest.raises(StorageError) as raised:
        async with reading(engine, failure_code="0200999") as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.fetchval("SELECT 1 / 0")
    assert raised.value.result_code == "0200999"
