"""Store contracts, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.replay import MemoryReplayGuard, SqlReplayGuard
from openisales.store import schema
from openisales.store.ids import IdAllocator, compose

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


async def test_sql_replay_guard_is_shared_and_expires(engine: AsyncEngine) -> None:
    one, two = SqlReplayGuard(engine), SqlReplayGuard(engine)
    later = NOW + timedelta(minutes=15)
    assert await one.first_use(1, "k", later, NOW)
    assert not await two.first_use(1, "k", later, NOW)
    assert await two.first_use(2, "k", later, NOW)  # per VDN
    assert await one.first_use(1, "k", later + timedelta(minutes=20), later + timedelta(seconds=1))


async def test_memory_replay_guard_matches_the_sql_one() -> None:
    guard = MemoryReplayGuard()
    later = NOW + timedelta(minutes=15)
    assert await guard.first_use(1, "k", later, NOW)
    assert not await guard.first_use(1, "k", later, NOW + timedelta(minutes=1))
    assert await guard.first_use(2, "k", later, NOW)
    assert await guard.first_use(
        1, "k", later + timedelta(minutes=20), later + timedelta(seconds=1)
    )
