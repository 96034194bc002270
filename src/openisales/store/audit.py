"""SQL for the audit log (``t_isl_audit``): appended in the transaction of the change it records.

Reading is newest first, by ``(at, audit_id)``, so that every query walks an
index backwards and stops early: ``(vdn_id, at)`` for one VDN (and for the
entries of no VDN), ``(at)`` for the whole log. Several VDNs are read as one
bounded branch per VDN, merged. Filters on columns without an index (actor,
action) are applied within a *window* of at most ``scan`` entries, so a rare
actor costs a bounded read, not the whole log; :func:`window_end` tells where
the window stopped, for the next page to go on from there.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
    # None: every entry (those of no VDN too); else these VDNs, None in it meaning "no VDN"
    vdns: Collection[int | None] | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # keyset paging: entries after this one in the order

    @property
    def narrowed(self) -> bool:
        """Whether a filter without an index applies (actor or action)."""
        return bool(self.actor) or bool(self.action)


_ALL = object()


def _branch(scope: object, where: Filter, cursor: datetime | None, n: int | None) -> sa.Select[Any]:
    """The newest ``n`` entries of one scope (a VDN, no VDN, or everything), ids and times."""
    query = sa.select(t.c.audit_id, t.c.at)
    if scope is None:
        query = query.where(t.c.vdn_id.is_(None))
    elif scope is not _ALL:
        query = query.where(t.c.vdn_id == scope)
    if where.since is not None:
        query = query.where(t.c.at >= where.since)
    if where.until is not None:
        query = query.where(t.c.at < where.until)
    if cursor is not None and where.before_id is not None:
        # (at, audit_id) < (cursor, before_id), spelt so that `at <= cursor` bounds the index
        query = query.where(
            t.c.at <= cursor, sa.or_(t.c.at < cursor, t.c.audit_id < where.before_id)
        )
    return query.order_by(t.c.at.desc(), t.c.audit_id.desc()).limit(n)


async def _window(conn: AsyncConnection, where: Filter, n: int | None) -> sa.Subquery | None:
    """The newest ``n`` (None: all) entries the scopes, the time range and the cursor
    allow, as ``(audit_id, at)``; None when none can."""
    cursor = None
    if where.before_id is not None:
        found = await conn.execute(sa.select(t.c.at).where(t.c.audit_id == where.before_id))
        cursor = found.scalar_one_or_none()
        if cursor is None:
            return None  # an unknown cursor: nothing comes after it
    scopes: list[object] = [_ALL]
    if where.vdns is not None:
        wanted = set(where.vdns)
        scopes = [None] if None in wanted else []
        scopes += sorted(v for v in wanted if v is not None)
    if not scopes:
        return None
    branches = [_branch(s, where, cursor, n) for s in scopes]
    if len(branches) == 1:
        return branches[0].subquery("w")
    merged = sa.union_all(*(sa.select(b.subquery()) for b in branches)).subquery("m")
    return (
        sa.select(merged.c.audit_id, merged.c.at)
        .order_by(merged.c.at.desc(), merged.c.audit_id.desc())
        .limit(n)
        .subquery("w")
    )


async def search(
    conn: AsyncConnection, where: Filter, limit: int, scan: int | None = None
) -> list[Entry]:
    """Newest first (by time, then id); at most ``limit`` entries.

    ``scan``: actor and action are looked for among the newest ``scan`` entries
    the other conditions allow (None: among all of them).
    """
    window = await _window(conn, where, scan if where.narrowed else limit)
    if window is None:
        return []
    query = sa.select(t).join(window, window.c.audit_id == t.c.audit_id)
    if where.actor:
        query = query.where(t.c.actor == where.actor)
    if where.action:
        query = query.where(t.c.action == where.action)
    rows = await conn.execute(
        query.order_by(window.c.at.desc(), window.c.audit_id.desc()).limit(limit)
    )
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


async def window_end(
    conn: AsyncConnection, where: Filter, scan: int
) -> tuple[int, datetime] | None:
    """The last entry (id, time) of the window of ``scan`` entries when it is full; None
    when it holds fewer (no older entry is left to look at)."""
    window = await _window(conn, where, scan)
    if window is None:
        return None
    row = (
        await conn.execute(
            sa.select(window.c.audit_id, window.c.at)
            .order_by(window.c.at.desc(), window.c.audit_id.desc())
            .limit(1)
            .offset(scan - 1)
        )
    ).first()
    return (int(row.audit_id), row.at) if row is not None else None
