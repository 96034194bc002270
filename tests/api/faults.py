"""A write-back the database refuses, and a spy on the look-up that must not follow it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import Api


@asynccontextmanager
async def history_table_missing(api: Api) -> AsyncIterator[None]:
    """The history table renamed away for the block: every write-back's insert is refused."""
    async with api.ctx.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE t_isl_data_result RENAME TO t_isl_data_result_x"))
    try:
        yield
    finally:
        async with api.ctx.engine.begin() as conn:
            await conn.execute(
                sa.text("ALTER TABLE t_isl_data_result_x RENAME TO t_isl_data_result")
            )


def spy_look_up(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    """Replace the look-up ``owner.name`` with one that finds nothing; returns its calls."""
    looked: list[int] = []

    async def look_up(*_: Any) -> bool:
        looked.append(1)
        return False

    monkeypatch.setattr(owner, name, look_up)
    return looked
