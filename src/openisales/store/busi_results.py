"""SQL for business-result definitions."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.business_result import ResultDef
from openisales.store.tables import busi_result as t


async def insert(conn: AsyncConnection, vdn_id: int, rows: list[ResultDef], now: datetime) -> None:
    await conn.execute(
        sa.insert(t),
        [
            {
                "vdn_id": vdn_id,
                "def_id": r.def_id,
                "parent_def_id": r.parent_def_id,
                "def_level": r.level,
                "code": r.code,
                "name": r.name,
                "description": r.description,
                "created_at": now,
            }
            for r in rows
        ],
    )


async def count_parents(conn: AsyncConnection, vdn_id: int) -> int:
    stmt = sa.select(sa.func.count()).where(t.c.vdn_id == vdn_id, t.c.parent_def_id == 0)
    return int((await conn.execute(stmt)).scalar_one())


def _row(r: sa.Row[tuple[int, int, str, str, str]]) -> ResultDef:
    return ResultDef(r.def_id, r.parent_def_id, r.code, r.name, r.description)


_COLS = (t.c.def_id, t.c.parent_def_id, t.c.code, t.c.name, t.c.description)


async def page(
    conn: AsyncConnection, vdn_id: int, limit: int, offset: int
) -> list[tuple[ResultDef, list[ResultDef]]]:
    """Parents in creation order, each with its children."""
    parents = [
        _row(r)
        for r in await conn.execute(
            sa.select(*_COLS)
            .where(t.c.vdn_id == vdn_id, t.c.parent_def_id == 0)
            .order_by(t.c.def_id)
            .limit(limit)
            .offset(offset)
        )
    ]
    if not parents:
        return []
    children: dict[int, list[ResultDef]] = {p.def_id: [] for p in parents}
    for r in await conn.execute(
        sa.select(*_COLS)
        .where(t.c.vdn_id == vdn_id, t.c.parent_def_id.in_(list(children)))
        .order_by(t.c.def_id)
    ):
        children[r.parent_def_id].append(_row(r))
    return [(p, children[p.def_id]) for p in parents]


async def find(conn: AsyncConnection, vdn_id: int, code: str) -> tuple[ResultDef, set[str]] | None:
    """The top-level result ``code`` and the codes of its children, or None."""
    parent = (
        await conn.execute(
            sa.select(*_COLS).where(t.c.vdn_id == vdn_id, t.c.parent_def_id == 0, t.c.code == code)
        )
    ).first()
    if parent is None:
        return None
    subs = await conn.execute(
        sa.select(t.c.code).where(t.c.vdn_id == vdn_id, t.c.parent_def_id == parent.def_id)
    )
    return _row(parent), {r.code for r in subs}


async def definitions(
    conn: AsyncConnection, vdn_id: int, codes: Collection[str]
) -> dict[str, set[str]]:
    """The top-level results among ``codes``, each mapped to the codes of its children."""
    if not codes:
        return {}
    parents = {
        r.def_id: r.code
        for r in await conn.execute(
            sa.select(t.c.def_id, t.c.code).where(
                t.c.vdn_id == vdn_id, t.c.parent_def_id == 0, t.c.code.in_(list(codes))
            )
        )
    }
    out: dict[str, set[str]] = {code: set() for code in parents.values()}
    if parents:
        for r in await conn.execute(
            sa.select(t.c.parent_def_id, t.c.code).where(
                t.c.vdn_id == vdn_id, t.c.parent_def_id.in_(list(parents))
            )
        ):
            out[parents[r.parent_def_id]].add(r.code)
    return out
