"""Add and query business-result definitions (``addBusinessResult``, ``queryBusinessResults``).

An add appends an audit entry (``services.audit``, ``busi_result.add``) in its transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.domain.business_result import NewDefinition, ResultDef
from openisales.errors import Conflict
from openisales.services import audit
from openisales.services.audit import Actor
from openisales.store import busi_results
from openisales.store.ids import IdAllocator, compose
from openisales.store.sql import DuplicateError, reading, transaction

GENERATED_CODE_BASE = 1_000_000_000


async def add(
    engine: AsyncEngine,
    ids: IdAllocator,
    *,
    vdn_id: int,
    definition: NewDefinition,
    now: datetime,
    actor: Actor,
) -> ResultDef:
    """Store a parent result with its children.

    Codes left empty are generated (ten digits, unique in the VDN). Raises
    :class:`Conflict` (``0200001``) when the parent code already exists in the
    VDN; :class:`StorageError` (``0200006``) when the database fails.
    """
    count = 1 + len(definition.children)
    numbers = await ids.take(vdn_id, "busi_result", count)
    parent_id = compose(vdn_id, numbers[0])
    parent = ResultDef(
        parent_id,
        0,
        definition.parent.code or str(GENERATED_CODE_BASE + numbers[0]),
        definition.parent.name,
        definition.parent.description,
    )
    rows = [parent] + [
        ResultDef(
            compose(vdn_id, n),
            parent_id,
            child.code or str(GENERATED_CODE_BASE + n),
            child.name,
            child.description,
        )
        for n, child in zip(numbers[1:], definition.children, strict=True)
    ]
    try:
        async with transaction(engine) as conn:
            await busi_results.insert(conn, vdn_id, rows, now)
            await audit.record(
                conn,
                actor,
                "busi_result.add",
                vdn_id=vdn_id,
                target=f"business result {parent.code}",
                now=now,
                after=_wire(parent) | {"children": [_wire(child) for child in rows[1:]]},
            )
    except DuplicateError as exc:
        raise Conflict(f"code: business result {parent.code!r} already exists") from exc
    return parent


def _wire(item: ResultDef) -> dict[str, Any]:
    return {"code": item.code, "name": item.name, "description": item.description}


async def query(
    engine: AsyncEngine, *, vdn_id: int, page_size: int, page_num: int
) -> tuple[int, list[dict[str, Any]]]:
    """``(totalCount, data)`` for one page of top-level results with their children."""
    async with reading(engine) as conn:
        total = await busi_results.count_parents(conn, vdn_id)
        items = await busi_results.page(conn, vdn_id, page_size, (page_num - 1) * page_size)
    data = [
        {
            "name": p.name,
            "code": p.code,
            "description": p.description,
            "defLevel": "1",
            "children": [
                {"name": c.name, "code": c.code, "description": c.description, "defLevel": "2"}
                for c in children
            ],
        }
        for p, children in items
    ]
    return total, data
