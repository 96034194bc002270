"""The replay guard over ``t_isl_auth_nonce``: shared by every API process."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.auth.replay import Nonce
from openisales.store.sql import transaction
from openisales.store.tables import auth_nonce

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
        """Driver failures raise :class:`StorageError` (``store.sql.transaction``)."""
        async with transaction(self._engine) as conn:
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
