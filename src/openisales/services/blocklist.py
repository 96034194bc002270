"""The VDN's blocklist (spec 2.10): add, query, delete, and which numbers are blocked now.

:func:`blocked` is the one rule the rest of the service asks: adding call data
refuses blocked numbers (``0200024``) and the dispatcher does not call them
(failCode :data:`~openisales.domain.blocklist.BLOCKED`).

Adds and deletes append an audit entry (``services.audit``, ``blocklist.add``
and ``blocklist.delete``) in their own transaction; one entry per request.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.domain.blocklist import (
    ALREADY_LISTED,
    AddPlan,
    Entry,
    QueryPlan,
    is_active,
    is_blocked,
    period_start,
    refuse_listed,
    to_wire,
)
from openisales.errors import Conflict
from openisales.services import audit
from openisales.services.audit import Actor
from openisales.store import blocklist as store
from openisales.store.sql import DuplicateError, reading, transaction

NOT_LISTED = "0200001"  # Huawei documents no code for deleting an unlisted number (ours)


def _target(numbers: list[str]) -> str:
    """``number N``, ``numbers N, M, P``, or ``numbers N, M, P and K more``."""
    if len(numbers) == 1:
        return f"number {numbers[0]}"
    more = f" and {len(numbers) - 3} more" if len(numbers) > 3 else ""
    return "numbers " + ", ".join(numbers[:3]) + more


def _snapshot(entries: Collection[Entry], now: datetime) -> list[dict[str, Any]]:
    return [to_wire(e, now) for e in entries]


async def _add_once(
    engine: AsyncEngine, vdn_id: int, plan: AddPlan, now: datetime, actor: Actor
) -> None:
    numbers = [e.number for e in plan.entries]
    async with transaction(engine) as conn:
        stored = await store.get_many(conn, vdn_id, numbers)
        if not plan.cover:
            refuse_listed(numbers, {e.number for e in stored if is_active(e, now)})
        await store.replace(conn, vdn_id, plan.entries, now)
        await audit.record(
            conn,
            actor,
            "blocklist.add",
            vdn_id=vdn_id,
            target=_target(numbers),
            now=now,
            before=_snapshot(stored, now) or None,
            after=_snapshot(plan.entries, now),
        )


async def add(
    engine: AsyncEngine, *, vdn_id: int, plan: AddPlan, now: datetime, actor: Actor
) -> None:
    """List the plan's numbers, all or nothing.

    An actively listed number is refused with ``0200007`` unless ``plan.cover``,
    which overwrites its entry; an expired entry is always overwritten.
    """
    try:
        await _add_once(engine, vdn_id, plan, now, actor)
    except DuplicateError as exc:  # a concurrent add listed one of the numbers first
        if plan.cover:
            await _add_once(engine, vdn_id, plan, now, actor)
            return
        async with reading(engine) as conn:
            numbers = [e.number for e in plan.entries]
            stored = await store.get_many(conn, vdn_id, numbers)
            refuse_listed(numbers, {e.number for e in stored if is_active(e, now)})
        raise Conflict(
            "blocklist: a concurrent request listed the same numbers", result_code=ALREADY_LISTED
        ) from exc


async def query(
    engine: AsyncEngine, *, vdn_id: int, plan: QueryPlan, now: datetime
) -> tuple[int, list[dict[str, Any]]]:
    """``(totalCount, data)``: the listed ones of ``plan.numbers``, or one page of all."""
    async with reading(engine) as conn:
        if plan.numbers is not None:
            entries = await store.get_many(conn, vdn_id, plan.numbers)
            total = len(entries)
        else:
            total = await store.count(conn, vdn_id)
            entries = await store.page(conn, vdn_id, plan.limit, plan.offset)
    return total, [to_wire(e, now) for e in entries]


async def delete(
    engine: AsyncEngine, *, vdn_id: int, number: str, now: datetime, actor: Actor
) -> None:
    """Remove ``number`` (expired or not); ``0200001`` when it is not listed."""
    async with transaction(engine) as conn:
        stored = await store.get_many(conn, vdn_id, [number])
        if not await store.delete(conn, vdn_id, number):
            raise Conflict(
                f"blocklistNo: number {number} is not in the blocklist", result_code=NOT_LISTED
            )
        await audit.record(
            conn,
            actor,
            "blocklist.delete",
            vdn_id=vdn_id,
            target=_target([number]),
            now=now,
            before=_snapshot(stored, now),
        )


async def blocked(
    conn: AsyncConnection, vdn_id: int, numbers: Collection[str], now: datetime
) -> set[str]:
    """The ones of ``numbers`` that may not be called at ``now`` (``domain.blocklist``)."""
    entries = [e for e in await store.get_many(conn, vdn_id, numbers) if is_active(e, now)]
    out = {e.number for e in entries if not e.restricted}
    restricted = [e for e in entries if e.restricted]
    if not restricted:
        return out
    tz = ZoneInfo(await store.time_zone(conn, vdn_id) or "UTC")
    for period in sorted({e.restrict_period or "" for e in restricted}):
        group = [e for e in restricted if (e.restrict_period or "") == period]
        since = period_start(period, now, tz)
        counts = await store.attempts_since(conn, vdn_id, [e.number for e in group], since)
        out |= {e.number for e in group if is_blocked(e, counts.get(e.number, 0), now)}
    return out


async def blocked_numbers(
    engine: AsyncEngine, vdn_id: int, numbers: Collection[str], now: datetime
) -> set[str]:
    """:func:`blocked` on a connection of its own (for the dispatcher)."""
    if not numbers:
        return set()
    async with reading(engine) as conn:
        return await blocked(conn, vdn_id, numbers, now)
