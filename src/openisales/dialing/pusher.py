"""The result pusher: delivers the outbox to the campaigns' ``callBackUrl`` (spec 2.6).

Each ``tick`` leases up to ``batch_size`` due rows (see ``store.pushes``),
groups them by URL and POSTs one bare JSON array per URL, concurrently. A
push is delivered only when the receiver answers HTTP 200 with
``{"retCode": "0", ...}``; otherwise it is tried again at once, then every
``retry_interval_s``, at most ``max_pushes`` times in all (``domain.push``),
and then marked failed. Every record carries its stable ``pushId``; a resend
reuses it, so receivers de-duplicate on it. State lives in the database: any
number of pushers may run against one database, and a restarted one carries on.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.auth import signing
from openisales.client import JSON_TYPE, C2Auth
from openisales.clock import Clock
from openisales.config import Settings
from openisales.dialing.rounds import run_rounds
from openisales.domain import push
from openisales.metrics import Metrics
from openisales.store import pushes
from openisales.store.sql import transaction

log = logging.getLogger("openisales.push")

PUSH_IDS_HEADER = "X-Openisales-Push-Ids"


@dataclass(frozen=True)
class PushSettings:
    max_pushes: int = push.MAX_PUSHES  # pushes per record in all, the first included
    retry_interval_s: int = int(push.RETRY_INTERVAL.total_seconds())
    batch_size: int = 100  # rows leased per tick; at most this many records per POST
    lease_s: int = 60  # a leased row is due again after this; must exceed timeout_s
    timeout_s: float = 10.0  # whole request, connect to last byte of the answer
    poll_interval_s: float = 1.0
    housekeeping_s: float = 5.0  # pending gauge, rows whose last push never finished
    push_ak: str = ""  # C2-sign pushes when both are set
    push_sk: str = ""

    def __post_init__(self) -> None:
        if self.max_pushes < 1:
            raise ValueError("max_pushes must be at least 1")
        if self.retry_interval_s < 0 or self.batch_size < 1:
            raise ValueError("retry_interval_s must be >= 0 and batch_size >= 1")
        if self.timeout_s <= 0 or self.lease_s <= self.timeout_s:
            raise ValueError("lease_s must exceed timeout_s, which must be positive")
        if bool(self.push_ak) != bool(self.push_sk):
            raise ValueError("push_ak and push_sk go together")


class PushMetrics:
    """The pusher's series, registered once per :class:`Metrics` registry."""

    def __init__(self, metrics: Metrics) -> None:
        registry = metrics.registry
        self.sent = Counter(
            "openisales_pushes_sent",
            "Records sent to a callBackUrl (once per POST they were in)",
            registry=registry,
        )
        self.delivered = Counter(
            "openisales_pushes_delivered",
            "Records a receiver acknowledged (HTTP 200, retCode 0)",
            registry=registry,
        )
        self.retried = Counter(
            "openisales_pushes_retried",
            "Records whose push failed and will be pushed again",
            registry=registry,
        )
        self.failed = Counter(
            "openisales_pushes_failed",
            "Records given up after max_pushes failed pushes",
            registry=registry,
        )
        self.pending = Gauge(
            "openisales_pushes_pending",
            "Outbox rows still to be delivered (as of the last count)",
            registry=registry,
            multiprocess_mode="mostrecent",  # a count of one table, whoever made it
        )

    @classmethod
    def of(cls, metrics: Metrics) -> PushMetrics:
        found = _REGISTERED.get(metrics)
        if found is None:
            found = _REGISTERED[metrics] = cls(metrics)
        return found


_REGISTERED: weakref.WeakKeyDictionary[Metrics, PushMetrics] = weakref.WeakKeyDictionary()


class Pusher:
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

    async def tick(self) -> int:
        """One round; returns the number of records pushed (delivered or not)."""
        now = self.clock.now()
        if time.monotonic() - self._last_housekeeping >= self.settings.housekeeping_s:
            await self._housekeeping(now)
        async with transaction(self.engine) as conn:
            rows = await pushes.claim_due(
                conn,
                now=now,
                lease_until=now + timedelta(seconds=self.settings.lease_s),
                limit=self.settings.batch_size,
                max_pushes=self.settings.max_pushes,
            )
        if not rows:
            return 0
        by_url: dict[str, list[pushes.Claimed]] = {}
        for row in rows:
            by_url.setdefault(row.url, []).append(row)
        outcomes = await asyncio.gather(
            *(self._push(url, batch) for url, batch in by_url.items()), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome  # the rows stay leased and are pushed again after the lease
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; a failing round is logged and retried."""
        await run_rounds(
            self.tick,
            stop,
            idle_s=self.settings.poll_interval_s,
            name="pusher",
            worker_id=self.worker_id,
            log=log,
        )

    async def _push(self, url: str, batch: Sequence[pushes.Claimed]) -> None:
        ids = [row.push_id for row in batch]
        error = await self._post(url, [row.payload for row in batch], ids)
        self.metrics.sent.inc(len(batch))
        now = self.clock.now()
        if error is None:
            async with transaction(self.engine) as conn:
                await pushes.mark_delivered(conn, batch, now)
            self.metrics.delivered.inc(len(batch))
            log.info("push delivered", extra={"url": url, "pushIds": ids})
            return
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
        gave_up = [r.push_id for r in schedule.get(None, [])]
        self.metrics.failed.inc(len(gave_up))
        self.metrics.retried.inc(len(batch) - len(gave_up))
        log.warning(
            "push failed",
            extra={"url": url, "pushIds": ids, "error": error, "givenUp": gave_up},
        )

    async def _post(self, url: str, payloads: list[str], ids: list[str]) -> str | None:
        """Send one batch; ``None`` when acknowledged, else why it failed."""
        headers = {"Content-Type": JSON_TYPE, PUSH_IDS_HEADER: ",".join(ids)}
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                response = await self.http.post(
                    url, content=push.body(payloads), headers=headers, auth=self._auth
                )
        except TimeoutError:
            return f"no answer within {self.settings.timeout_s:g} s"
        except httpx.TimeoutException as exc:
            return f"timeout: {type(exc).__name__}"
        except Exception as exc:  # a transport error, a URL httpx refuses, ...
            return f"{type(exc).__name__}: {exc}"
        return push.verdict(response.status_code, response.content)

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


def push_settings(settings: Settings) -> PushSettings:
    """The push settings held in a :class:`~openisales.config.Settings`."""
    return PushSettings(
        max_pushes=settings.push_max_pushes,
        retry_interval_s=settings.push_retry_interval_s,
        batch_size=settings.push_batch_size,
        lease_s=settings.push_lease_s,
        timeout_s=settings.push_timeout_s,
        push_ak=settings.push_ak,
        push_sk=settings.push_sk,
    )


def build_pusher(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    metrics: Metrics | None,
    http: httpx.AsyncClient,
) -> Pusher:
    """A pusher configured from ``settings`` (see :func:`push_settings`)."""
    return Pusher(engine, http, clock, push_settings(settings), metrics)
