"""Figures that are slow to compute, served from memory and refreshed in the background.

A campaign of a million records takes PostgreSQL hundreds of milliseconds to
count by status, and a week of its attempts longer still to group by
outcome: too slow to do on every view and every live refresh of a page. A
figure whose computation took longer than ``slow_s`` is therefore kept, and
later views get the kept value at once while, when it is older than
``fresh_s`` or ``cost_ratio`` times what it took to compute (whichever is
longer: a figure that takes 1 s is recomputed at most every 10 s, so the
database spends at most a tenth of its time on it), one background task per
figure computes it anew (stale while revalidating). A figure that is quick
to compute (a small campaign) is computed on every view, so it is always
exact. Pages show when a kept value was computed (docs/console.md, "Figures on large campaigns").

Each process keeps its own figures: nothing here is shared or persistent, and
at most ``entries`` are kept (least recently used first out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger("openisales.console")


@dataclass(frozen=True)
class Kept(Generic[T]):
    value: T
    computed_at: datetime  # wall clock, for the page
    taken: float  # monotonic, for freshness
    slow: bool
    cost: float = 0.0  # seconds it took to compute

    @property
    def age_s(self) -> float:
        return time.monotonic() - self.taken


class FigureCache:
    def __init__(
        self,
        *,
        fresh_s: float = 5.0,
        slow_s: float = 0.05,
        cost_ratio: float = 10.0,
        entries: int = 1000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fresh_s = fresh_s
        self.slow_s = slow_s
        self.cost_ratio = cost_ratio
        self.entries = entries
        self._monotonic = monotonic
        self._kept: OrderedDict[Hashable, Kept[Any]] = OrderedDict()
        self._refreshing: dict[Hashable, asyncio.Task[None]] = {}

    async def get(
        self, key: Hashable, compute: Callable[[], Awaitable[T]], now: datetime
    ) -> Kept[T]:
        """The figure for ``key``: kept (and refreshed behind) when slow, else computed now."""
        kept = self._kept.get(key)
        if kept is None or not kept.slow:
            return await self._compute(key, compute, now)
        self._kept.move_to_end(key)
        fresh_for = max(self.fresh_s, kept.cost * self.cost_ratio)
        if self._monotonic() - kept.taken > fresh_for and key not in self._refreshing:
            task = asyncio.create_task(self._refresh(key, compute, now))
            self._refreshing[key] = task
        return kept

    async def _compute(
        self, key: Hashable, compute: Callable[[], Awaitable[T]], now: datetime
    ) -> Kept[T]:
        started = self._monotonic()
        value = await compute()
        taken = self._monotonic()
        cost = taken - started
        kept = Kept(value, now, taken, slow=cost > self.slow_s, cost=cost)
        self._kept[key] = kept
        self._kept.move_to_end(key)
        while len(self._kept) > self.entries:
            self._kept.popitem(last=False)
        return kept

    async def _refresh(
        self, key: Hashable, compute: Callable[[], Awaitable[T]], now: datetime
    ) -> None:
        try:
            await self._compute(key, compute, now)
        except Exception:  # the kept value stays; the next view tries again
            log.warning("refreshing a console figure failed", exc_info=True)
        finally:
            self._refreshing.pop(key, None)

    def forget(self, key_prefix: tuple[Any, ...]) -> None:
        """Drop kept figures whose key starts with ``key_prefix`` (after a change made here)."""
        for key in [
            k for k in self._kept if isinstance(k, tuple) and k[: len(key_prefix)] == key_prefix
        ]:
            del self._kept[key]

    async def close(self) -> None:
        tasks = list(self._refreshing.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
