"""SQLite's pool rolls back a returned connection only when a transaction is still open.

The write-back's group commit runs its transaction on the driver itself; the
pool, which did not see it end, used to roll back every such connection (a
trip to aiosqlite's thread per group). A transaction left open must still be
rolled back, and its writes gone.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import aiosqlite
from sqlalchemy.ext.asyncio import AsyncEngine


@pytest.fixture
def rollbacks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each rollback the pool sends to a connection."""
    seen: list[int] = []
    real = aiosqlite.AsyncAdapt_aiosqlite_connection.rollback

    def counting(self: Any) -> None:
        seen.append(1)
        real(self)

    monkeypatch.setattr(aiosqlite.AsyncAdapt_aiosqlite_connection, "rollback", counting)
    return seen


async def _driver(engine: AsyncEngine, statements: list[str]) -> None:
    async with engine.connect() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        for statement in statements:
            await driver.execute(statement)


async def test_a_connection_whose_transaction_ended_is_not_rolled_back_again(
    engine: AsyncEngine, rollbacks: list[int]
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's pool")
    await _driver(engine, ["CREATE TABLE IF NOT EXISTS t_reset (n integer)"])
    rollbacks.clear()  # the engine's first connection is rolled back once, as it starts
    await _driver(engine, ["BEGIN IMMEDIATE", "INSERT INTO t_reset VALUES (1)", "COMMIT"])
    assert rollbacks == []
    await _driver(engine, ["BEGIN IMMEDIATE", "INSERT INTO t_reset VALUES (2)"])  # left open
    assert rollbacks == [1]
    async with engine.connect() as conn:
        assert not (await conn.get_raw_connection()).driver_connection.in_transaction
        assert list((await conn.execute(sa.text("SELECT n FROM t_reset"))).scalars()) == [1]
