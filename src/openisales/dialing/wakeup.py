"""When the dispatcher runs its next round: due times it knows, notices it hears.

A :class:`Wakeup` keeps the due times hinted that no round has reached yet.
The dispatcher's rest after a round with nothing left to claim ends at
the earliest of: the poll interval, the earliest due time of its campaigns
(read from the database), a hinted due time, or ``stop``.

Hints come from the dispatcher itself (retries its own gateways' outcomes
scheduled, a call slot freed in a campaign at its cap), from this process
(SQLite: the write-back and the ``attemptResult`` endpoint call the
dispatchers of their process) and, on PostgreSQL, from a :class:`Listener`:
a connection of its own that LISTENs on ``store.dispatch.CHANNEL``. When that
connection is lost the dispatcher rests at most :data:`FALLBACK_POLL_S` while
the listener reconnects with backoff; once back, a round runs at once, as the
notices sent meanwhile are lost. A notice never claims anything: the round it
starts claims what is due, as any other round would.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.clock import Clock
from openisales.store import dispatch

log = logging.getLogger("openisales.dialing")

FALLBACK_POLL_S = 0.2  # the longest rest while notices cannot be heard
MAX_HINTS = 1024  # due times remembered; the latest are dropped first (the database has them)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


class Wakeup:
    """Due times hinted and not yet reached, and the rest the earliest of them ends."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._due: list[datetime] = []  # a heap, earliest first
        self._event = asyncio.Event()

    @property
    def hinted(self) -> datetime | None:
        """The earliest due time hinted and not reached by a round yet."""
        return self._due[0] if self._due else None

    def hint(self, due: datetime) -> None:
        """A record falls due at ``due``: a rest ends by then."""
        if len(self._due) >= MAX_HINTS:  # keep the earliest half
            self._due = heapq.nsmallest(MAX_HINTS // 2, self._due)
        heapq.heappush(self._due, due)
        if self._due[0] == due:
            self._event.set()

    def now(self) -> None:
        """End the current rest at once (a round follows)."""
        self.hint(_EARLIEST)

    def start_round(self, now: datetime) -> None:
        """A round begins at ``now``: it claims what the hints up to ``now`` announced."""
        while self._due and self._due[0] <= now:
            heapq.heappop(self._due)

    async def rest(self, seconds: float, stop: asyncio.Event) -> None:
        """Up to ``seconds``, less if a hinted due time comes first or ``stop`` is set."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while not stop.is_set():
            left = end - loop.time()
            if self._due:
                left = min(left, (self._due[0] - self._clock.now()).total_seconds())
            if left <= 0:
                return
            self._event.clear()
            await _first_of(stop, self._event, left)


async def _first_of(a: asyncio.Event, b: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


class Listener:
    """LISTENs for due notices (PostgreSQL) on a connection of its own; reconnects with backoff.

    ``connected`` says whether notices are being heard; ``connections``
    counts the connections made so far.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        wakeup: Wakeup,
        *,
        first_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        check_s: float = 30.0,
    ) -> None:
        self._engine = engine
        self._wakeup = wakeup
        self._first_backoff_s = first_backoff_s
        self._max_backoff_s = max_backoff_s
        self._check_s = check_s
        self.connected = False
        self.connections = 0

    def _heard(self, payload: str) -> None:
        due = dispatch.parse_notice(payload)
        self._wakeup.hint(due or _EARLIEST)

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until ``stop``; a lost connection is replaced after a growing pause."""
        backoff = self._first_backoff_s
        while not stop.is_set():
            conn: Any = None
            lost = asyncio.Event()
            try:
                conn = await dispatch.listen(self._engine, self._heard)
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                self.connected = True
                self.connections += 1
                backoff = self._first_backoff_s
                self._wakeup.now()  # notices sent while nobody listened are lost: look now
                await self._watch(conn, lost, stop)
            except Exception as exc:
                log.warning("due notices not heard, polling meanwhile: %s", exc or type(exc))
            finally:
                if self.connected:
                    self.connected = False
                    self._wakeup.now()  # rest no longer than the fallback poll from now on
                if conn is not None:
                    await _close(conn)
            if not stop.is_set():
                await _first_of(stop, asyncio.Event(), backoff)
                backoff = min(backoff * 2, self._max_backoff_s)

    async def _watch(self, conn: Any, lost: asyncio.Event, stop: asyncio.Event) -> None:
        """Until ``stop``; raises when the connection is lost (closed, or a check fails)."""
        while not stop.is_set():
            await _first_of(stop, lost, self._check_s)
            if stop.is_set():
                return
            if lost.is_set() or conn.is_closed():
                raise ConnectionError("the listening connection was closed")
            await conn.execute("SELECT 1", timeout=10)  # a connection that died silently fails


async def _close(conn: Any) -> None:
    try:
        await asyncio.wait_for(conn.close(), 5)
    except Exception:
        conn.terminate()
