"""The dispatcher: claims due call data and hands it to gateways, durably.

Each round: recover attempts whose lease expired (counted as failed with
``34608``), complete answered records whose write-back never came and open
records of ended campaigns, then for every running campaign inside its time
window claim due records up to its concurrency cap and hand them to its
gateway. All state lives in the database, so any number of dispatchers may
run against one PostgreSQL database, and a restarted one simply carries on.

``run`` does not wait for a gateway hand-off (the blocklist check, the
gateway's ``dispatch`` and, for the instant simulator, recording the
outcomes) before the next claim. Hand-offs run in two lanes: up to
``handoffs`` of claims of any due record (scheduled ones first) and, while
those are all busy, up to ``retry_handoffs`` more of claims of due scheduled
records only, so that a backlog of first calls never holds a retry back. A
claim is made only when a lane is free: what it claims goes out at once.
A round that filled a claim is followed by the next as soon as a lane is
free; otherwise the dispatcher rests until the earliest due time of its
campaigns, a hint or notice (``dialing.wakeup``), or the poll interval,
whichever comes first. ``tick`` runs one round and waits for its hand-offs
(tests, ``simulate``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.clock import Clock
from openisales.dialing.gateways.base import CallTask, Gateway
from openisales.dialing.rounds import run_rounds
from openisales.dialing.wakeup import FALLBACK_POLL_S, Listener, Wakeup
from openisales.domain import window
from openisales.domain.blocklist import BLOCKED
from openisales.domain.dialing import DialingCampaign
from openisales.metrics import Metrics
from openisales.services import blocklist, dialing
from openisales.services.dialing import AttemptReport, DialerTiming, DisplayLookup
from openisales.store import dispatch, holidays
from openisales.store.ids import IdAllocator
from openisales.store.sql import reading, transaction

log = logging.getLogger("openisales.dialing")


@dataclass(frozen=True)
class DispatcherSettings:
    lease_s: int = 120
    claim_batch: int = 500
    default_concurrency: int = 100
    reservation_fallback_s: int | None = 300  # None: a reservation never falls back
    poll_interval_s: float = 1.0  # the longest rest between rounds
    handoffs: int = 2  # run: hand-offs in flight at once, claims of any due record
    retry_handoffs: int = 2  # run: more, of due scheduled records only (retries first)
    recovery_s: float = 1.0  # run looks for expired leases at most this often
    campaigns_s: float = 1.0  # run reads the running campaigns at most this often
    housekeeping_s: float = 5.0
    timing: DialerTiming = field(default_factory=DialerTiming)
    default_gateway: str = ""


CampaignKey = tuple[int, int]  # (vdn_id, campaign_id)


@dataclass
class Round:
    """What one round did."""

    now: datetime
    dispatched: int = 0  # calls handed over (run: claimed; the blocklist check comes later)
    full: bool = False  # a campaign's claim was filled: more may be due already
    dialled: list[CampaignKey] = field(default_factory=list)  # claimed from, below their cap
    scheduled_only: bool = False  # some campaign's first calls wait for a free hand-off


GENERAL, SCHEDULED = "general", "scheduled"  # run's hand-off lanes


class _Claimed(NamedTuple):
    tasks: list[CallTask]
    full: bool
    # The numbers the blocklist must be asked about: the claim's listed ones, or all.
    screen: frozenset[str]


_GONE = _Claimed([], False, frozenset())  # the campaign stopped running meanwhile


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        ids: IdAllocator,
        gateways: Mapping[str, Gateway],
        clock: Clock,
        settings: DispatcherSettings,
        *,
        metrics: Metrics | None = None,
        displays: DisplayLookup = dialing.no_display,
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.ids = ids
        self.gateways = gateways
        self.clock = clock
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.displays = displays
        self.worker_id = worker_id or f"w-{uuid.uuid4().hex[:12]}"
        self.wakeup = Wakeup(clock)
        self.listener: Listener | None = None  # run makes one on PostgreSQL (if not given)
        self._holidays: dict[int, tuple[float, frozenset[date]]] = {}
        self._last_housekeeping = float("-inf")
        self._last_recovery = float("-inf")
        self._handoffs: set[asyncio.Task[None]] = set()
        self._lanes: Counter[str] = Counter()  # run: hand-offs in flight per lane
        self._waiting = False  # the last round left a campaign waiting for a free hand-off
        self._capped: set[CampaignKey] = set()  # at their cap in the last round
        self._campaigns_read: tuple[float, list[DialingCampaign]] = (float("-inf"), [])
        self._one_trip: bool | None = None  # claims in one round trip (read at the first claim)

    async def report(self, reports: list[AttemptReport]) -> list[dialing.Applied]:
        """Apply attempt outcomes (the gateways' reporter).

        Retries they schedule soon are not announced to other dispatchers:
        this one hints itself once they are committed.
        """
        with dispatch.collecting() as due:
            applied = await dialing.record_attempts(
                self.engine,
                self.ids,
                reports,
                now=self.clock.now(),
                timing=self.settings.timing,
                displays=self.displays,
            )
        if due:
            self.wakeup.hint(min(due))
        codes: Counter[str] = Counter()
        freed = False
        for item in applied:
            if item.applied:
                codes[item.report.fail_code] += 1
                freed = freed or (item.report.vdn_id, item.campaign_id) in self._capped
        for code, count in codes.items():
            self.metrics.attempts.labels(code).inc(count)
        if freed:
            self.wakeup.now()  # a call slot of a campaign at its cap is free
        if log.isEnabledFor(logging.INFO):
            for item in applied:
                if item.applied:
                    log.info(
                        "attempt outcome",
                        extra={
                            "dataId": str(item.report.data_id),
                            "campaignId": item.campaign_id,
                            "attemptNo": item.report.attempt_no,
                            "failCode": item.report.fail_code,
                            "next": item.kind.value if item.kind else None,
                        },
                    )
        return applied

    async def tick(self) -> int:
        """One round, its hand-offs done; returns the number of calls dispatched."""
        return (await self._round(pipelined=False)).dispatched

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until ``stop`` is set; a failing round is logged and retried.

        On PostgreSQL a :class:`~openisales.dialing.wakeup.Listener` hears due
        notices meanwhile; on SQLite this process's notices reach the
        dispatcher directly. On the way out the hand-offs in flight finish.
        """
        side: list[asyncio.Task[None]] = []
        unlisten = None
        if self.engine.dialect.name == "postgresql":
            self.listener = self.listener or Listener(self.engine, self.wakeup)
            side.append(asyncio.create_task(self.listener.run(stop), name="due listener"))
        else:
            unlisten = dispatch.listen_locally(self.wakeup.hint)
        try:
            await run_rounds(
                self._run_round,
                self._rest,
                stop,
                name="dispatcher",
                worker_id=self.worker_id,
                log=log,
            )
        finally:
            if unlisten is not None:
                unlisten()
            await self._settle()
            for task in side:
                task.cancel()
            await asyncio.gather(*side, return_exceptions=True)

    @property
    def hears_notices(self) -> bool:
        """Whether due notices reach this dispatcher now (else it rests no longer than a poll)."""
        if self.engine.dialect.name != "postgresql":
            return True
        return self.listener is not None and self.listener.connected

    async def _run_round(self) -> Round:
        return await self._round(pipelined=True)

    async def _rest(self, done: Round | None, stop: asyncio.Event) -> None:
        """After a round: until something may be due, a hand-off it waits for ends, or ``stop``.

        After a round that filled a claim the next one follows at once while
        a hand-off is free; with none free the dispatcher waits for one, or
        for a hinted due time (it then claims due scheduled records only).
        After a round that claimed all that was due it reads when its
        campaigns' next record falls due.
        """
        poll = self.settings.poll_interval_s
        rest = poll if self.hears_notices and done is not None else min(poll, FALLBACK_POLL_S)
        if done is not None and done.full:
            lane = self._lane()
            if lane == GENERAL or (lane is not None and done.scheduled_only):
                await asyncio.sleep(0)  # let the hand-offs just started begin
                return
            self._waiting = True
        elif done is not None and done.dialled:
            async with self._reading() as conn:
                due = await dispatch.next_due(
                    conn, done.dialled, done.now, first_calls=not done.scheduled_only
                )
            if due is not None:
                rest = min(rest, (due - self.clock.now()).total_seconds())
        await self.wakeup.rest(rest, stop)

    async def _round(self, *, pipelined: bool) -> Round:
        """Claim and hand over; ``pipelined`` (run) does not wait for the hand-offs."""
        now = self.clock.now()
        self.wakeup.start_round(now)
        done = Round(now)
        stamp = time.monotonic()
        if not pipelined or stamp - self._last_recovery >= self.settings.recovery_s:
            self._last_recovery = stamp
            await self._recover(now)
        if stamp - self._last_housekeeping >= self.settings.housekeeping_s:
            await self._housekeeping(now)
        campaigns = await self._campaigns(now, cached=pipelined)
        capped: set[CampaignKey] = set()
        self._waiting = False
        for campaign in campaigns:
            gateway = self.gateways.get(campaign.gateway or self.settings.default_gateway)
            if gateway is None or not await self._in_window(campaign, now):
                continue
            lane = self._lane() if pipelined else GENERAL
            if lane != GENERAL:
                self._waiting = True  # its first calls wait for a general hand-off
                if lane is None:
                    continue
                done.scheduled_only = True
            key = (campaign.vdn_id, campaign.campaign_id)
            self._lanes[lane] += 1
            handed = False
            try:
                claimed = await self._claim(campaign, gateway, now, first_calls=lane == GENERAL)
                if claimed is None:
                    capped.add(key)
                elif claimed is not _GONE:
                    done.dialled.append(key)
                    done.full = done.full or claimed.full
                if claimed is not None and claimed.tasks:
                    handoff = self._hand_off(campaign, gateway, claimed.tasks, claimed.screen, now)
                    if pipelined:
                        done.dispatched += len(claimed.tasks)
                        self._start(handoff, lane)
                        handed = True
                    else:
                        done.dispatched += await handoff
            finally:
                if not handed:
                    self._lanes[lane] -= 1
        self._capped = capped
        return done

    async def _campaigns(self, now: datetime, *, cached: bool) -> list[DialingCampaign]:
        """The running campaigns; ``cached``: as read up to ``campaigns_s`` ago.

        A campaign paused meanwhile claims nothing all the same (the claim
        checks its status under its lock); one that ended is left out here.
        """
        stamp = time.monotonic()
        if not cached or stamp - self._campaigns_read[0] >= self.settings.campaigns_s:
            async with self._reading() as conn:
                self._campaigns_read = (stamp, await dispatch.running_campaigns(conn, now))
            return self._campaigns_read[1]
        return [c for c in self._campaigns_read[1] if c.begin <= now < c.end]

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads: on PostgreSQL in autocommit (no BEGIN and ROLLBACK)."""
        async with reading(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    def _lane(self) -> str | None:
        """The hand-off lane a claim may use now: any due record, due scheduled ones, or none."""
        if self._lanes[GENERAL] < self.settings.handoffs:
            return GENERAL
        if self._lanes[SCHEDULED] < self.settings.retry_handoffs:
            return SCHEDULED
        return None

    def _start(self, handoff: Awaitable[int], lane: str) -> None:
        async def guarded() -> None:
            try:
                await handoff
            except Exception:  # its records stay leased: recovered when the lease ends
                log.exception("gateway hand-off failed")

        task = asyncio.create_task(guarded())
        self._handoffs.add(task)

        def ended(_: asyncio.Task[None]) -> None:
            self._handoffs.discard(task)
            self._lanes[lane] -= 1
            if self._waiting:
                self.wakeup.now()  # a campaign waits for a free hand-off

        task.add_done_callback(ended)

    async def _settle(self) -> None:
        while self._handoffs:
            await asyncio.gather(*list(self._handoffs), return_exceptions=True)

    async def _in_window(self, campaign: DialingCampaign, now: datetime) -> bool:
        days = await self._holiday_set(campaign.vdn_id)
        if campaign.window is not None:  # None: the stored schedule cannot be parsed
            try:
                return window.is_open(
                    campaign.window,
                    begin=campaign.begin,
                    end=campaign.end,
                    tz=campaign.tz,
                    holidays=days,
                    now=now,
                )
            except ValueError:  # a naive datetime
                pass
        log.warning("campaign has an unusable schedule", extra={"campaignId": campaign.campaign_id})
        return False

    async def _holiday_set(self, vdn_id: int) -> frozenset[date]:
        stamp = time.monotonic()
        hit = self._holidays.get(vdn_id)
        if hit is not None and stamp - hit[0] < 30:
            return hit[1]
        async with self._reading() as conn:
            days = await holidays.holiday_set(conn, vdn_id)
        self._holidays[vdn_id] = (stamp, days)
        return days

    async def _claim(
        self, campaign: DialingCampaign, gateway: Gateway, now: datetime, *, first_calls: bool
    ) -> _Claimed | None:
        """Claim the campaign's due records as call tasks; None when it is at its cap.

        ``first_calls`` False claims due scheduled records (retries, appointments) only.
        """
        agents = gateway.agents(campaign)
        fallback = self.settings.reservation_fallback_s
        today = now.astimezone(campaign.tz).date().isoformat()
        if self._one_trip is None:
            async with self._reading() as conn:
                self._one_trip = await dispatch.claims_in_one_trip(conn)
        claimed = await dispatch.claim_campaign(
            self.engine,
            one_trip=self._one_trip,
            vdn_id=campaign.vdn_id,
            campaign_id=campaign.campaign_id,
            cap=campaign.max_concurrency or self.settings.default_concurrency,
            batch=self.settings.claim_batch,
            worker=self.worker_id,
            now=now,
            lease_until=now + timedelta(seconds=self.settings.lease_s),
            today=today,
            agents=agents,
            fallback_before=now - timedelta(seconds=fallback) if fallback is not None else None,
            first_calls=first_calls,
        )
        if not claimed.running:
            return _GONE
        if claimed.limit <= 0:
            return None
        rows = claimed.rows
        self.metrics.claims.inc(len(rows))
        logged = log.isEnabledFor(logging.INFO)
        tasks = []
        for claim in dispatch.claims(rows):  # mapped once the campaign's lock is released
            record = claim.record
            reserved = claim.reserved_work_no
            keep = reserved if agents is None or reserved in agents else None
            tasks.append(
                CallTask(
                    vdn_id=record.vdn_id,
                    campaign_id=record.campaign_id,
                    data_id=record.data_id,
                    attempt_no=record.attempt_no,
                    called=record.numbers[record.attempt_index].called_no,
                    caller_no=claim.caller or campaign.caller_no,
                    call_data=claim.call_data,
                    work_no=keep,
                )
            )
            if record.attempt_no > 1 and claim.next_call_time is not None:
                late = (now - claim.next_call_time).total_seconds()
                self.metrics.lateness.observe(max(0.0, late))
            if logged:
                log.info(
                    "dispatch",
                    extra={
                        "dataId": str(record.data_id),
                        "campaignId": record.campaign_id,
                        "attemptNo": record.attempt_no,
                        "workNo": keep,
                        "gateway": gateway.name,
                    },
                )
        if claimed.listed is None:
            screen = frozenset(t.called for t in tasks)
        else:
            screen = frozenset(t.called for t in tasks if t.data_id in claimed.listed)
        return _Claimed(tasks, len(rows) >= claimed.limit, screen)

    async def _hand_off(
        self,
        campaign: DialingCampaign,
        gateway: Gateway,
        tasks: list[CallTask],
        screen: frozenset[str],
        now: datetime,
    ) -> int:
        """Check the blocklist, then give the rest to the gateway; returns how many it got.

        Only ``screen``'s numbers are checked: the claim found no unexpired
        blocklist entry for the others (``dispatch.CampaignClaim.listed``), and
        a number without one is never blocked.
        """
        barred = await blocklist.blocked_numbers(self.engine, campaign.vdn_id, screen, now)
        if barred:  # blocked since the record was added: not called, recorded as BLOCKED
            blocked = [t for t in tasks if t.called in barred]
            tasks = [t for t in tasks if t.called not in barred]
            await self.report(
                [
                    AttemptReport(t.vdn_id, t.data_id, t.attempt_no, BLOCKED, end_time=now)
                    for t in blocked
                ]
            )
        self.metrics.dispatches.labels(gateway.name).inc(len(tasks))
        if tasks:
            await gateway.dispatch(campaign, tasks)
        return len(tasks)

    async def _recover(self, now: datetime) -> None:
        async with self._reading() as conn:
            expired = await dispatch.expired_leases(conn, now, self.settings.claim_batch)
        if not expired:
            return
        reports = [
            AttemptReport(r.vdn_id, r.data_id, r.attempt_no, dialing.NO_RESULT, end_time=now)
            for r in expired
        ]
        applied = await self.report(reports)
        recovered = sum(1 for a in applied if a.applied)
        self.metrics.recovered.inc(recovered)
        if recovered:
            log.warning("recovered attempts without outcome", extra={"count": recovered})

    async def _housekeeping(self, now: datetime) -> None:
        async with transaction(self.engine) as conn:
            overdue = await dispatch.complete_overdue_results(conn, now, 10_000)
            ended = await dispatch.complete_ended_campaigns(conn, now, 10_000)
        self._last_housekeeping = time.monotonic()
        if overdue or ended:
            log.info("records completed", extra={"noWriteBack": overdue, "campaignEnded": ended})
