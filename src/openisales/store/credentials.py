"""API credentials (AK/SK) and VDNs: SQL and a short-lived lookup cache."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.auth.vault import Vault, VaultError
from openisales.errors import AuthError
from openisales.store.sql import reading
from openisales.store.tables import credential, vdn

log = logging.getLogger("openisales.auth")


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


async def key_vdns(conn: AsyncConnection, ak: str) -> list[int]:
    """The VDNs the key ``ak`` acts for, in order (empty when there is no such key)."""
    rows = await conn.execute(
        sa.select(credential.c.vdn_id).where(credential.c.ak == ak).order_by(credential.c.vdn_id)
    )
    return [r.vdn_id for r in rows]


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


async def encrypted_sks(conn: AsyncConnection) -> list[str]:
    """Every stored SK of a key not revoked, encrypted (one per AK)."""
    rows = await conn.execute(
        sa.select(credential.c.ak, sa.func.min(credential.c.sk_encrypted))
        .where(credential.c.revoked_at.is_(None))
        .group_by(credential.c.ak)
        .order_by(credential.c.ak)
    )
    return [row[1] for row in rows]


async def revoke_key(conn: AsyncConnection, ak: str, now: datetime) -> bool:
    result = await conn.execute(
        sa.update(credential)
        .where(credential.c.ak == ak, credential.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount > 0


# Known AKs are rows of the credential table, so their number is the
# operator's; this only keeps a forgotten cache from growing without end.
KNOWN_ENTRIES = 10_000


class CredentialCache:
    """Looks up an AK, caching the decrypted result for ``ttl`` seconds.

    A revocation made by another process takes effect within ``ttl``. AKs that
    are not found are remembered too (so a flood of unknown AKs does not reach
    the database), in a separate cache bounded by ``unknown_entries`` entries
    and ``unknown_bytes`` bytes of AK text (UTF-8): when either is reached the
    oldest entries go first. Callers refuse oversized AKs before they get here
    (``signing.Limits``). Storage failures raise :class:`StorageError`. While
    an AK is being looked up, the other requests for it wait for that look-up
    (and its failure) instead of sending their own.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        vault: Vault,
        ttl: float,
        *,
        unknown_entries: int = 10_000,
        unknown_bytes: int = 1_048_576,
    ) -> None:
        self._engine = engine
        self._vault = vault
        self._ttl = ttl
        self._known: dict[str, tuple[float, Credential]] = {}
        # AK -> (when it was looked up, its size); insertion order is age order
        self._unknown: dict[str, tuple[float, int]] = {}
        self._unknown_max = unknown_entries
        self._unknown_max_bytes = unknown_bytes
        self._unknown_size = 0
        self._pending: dict[str, asyncio.Future[Credential | None]] = {}

    @property
    def unknown_entries(self) -> int:
        """How many unknown AKs are remembered."""
        return len(self._unknown)

    @property
    def unknown_bytes(self) -> int:
        """The UTF-8 size of the unknown AKs remembered."""
        return self._unknown_size

    def forget(self, ak: str) -> None:
        self._known.pop(ak, None)
        self._forget_unknown(ak)

    async def lookup(self, ak: str) -> Credential | None:
        stamp = time.monotonic()
        hit = self._known.get(ak)
        if hit is not None and stamp - hit[0] < self._ttl:
            return hit[1]
        missed = self._unknown.get(ak)
        if missed is not None and stamp - missed[0] < self._ttl:
            return None
        if self._ttl <= 0:  # nothing is cached: every request reads the table itself
            return await self._load(ak, stamp)
        # One query per AK at a time: the requests that miss while it runs (all
        # of a busy AK's, each time its entry expires) share its answer.
        pending = self._pending.get(ak)
        if pending is None:
            pending = asyncio.ensure_future(self._load(ak, stamp))
            self._pending[ak] = pending
            pending.add_done_callback(lambda done: self._settled(ak, done))
        return await asyncio.shield(pending)  # a caller that leaves does not cancel the others'

    def _settled(self, ak: str, done: asyncio.Future[Credential | None]) -> None:
        if self._pending.get(ak) is done:
            del self._pending[ak]
        if not done.cancelled():
            done.exception()  # retrieved: every caller may have left before it failed

    async def _load(self, ak: str, stamp: float) -> Credential | None:
        async with reading(self._engine) as conn:
            rows = (
                await conn.execute(
                    sa.select(
                        credential.c.vdn_id, credential.c.sk_encrypted, credential.c.revoked_at
                    ).where(credential.c.ak == ak)
                )
            ).all()
        self.forget(ak)
        if not rows:
            self._remember_unknown(ak, stamp)
            return None
        try:
            sk = self._vault.decrypt(rows[0].sk_encrypted)
        except VaultError:
            log.error(
                "the stored SK of an AK cannot be decrypted: wrong master key", extra={"ak": ak}
            )
            raise AuthError(
                "the AK cannot be used: its secret was stored under another master key"
            ) from None
        found = Credential(
            ak=ak,
            sk=sk,
            vdn_ids=frozenset(r.vdn_id for r in rows),
            revoked=any(r.revoked_at is not None for r in rows),
        )
        if self._ttl > 0:
            while len(self._known) >= KNOWN_ENTRIES:
                del self._known[next(iter(self._known))]
            self._known[ak] = (stamp, found)
        return found

    def _remember_unknown(self, ak: str, stamp: float) -> None:
        size = len(ak.encode())
        if self._ttl <= 0 or size > self._unknown_max_bytes:
            return
        # Oldest first: the expired ones, then as many as the bounds require.
        while self._unknown:
            oldest = next(iter(self._unknown))
            expired = stamp - self._unknown[oldest][0] >= self._ttl
            full = (
                len(self._unknown) >= self._unknown_max
                or self._unknown_size + size > self._unknown_max_bytes
            )
            if not (expired or full):
                break
            self._forget_unknown(oldest)
        if len(self._unknown) < self._unknown_max:
            self._unknown[ak] = (stamp, size)
            self._unknown_size += size

    def _forget_unknown(self, ak: str) -> None:
        gone = self._unknown.pop(ak, None)
        if gone is not None:
            self._unknown_size -= gone[1]
