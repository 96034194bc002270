"""The result pusher: delivers the outbox to the campaigns' ``callBackUrl`` (spec 2.6).

A round (``dispatch``) leases due rows (see ``store.pushes``) for the
destinations (callBackUrls) that have a free slot, groups them by URL and
starts one POST per URL, a bare JSON array of its records, each in its own
task; the round does not wait for the answers. So a receiver that never
answers holds only its own slots: at most ``max_per_destination`` POSTs in
flight per URL and ``max_in_flight`` in all, each bounded by ``timeout_s``,
while the other destinations' rows keep being leased and sent. A destination
whose last ``circuit_failures`` POSTs failed is held back ``circuit_open_s``
(its circuit opens, ``domain.push.held_back_until``): its rows wait in the
database without counting a push, and the other tenants' rows fill the claims.

A push is delivered only when the receiver answers HTTP 200 with
``{"retCode": "0", ...}``; otherwise it is tried again at once, then every
``retry_interval_s``, at most ``max_pushes`` times in all (``domain.push``),
and then marked failed. Every record carries its stable ``pushId``; a resend
reuses it, so receivers de-duplicate on it. State lives in the database: any
number of pushers may run against one database, and a restarted one carries
on; a row's lease (``lease_s``, longer than ``timeout_s``) covers it while it
is in flight, and a pusher never sends a row it still has in flight.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter as Tally
from collections.abc import Sequence
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.auth import signing
from openisales.client import JSON_TYPE, C2Auth
from openisales.clock import Clock
from openisales.config import Settings
from openisales.dialing.push_settings import PushMetrics, PushSettings, push_settings
from openisales.domain import push
from openisales.metrics import Metrics
from openisales.store import pushes
from openisales.store.sql import transaction

log = logging.getLogger("openisales.push")

PUSH_IDS_HEADER = "X-Openisales-Push-Ids"
# A receiver's answer is read up to this size (it is expected to be a short
# {"retCode": ...} object); a longer one is a failed push, never held in memory.
MAX_ANSWER_BYTES = 65_536
OPEN_CIRCUITS = 1_000  # held-back destinations remembered per pusher, soonest to close dropped
FAILURE_TALLIES = 10_000  # destinations whose consecutive failures are counted, oldest dropped

RowKey = tuple[int, int, int]


class Pusher:
    """Delivers the outbox; ``run`` until stopped, or ``tick`` for one settled round.

    In-process state is only what is in flight (tasks, their URLs and rows)
    and each destination's run of failures: a lost pusher loses nothing, its
    leases make its rows due again.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        http: httpx.AsyncClient,
        clock: Clock,
        settings: PushSettings,
        metrics: Metrics | None = None,
        *,
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.http = http
        self.clock = clock
        self.settings = settings
        self.metrics = PushMetrics.of(metrics or Metrics())
        self.worker_id = worker_id or f"p-{uuid.uuid4().hex[:12]}"
        # Per request, so a client shared with other code keeps its own auth;
        # the no-op ``httpx.Auth()`` also overrides a default auth set on it.
        self._auth: httpx.Auth = (
            C2Auth(
                settings.push_ak,
                settings.push_sk,
                now=clock.now,
                signed_headers=(*signing.DEFAULT_SIGNED_HEADERS, PUSH_IDS_HEADER.lower()),
            )
            if settings.push_ak
            else httpx.Auth()
        )
        self._last_housekeeping = float("-inf")
        self._tasks: set[asyncio.Task[None]] = set()  # one per POST in flight
        self._busy: Tally[str] = Tally()  # POSTs in flight per URL
        self._rows: set[RowKey] = set()  # rows in those POSTs
        self._failures: dict[str, int] = {}  # failed POSTs in a row per URL
        self._held: dict[str, datetime] = {}  # URL -> held back until (circuit open)
        self._freed = asyncio.Event()  # a POST ended: a slot is free

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def dispatch(self) -> int:
        """One round: lease due rows for destinations with a free slot and start their POSTs.

        Returns the number of rows leased. Does not wait for any answer.
        """
        self._freed.clear()
        now = self.clock.now()
        if time.monotonic() - self._last_housekeeping >= self.settings.housekeeping_s:
            await self._housekeeping(now)
        # Each leased row makes at most one POST: leasing no more rows than
        # there are free slots keeps ``max_in_flight``.
        free = self.settings.max_in_flight - len(self._tasks)
        if free <= 0:
            return 0
        self._held = {url: until for url, until in self._held.items() if until > now}
        cap = self.settings.max_per_destination
        busy = {url for url, n in self._busy.items() if n >= cap}
        async with transaction(self.engine) as conn:
            rows = await pushes.claim_due(
                conn,
                now=now,
                lease_until=now + timedelta(seconds=self.settings.lease_s),
                limit=min(self.settings.batch_size, free),
                max_pushes=self.settings.max_pushes,
                skip_urls=busy | self._held.keys(),
            )
        by_url: dict[str, list[pushes.Claimed]] = {}
        for row in rows:
            by_url.setdefault(row.url, []).append(row)
        for url, batch in by_url.items():
            fresh = [row for row in batch if row.key not in self._rows]
            if len(fresh) < len(batch):
                # Its lease ran out while its POST still hangs here (a clock
                # step): never a second POST of a row at once; the new lease
                # makes it due again later.
                log.warning(
                    "push lease ran out while in flight",
                    extra={"url": url, "pushIds": [r.push_id for r in batch if r not in fresh]},
                )
            if fresh:
                self._start(url, fresh)
        return len(rows)

    async def tick(self) -> int:
        """One round, then wait for every POST in flight and its outcome.

        Returns the number of rows leased. For tests and one-off use; ``run``
        never waits for answers between rounds.
        """
        leased = await self.dispatch()
        await self.settle()
        return leased

    async def settle(self, timeout: float | None = None) -> None:
        """Wait for the POSTs in flight and their outcomes, up to ``timeout``; cancel the rest.

        A cancelled POST's rows stay leased: they are pushed again once the lease ends.
        """
        if timeout is None or timeout > 0:
            deadline = None if timeout is None else time.monotonic() + timeout
            while self._tasks:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                await asyncio.wait(set(self._tasks), timeout=left)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self, stop: asyncio.Event) -> None:
        """Push until ``stop`` is set; a failing round is logged and retried.

        A round that leased nothing waits for a POST to end (a slot frees),
        ``stop`` or ``poll_interval_s``. On ``stop``, POSTs in flight get up to
        ``timeout_s`` to end and record their outcome; what is left is
        cancelled, and its rows are pushed again once their lease ends. When
        ``run`` itself is cancelled, so are its POSTs.
        """
        log.info("pusher started", extra={"worker": self.worker_id})
        try:
            while not stop.is_set():
                try:
                    leased = await self.dispatch()
                except Exception:
                    log.exception("pusher round failed")
                    leased = 0
                if not leased:
                    await self._idle(stop)
        except BaseException:
            await self.settle(0)
            raise
        await self.settle(self.settings.timeout_s)
        log.info("pusher stopped", extra={"worker": self.worker_id})

    async def _idle(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._freed.wait())]
        try:
            await asyncio.wait(
                waiters,
                timeout=self.settings.poll_interval_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    def _start(self, url: str, batch: list[pushes.Claimed]) -> None:
        keys = [row.key for row in batch]
        task = asyncio.create_task(self._deliver(url, batch), name=f"push to {url}")
        self._tasks.add(task)
        self._busy[url] += 1
        self._rows.update(keys)
        self.metrics.in_flight.inc()

        def ended(_: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            self._busy[url] -= 1
            if self._busy[url] <= 0:
                del self._busy[url]
            self._rows.difference_update(keys)
            self.metrics.in_flight.dec()
            self._freed.set()

        task.add_done_callback(ended)

    async def _deliver(self, url: str, batch: Sequence[pushes.Claimed]) -> None:
        """One POST and its outcome; an error leaves the rows leased (pushed again later)."""
        try:
            ids = [row.push_id for row in batch]
            error = await self._post(url, [row.payload for row in batch], ids)
            self.metrics.sent.inc(len(batch))
            await self._record(url, batch, ids, error)
        except Exception:
            log.exception("push outcome not recorded", extra={"url": url})

    async def _record(
        self, url: str, batch: Sequence[pushes.Claimed], ids: list[str], error: str | None
    ) -> None:
        now = self.clock.now()
        if error is None:
            self._failures.pop(url, None)
            async with transaction(self.engine) as conn:
                await pushes.mark_delivered(conn, batch, now)
            self.metrics.delivered.inc(len(batch))
            log.info("push delivered", extra={"url": url, "pushIds": ids})
            return
        failures = self._failures.pop(url, 0) + 1
        self._failures[url] = failures  # re-inserted: the dict is oldest first
        while len(self._failures) > FAILURE_TALLIES:
            del self._failures[next(iter(self._failures))]
        held_until = push.held_back_until(
            failures,
            now,
            threshold=self.settings.circuit_failures,
            hold=timedelta(seconds=self.settings.circuit_open_s),
        )
        interval = timedelta(seconds=self.settings.retry_interval_s)
        schedule: dict[datetime | None, list[pushes.Claimed]] = {}
        for row in batch:
            due = push.next_push(row.attempts, now, interval, max_pushes=self.settings.max_pushes)
            schedule.setdefault(due, []).append(row)
        async with transaction(self.engine) as conn:
            for due, rows in schedule.items():
                if due is None:
                    await pushes.mark_failed(conn, rows, error)
                else:
                    await pushes.mark_retry(conn, rows, error, due)
            if held_until is not None:
                await pushes.defer(conn, url, held_until)
        gave_up = [r.push_id for r in schedule.get(None, [])]
        self.metrics.failed.inc(len(gave_up))
        self.metrics.retried.inc(len(batch) - len(gave_up))
        log.warning(
            "push failed",
            extra={"url": url, "pushIds": ids, "error": error, "givenUp": gave_up},
        )
        if held_until is not None:
            self._hold(url, held_until)
            self.metrics.held_back.inc()
            log.warning(
                "push destination held back",
                extra={"url": url, "failures": failures, "until": held_until.isoformat()},
            )

    def _hold(self, url: str, until: datetime) -> None:
        self._held.pop(url, None)
        self._held[url] = until
        if len(self._held) > OPEN_CIRCUITS:  # forget the one closing soonest: it is probed early
            del self._held[min(self._held, key=self._held.__getitem__)]

    async def _post(self, url: str, payloads: list[str], ids: list[str]) -> str | None:
        """Send one batch; ``None`` when acknowledged, else why it failed."""
        headers = {"Content-Type": JSON_TYPE, PUSH_IDS_HEADER: ",".join(ids)}
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                request = self.http.build_request(
                    "POST", url, content=push.body(payloads), headers=headers
                )
                response = await self.http.send(request, auth=self._auth, stream=True)
                try:
                    answer = await _read_at_most(response, MAX_ANSWER_BYTES)
                finally:
                    await response.aclose()
        except TimeoutError:
            return f"no answer within {self.settings.timeout_s:g} s"
        except httpx.TimeoutException as exc:
            return f"timeout: {type(exc).__name__}"
        except Exception as exc:  # a transport error, a URL httpx refuses, ...
            return f"{type(exc).__name__}: {exc}"
        if answer is None:
            return f"answer longer than {MAX_ANSWER_BYTES} bytes"
        return push.verdict(response.status_code, answer)

    async def _housekeeping(self, now: datetime) -> None:
        async with transaction(self.engine) as conn:
            exhausted = await pushes.fail_exhausted(
                conn, now=now, max_pushes=self.settings.max_pushes
            )
            pending = await pushes.count_pending(conn)
        self._last_housekeeping = time.monotonic()
        self.metrics.pending.set(pending)
        if exhausted:
            self.metrics.failed.inc(exhausted)
            log.warning("pushes failed without an outcome", extra={"count": exhausted})


def build_pusher(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    metrics: Metrics | None,
    http: httpx.AsyncClient,
) -> Pusher:
    """A pusher configured from ``settings`` (see :func:`push_settings`).

    ``http`` should allow ``push_max_in_flight`` connections (see
    ``wiring.running``): a POST waiting for a pooled connection counts against
    its timeout.
    """
    return Pusher(engine, http, clock, push_settings(settings), metrics)


async def _read_at_most(response: httpx.Response, limit: int) -> bytes | None:
    """The streamed answer's body; None as soon as it exceeds ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
