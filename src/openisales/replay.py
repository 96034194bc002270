"""Refuse an identical signature seen again inside its validity window.

Two implementations of one small port: ``MemoryReplayGuard`` (one process)
and ``SqlReplayGuard`` (shared by every API process through the database).
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.store.tables import auth_nonce

REPLAYED = "replayed request: this signature was already used"


def replay_key(ak: str, signature: str) -> str:
    return hashlib.sha256(f"{ak}/{signature}".encode()).hexdigest()


@dataclass(frozen=True)
class Nonce:
    """A verified signature whose single use is recorded later, in the handler's transaction."""

    vdn_id: int
    key: str
    expires_at: datetime
    now: datetime


class ReplayGuard(Protocol):
    @property
    def deferrable(self) -> bool:
        """True when first use can be recorded inside another transaction (first_use_in)."""
        ...

    async def first_use(self, vdn_id: int, key: str, expires_at: datetime, now: datetime) -> bool:
        """Record ``key``; False when it was already recorded and has not expired."""
        ...

    async def first_use_in(self, conn: AsyncConnection, nonce: Nonce) -> bool:
        """:meth:`first_use` on ``conn``, so it commits or rolls back with that transaction."""
        ...

    async def close(self) -> None: ...


class MemoryReplayGuard:
    @property
    def deferrable(self) -> bool:
        return False

    def __init__(self) -> None:
        self._seen: dict[tuple[int, str], datetime] = {}
        self._expiry: list[tuple[datetime, int, str]] = []

    async def first_use(self, vdn_id: int, key: str, expires_at: datetime, now: datetime) -> bool:
        while self._expiry and self._expiry[0][0] < now:
            _, vdn, old = heapq.heappop(self._expiry)
            if self._seen.get((vdn, old), now) < now:
                del self._seen[(vdn, old)]
        known = self._seen.get((vdn_id, key))
        if known is not None and known >= now:
            return False
        self._seen[(vdn_id, key)] = expires_at
        heapq.heappush(self._expiry, (expires_at, vdn_id, key))
        return True

    async def first_use_in(self, conn: AsyncConnection, nonce: Nonce) -> bool:  # noqa: ARG002
        return await self.first_use(nonce.vdn_id, nonce.key, nonce.expires_at, nonce.now)

    async def close(self) -> None:
        self._seen.clear()


# Nonces that expired can no longer refuse anything.
_PRUNE = sa.delete(auth_nonce).where(auth_nonce.c.expires_at < sa.bindparam("now"))


class SqlReplayGuard:
    """Uses ``t_isl_auth_nonce``; expired rows are pruned every ``prune_every`` calls.

    One statement per request: insert the key, or take over an expired row
    (``INSERT … ON CONFLICT DO UPDATE … WHERE expired RETURNING``); no row
    back means the key is live, i.e. a replay. In production the engine is a
    non-durable one (see ``store.engine.create_engine``): nonces of the last
    moment before a crash may be forgotten, which re-opens, once, the replay
    window of requests signed in that moment.
    """

    @property
    def deferrable(self) -> bool:
        return True

    def __init__(
        self, engine: AsyncEngine, prune_every: int = 1000, *, owned: bool = False
    ) -> None:
        self._engine = engine
        self._owned = owned
        self._prune_every = prune_every
        self._calls = 0
        dialect_insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        stmt = dialect_insert(auth_nonce).values(
            vdn_id=sa.bindparam("vdn_id"),
            digest=sa.bindparam("digest"),
            expires_at=sa.bindparam("expires_at"),
        )
        self._claim = stmt.on_conflict_do_update(
            index_elements=[auth_nonce.c.vdn_id, auth_nonce.c.digest],
            set_={"expires_at": stmt.excluded.expires_at},
            where=auth_nonce.c.expires_at < sa.bindparam("now"),
        ).returning(auth_nonce.c.digest)

    async def first_use(self, vdn_id: int, key: str, expires_at: datetime, now: datetime) -> bool:
        async with self._engine.begin() as conn:
            await self._maybe_prune(conn, now)
            row = await conn.execute(
                self._claim,
                {"vdn_id": vdn_id, "digest": key, "expires_at": expires_at, "now": now},
            )
            return row.first() is not None

    async def first_use_in(self, conn: AsyncConnection, nonce: Nonce) -> bool:
        row = await conn.execute(
            self._claim,
            {
                "vdn_id": nonce.vdn_id,
                "digest": nonce.key,
                "expires_at": nonce.expires_at,
                "now": nonce.now,
            },
        )
        return row.first() is not None

    async def _maybe_prune(self, conn: AsyncConnection, now: datetime) -> None:
        self._calls += 1
        if self._calls % self._prune_every == 0:
            await conn.execute(_PRUNE, {"now": now})

    async def close(self) -> None:
        if self._owned:
            await self._engine.dispose()
