"""Group concurrent calls into shared round trips ("natural batching").

A :class:`Batcher` takes items one call at a time (``await batcher.submit(item)``)
and hands them to its ``flush`` function in lists. An item never waits for a
timer: it is flushed at once unless ``max_in_flight`` flushes are already
running, in which case it waits for one of them to finish and goes out with
everything else that arrived meanwhile. Under light load every flush carries
one item, so nothing is added to the latency; under load the items that
arrive during a round trip share the next one.

``flush`` returns one result per item, in order. When it raises, every item of
that flush gets the exception; the items of other flushes are unaffected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[list[R]]],
        *,
        max_size: int = 64,
        max_in_flight: int = 2,
    ) -> None:
        if max_size < 1 or max_in_flight < 1:
            raise ValueError("max_size and max_in_flight must be positive")
        self._flush = flush
        self._max_size = max_size
        self._max_in_flight = max_in_flight
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._running: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._running)

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def submit(self, item: T) -> R:
        """The result ``flush`` gave for ``item`` (or the exception it raised)."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._start()
        return await future

    def _start(self) -> None:
        while self._queue and len(self._running) < self._max_in_flight:
            batch = self._queue[: self._max_size]
            del self._queue[: self._max_size]
            self._running.add(asyncio.create_task(self._run(batch)))

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            await self._deliver(batch)
        finally:
            self._running.discard(asyncio.current_task())
            self._start()  # the next flush goes out before its waiters are woken

    async def _deliver(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"flush gave {len(results)} results for {len(batch)} items")
        except BaseException as exc:  # every waiter must hear of it, cancellation included
            for _, future in batch:
                if future.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # its caller may have gone away
                future.set_result(result)
