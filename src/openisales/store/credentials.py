"""API credentials (AK/SK) and VDNs: SQL and a short-lived lookup cache."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.auth.vault import Vault
from openisales.store.tables import credential, vdn


@dataclass(frozen=True)
class Credential:
    ak: str
    sk: str
    vdn_ids: frozenset[int]
    revoked: bool


@dataclass(frozen=True)
class KeyInfo:
    """What ``keys list`` shows: never the SK."""

    ak: str
    vdn_ids: tuple[int, ...]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Vdn:
    vdn_id: int
    name: str
    time_zone: str
    created_at: datetime


async def add_vdn(conn: AsyncConnection, item: Vdn) -> None:
    await conn.execute(
        sa.insert(vdn).values(
            vdn_id=item.vdn_id, name=item.name, time_zone=item.time_zone, created_at=item.created_at
        )
    )


async def get_vdn(conn: AsyncConnection, vdn_id: int) -> Vdn | None:
    row = (await conn.execute(sa.select(vdn).where(vdn.c.vdn_id == vdn_id))).first()
    return Vdn(row.vdn_id, row.name, row.time_zone, row.created_at) if row else None


async def list_vdns(conn: AsyncConnection) -> list[Vdn]:
    rows = await conn.execute(sa.select(vdn).order_by(vdn.c.vdn_id))
    return [Vdn(r.vdn_id, r.name, r.time_zone, r.created_at) for r in rows]


async def add_key(
    conn: AsyncConnection, *, ak: str, sk_encrypted: str, vdn_ids: list[int], now: datetime
) -> None:
    await conn.execute(
        sa.insert(credential),
        [{"vdn_id": v, "ak": ak, "sk_encrypted": sk_encrypted, "created_at": now} for v in vdn_ids],
    )


async def ak_exists(conn: AsyncConnection, ak: str) -> bool:
    row = await conn.execute(sa.select(credential.c.ak).where(credential.c.ak == ak).limit(1))
    return row.first() is not None


async def list_keys(conn: AsyncConnection) -> list[KeyInfo]:
    rows = await conn.execute(
        sa.select(
            credential.c.ak, credential.c.vdn_id, credential.c.created_at, credential.c.revoked_at
        ).order_by(credential.c.created_at, credential.c.ak, credential.c.vdn_id)
    )
    grouped: dict[str, KeyInfo] = {}
    for r in rows:
        known = grouped.get(r.ak)
        vdns = (*known.vdn_ids, r.vdn_id) if known else (r.vdn_id,)
        grouped[r.ak] = KeyInfo(r.ak, vdns, r.created_at, r.revoked_at)
    return list(grouped.values())


async def revoke_key(conn: AsyncConnection, ak: str, now: datetime) -> bool:
    result = await conn.execute(
        sa.update(credential)
        .where(credential.c.ak == ak, credential.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount > 0


class CredentialCache:
    """Looks up an AK, caching the decrypted result for ``ttl`` seconds.

    A revocation made by another process takes effect within ``ttl``.
    """

    def __init__(self, engine: AsyncEngine, vault: Vault, ttl: float) -> None:
        self._engine = engine
        self._vault = vault
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Credential | None]] = {}

    def forget(self, ak: str) -> None:
        self._cache.pop(ak, None)

    async def lookup(self, ak: str) -> Credential | None:
        stamp = time.monotonic()
        hit = self._cache.get(ak)
        if hit is not None and stamp - hit[0] < self._ttl:
            return hit[1]
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(
                        credential.c.vdn_id, credential.c.sk_encrypted, credential.c.revoked_at
                    ).where(credential.c.ak == ak)
                )
            ).all()
        found = None
        if rows:
            found = Credential(
                ak=ak,
                sk=self._vault.decrypt(rows[0].sk_encrypted),
                vdn_ids=frozenset(r.vdn_id for r in rows),
                revoked=any(r.revoked_at is not None for r in rows),
            )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[ak] = (stamp, found)
        return found
