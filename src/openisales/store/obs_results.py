"""SQL for display results and their failCode maps."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.obs_result import ObsMap, ObsResult
from openisales.store.tables import obs_result as t, obs_result_map as m


async def insert(conn: AsyncConnection, vdn_id: int, result: ObsResult, now: datetime) -> None:
    await conn.execute(
        sa.insert(t).values(
            vdn_id=vdn_id,
            def_id=result.def_id,
            result_code=result.result_code,
            display_result=result.display_result,
            created_at=now,
        )
    )
    await conn.execute(
        sa.insert(m),
        [
            {
                "vdn_id": vdn_id,
                "map_id": x.map_id,
                "def_id": result.def_id,
                "fail_code": x.fail_code,
            }
            for x in result.maps
        ],
    )


async def code_exists(conn: AsyncConnection, vdn_id: int, result_code: str) -> bool:
    stmt = sa.select(t.c.def_id).where(t.c.vdn_id == vdn_id, t.c.result_code == result_code)
    return (await conn.execute(stmt)).first() is not None


async def mapping(
    conn: AsyncConnection, vdn_id: int, fail_codes: Collection[str] | None = None
) -> dict[str, str]:
    """failCode → display resultCode in the VDN, limited to ``fail_codes`` when given."""
    stmt = (
        sa.select(m.c.fail_code, t.c.result_code)
        .join(t, sa.and_(t.c.vdn_id == m.c.vdn_id, t.c.def_id == m.c.def_id))
        .where(m.c.vdn_id == vdn_id)
    )
    if fail_codes is not None:
        if not fail_codes:
            return {}
        stmt = stmt.where(m.c.fail_code.in_(list(fail_codes)))
    return {r.fail_code: r.result_code for r in await conn.execute(stmt)}


async def count(conn: AsyncConnection, vdn_id: int) -> int:
    stmt = sa.select(sa.func.count()).select_from(t).where(t.c.vdn_id == vdn_id)
    return int((await conn.execute(stmt)).scalar_one())


async def page(conn: AsyncConnection, vdn_id: int, limit: int, offset: int) -> list[ObsResult]:
    """Display results in creation order, each with its maps in creation order."""
    return await _with_maps(
        conn,
        vdn_id,
        sa.select(t.c.def_id, t.c.result_code, t.c.display_result)
        .where(t.c.vdn_id == vdn_id)
        .order_by(t.c.def_id)
        .limit(limit)
        .offset(offset),
    )


async def get(conn: AsyncConnection, vdn_id: int, def_id: int) -> ObsResult | None:
    """The VDN's display result ``def_id`` with its maps; None when it has none."""
    found = await _with_maps(
        conn,
        vdn_id,
        sa.select(t.c.def_id, t.c.result_code, t.c.display_result).where(
            t.c.vdn_id == vdn_id, t.c.def_id == def_id
        ),
    )
    return found[0] if found else None


async def _with_maps(
    conn: AsyncConnection, vdn_id: int, query: sa.Select[tuple[int, str, str]]
) -> list[ObsResult]:
    defs = (await conn.execute(query)).all()
    if not defs:
        return []
    maps: dict[int, list[ObsMap]] = {d.def_id: [] for d in defs}
    for r in await conn.execute(
        sa.select(m.c.def_id, m.c.map_id, m.c.fail_code)
        .where(m.c.vdn_id == vdn_id, m.c.def_id.in_(list(maps)))
        .order_by(m.c.map_id)
    ):
        maps[r.def_id].append(ObsMap(r.map_id, r.fail_code))
    return [
        ObsResult(d.def_id, d.result_code, d.display_result, tuple(maps[d.def_id])) for d in defs
    ]


async def delete(conn: AsyncConnection, vdn_id: int, def_id: int) -> bool:
    """Remove a display result and its maps; False when the VDN has no such result."""
    gone = await conn.execute(sa.delete(t).where(t.c.vdn_id == vdn_id, t.c.def_id == def_id))
    if gone.rowcount == 0:
        return False
    await conn.execute(sa.delete(m).where(m.c.vdn_id == vdn_id, m.c.def_id == def_id))
    return True
