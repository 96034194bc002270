"""SQL for the blocklist (``t_isl_blocklist``) and the attempts that count against it."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.blocklist import BLOCKED, Entry
from openisales.store.tables import blocklist, data_result, vdn

_CHUNK = 500  # numbers per IN list


def _entry(row: Any) -> Entry:
    return Entry(
        row.number,
        row.expires_at,
        row.restrict_times,
        row.restrict_period,
        row.rel_category_id,
        row.type_id,
    )


async def get_many(conn: AsyncConnection, vdn_id: int, numbers: Collection[str]) -> list[Entry]:
    """The stored entries (active or not) of ``numbers``, in number order."""
    found: list[Entry] = []
    ordered = sorted(set(numbers))
    for i in range(0, len(ordered), _CHUNK):
        stmt = (
            sa.select(blocklist)
            .where(blocklist.c.vdn_id == vdn_id, blocklist.c.number.in_(ordered[i : i + _CHUNK]))
            .order_by(blocklist.c.number)
        )
        found += [_entry(row) for row in await conn.execute(stmt)]
    return found


async def replace(
    conn: AsyncConnection, vdn_id: int, entries: Collection[Entry], now: datetime
) -> None:
    """Store ``entries``, overwriting any stored entry of the same number."""
    numbers = [e.number for e in entries]
    await conn.execute(
        sa.delete(blocklist).where(blocklist.c.vdn_id == vdn_id, blocklist.c.number.in_(numbers))
    )
    await conn.execute(
        sa.insert(blocklist),
        [
            {
                "vdn_id": vdn_id,
                "number": e.number,
                "expires_at": e.expires_at,
                "restrict_times": e.restrict_times,
                "restrict_period": e.restrict_period,
                "rel_category_id": e.rel_category_id,
                "type_id": e.type_id,
                "created_at": now,
                "updated_at": now,
            }
            for e in entries
        ],
    )


async def count(conn: AsyncConnection, vdn_id: int) -> int:
    stmt = sa.select(sa.func.count()).where(blocklist.c.vdn_id == vdn_id)
    return int((await conn.execute(stmt)).scalar_one())


async def page(conn: AsyncConnection, vdn_id: int, limit: int, offset: int) -> list[Entry]:
    stmt = (
        sa.select(blocklist)
        .where(blocklist.c.vdn_id == vdn_id)
        .order_by(blocklist.c.number)
        .limit(limit)
        .offset(offset)
    )
    return [_entry(row) for row in await conn.execute(stmt)]


async def delete(conn: AsyncConnection, vdn_id: int, number: str) -> bool:
    result = await conn.execute(
        sa.delete(blocklist).where(blocklist.c.vdn_id == vdn_id, blocklist.c.number == number)
    )
    return bool(result.rowcount)


async def attempts_since(
    conn: AsyncConnection, vdn_id: int, numbers: Collection[str], since: datetime
) -> dict[str, int]:
    """Calls placed to each of ``numbers`` in the VDN from ``since`` on (absent = 0).

    Attempts refused as blocked (failCode ``BLOCKED``) placed no call and do not count.
    """
    stmt = (
        sa.select(data_result.c.called, sa.func.count())
        .where(
            data_result.c.vdn_id == vdn_id,
            data_result.c.kind == "attempt",
            data_result.c.fail_code != BLOCKED,
            data_result.c.called.in_(sorted(set(numbers))),
            data_result.c.created_at >= since,
        )
        .group_by(data_result.c.called)
    )
    return {row[0]: int(row[1]) for row in await conn.execute(stmt)}


async def time_zone(conn: AsyncConnection, vdn_id: int) -> str | None:
    stmt = sa.select(vdn.c.time_zone).where(vdn.c.vdn_id == vdn_id)
    return (await conn.execute(stmt)).scalar()


async def numbers(conn: AsyncConnection, vdn_id: int) -> list[str]:
    """Every listed number of the VDN (expired entries included)."""
    rows = await conn.execute(sa.select(blocklist.c.number).where(blocklist.c.vdn_id == vdn_id))
    return [r.number for r in rows]
