"""Group concurrent calls into shared round trips ("natural batching").

A :class:`Batcher` takes items one call at a time (``await batcher.submit(item)``)
and hands them to its ``flush`` function in lists. An item never waits for a
timer. When a flush slot is free, a flush is scheduled at once and takes the
queue when it starts, on the event loop's next turn: every item submitted
during the current turn goes with it (the requests one network read brought
in share a round trip, where the first would otherwise go alone and the rest
wait for it). When ``max_in_flight`` flushes are running, items wait for one
of them to finish and go out with everything else that arrived meanwhile.
Under light load every flush carries one item, so nothing is added to the
latency; under load the items that arrive during a round trip share the next
one.

``flush`` returns one result per item, in order; an exception *instance* in
place of a result is raised to that item's caller alone. When ``flush``
raises, every item of that flush gets the exception; the items of other
flushes are unaffected. An item whose caller has gone away (cancelled) before
its flush started is not flushed at all, and a flush cancelled before it
started took nothing: its items go with the next one.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class FlushCancelled(RuntimeError):
    """The flush carrying an item was cancelled (the process is shutting down)."""


class Batcher(Generic[T, R]):
    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
        *,
        max_size: int = 64,
        max_in_flight: int = 2,
    ) -> None:
        if max_size < 1 or max_in_flight < 1:
            raise ValueError("max_size and max_in_flight must be positive")
        self._flush = flush
        self._max_size = max_size
        self._max_in_flight = max_in_flight
        self._queue: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._running: set[asyncio.Task[None]] = set()  # scheduled or started flushes
        self._scheduled = 0  # of those, how many have not started (taken their items) yet

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
        """Schedule flushes while a slot is free and the queue outgrows what is scheduled."""
        while (
            len(self._running) < self._max_in_flight
            and len(self._queue) > self._scheduled * self._max_size
        ):
            # A flush serves several callers: it runs in a context of its own,
            # not the submitting request's (whose log fields it would carry).
            task = asyncio.create_task(self._run(), context=contextvars.Context())
            self._scheduled += 1
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _take(self) -> list[tuple[T, asyncio.Future[R]]]:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        while self._queue and len(batch) < self._max_size:
            item, future = self._queue.popleft()
            if not future.done():  # a cancelled caller's item is dropped
                batch.append((item, future))
        return batch

    async def _run(self) -> None:
        self._scheduled -= 1
        batch = self._take()
        try:
            if batch:
                await self._deliver(batch)
        finally:
            for _, future in batch:  # cancelled in flight: nobody is left waiting
                if not future.done():
                    future.set_exception(FlushCancelled("the flush was cancelled"))
            self._running.discard(asyncio.current_task())
            self._start()  # the next flush goes out before its waiters are woken

    def _finished(self, task: asyncio.Task[None]) -> None:
        """Also runs for a flush cancelled before it started, which took no items."""
        if task in self._running:
            self._running.discard(task)
            self._scheduled -= 1
            self._start()

    async def _deliver(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"flush gave {len(results)} results for {len(batch)} items")
        except Exception as exc:  # every waiter of this flush hears of it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller has gone away
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
