"""SQL for the audit log (``t_isl_audit``): appended in the transaction of the change it records."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.store.tables import audit as t


@dataclass(frozen=True)
class Entry:
    vdn_id: int | None
    at: datetime
    actor: str
    action: str
    target: str
    before: str | None  # JSON
    after: str | None  # JSON
    request_id: str | None = None
    audit_id: int | None = None  # set when read back


async def append(conn: AsyncConnection, entry: Entry) -> None:
    await conn.execute(
        sa.insert(t).values(
            vdn_id=entry.vdn_id,
            at=entry.at,
            actor=entry.actor[:80],
            action=entry.action[:64],
            target=entry.target[:200],
            before=entry.before,
            after=entry.after,
            request_id=entry.request_id,
        )
    )


@dataclass(frozen=True)
class Filter:
    vdns: Collection[int] | None = None  # None: every VDN and the entries of none
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # keyset paging: entries older than this id


async def search(conn: AsyncConnection, where: Filter, limit: int) -> list[Entry]:
    """Newest first; at most ``limit`` entries."""
    query = sa.select(t)
    if where.vdns is not None:
        query = query.where(t.c.vdn_id.in_(list(where.vdns)))
    if where.actor:
        query = query.where(t.c.actor == where.actor)
    if where.action:
        query = query.where(t.c.action == where.action)
    if where.since is not None:
        query = query.where(t.c.at >= where.since)
    if where.until is not None:
        query = query.where(t.c.at < where.until)
    if where.before_id is not None:
        query = query.where(t.c.audit_id < where.before_id)
    rows = await conn.execute(query.order_by(t.c.audit_id.desc()).limit(limit))
    return [
        Entry(
            r.vdn_id,
            r.at,
            r.actor,
            r.action,
            r.target,
            r.before,
            r.after,
            r.request_id,
            r.audit_id,
        )
        for r in rows
    ]
