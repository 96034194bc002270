"""64-bit ids from per-VDN sequences, reserved in blocks.

An id is ``vdn_id << 48 | n``: unique across VDNs, readable back to its VDN,
and larger than 2**53 for every VDN above 31, which is why ids travel as JSON
strings. Campaign ids and business-result codes use small per-VDN counters.
Blocks are reserved in their own short transaction, never inside a caller's
transaction (a rolled-back reservation could otherwise hand the same block
to two processes).
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.store.sql import DuplicateError, transaction
from openisales.store.tables import sequence

ID_SHIFT = 48
# Counters whose values users see and that grow slowly reserve small blocks, so
# that several processes do not leave large gaps (campaign ids stay 1, 2, 3, ...).
SMALL_BLOCKS = {"campaign": 1, "busi_result": 10, "obs_result": 10, "obs_map": 10}


def compose(vdn_id: int, n: int) -> int:
    return (vdn_id << ID_SHIFT) | n


class IdAllocator:
    def __init__(self, engine: AsyncEngine, block: int = 1000) -> None:
        self._engine = engine
        self._block = block
        self._ranges: dict[tuple[int, str], tuple[int, int]] = {}
        self._lock = asyncio.Lock()

    async def take(self, vdn_id: int, name: str, count: int = 1) -> list[int]:
        """``count`` fresh values of the counter ``name`` in ``vdn_id`` (from 1 upwards).

        A database failure is :class:`~openisales.errors.StorageError` (``0200006``;
        an operation answers it with its own storage code).
        """
        key = (vdn_id, name)
        nxt, end = self._ranges.get(key, (0, 0))
        if nxt + count <= end and not self._lock.locked():
            # From the block in hand: no await from look-up to update, so no lock needed.
            self._ranges[key] = (nxt + count, end)
            return list(range(nxt, nxt + count))
        out: list[int] = []
        async with self._lock:
            while len(out) < count:
                nxt, end = self._ranges.get(key, (0, 0))
                if nxt >= end:
                    block = SMALL_BLOCKS.get(name, self._block)
                    size = max(block, count - len(out))
                    nxt, end = await self._reserve(vdn_id, name, size)
                take = min(end - nxt, count - len(out))
                out.extend(range(nxt, nxt + take))
                self._ranges[key] = (nxt + take, end)
        return out

    async def _reserve(self, vdn_id: int, name: str, size: int) -> tuple[int, int]:
        stmt = (
            sa.update(sequence)
            .where(sequence.c.vdn_id == vdn_id, sequence.c.name == name)
            .values(next_value=sequence.c.next_value + size)
            .returning(sequence.c.next_value)
        )
        for _ in range(3):
            async with transaction(self._engine) as conn:
                end = (await conn.execute(stmt)).scalar()
                if end is not None:
                    return end - size, end
            try:
                async with transaction(self._engine) as conn:
                    await conn.execute(
                        sa.insert(sequence).values(vdn_id=vdn_id, name=name, next_value=1 + size)
                    )
                return 1, 1 + size
            except DuplicateError:
                continue  # another process created the row first
        raise RuntimeError(f"cannot reserve ids for {name} in VDN {vdn_id}")  # pragma: no cover
