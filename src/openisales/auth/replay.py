"""Refuse an identical signature seen again inside its validity window.

The port, and its in-memory implementation ``MemoryReplayGuard`` (one
process); ``store.nonces.SqlReplayGuard`` is the one shared by every API
process through the database.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

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
