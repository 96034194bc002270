"""The dispatcher: claims due call data and hands it to gateways, durably.

Each ``tick``: recover attempts whose lease expired (counted as failed with
``34608``), complete answered records whose write-back never came and open
records of ended campaigns, then for every running campaign inside its time
window claim due records up to its concurrency cap and dispatch them. All
state lives in the database, so any number of dispatchers may run against one
PostgreSQL database, and a restarted one simply carries on.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.clock import Clock
from openisales.dialing.gateways.base import CallTask, Gateway
from openisales.dialing.rounds import run_rounds
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
    poll_interval_s: float = 0.2
    housekeeping_s: float = 5.0
    timing: DialerTiming = field(default_factory=DialerTiming)
    default_gateway: str = ""


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
        self._holidays: dict[int, tuple[float, frozenset[date]]] = {}
        self._last_housekeeping = float("-inf")

    async def report(self, reports: list[AttemptReport]) -> list[dialing.Applied]:
        """Apply attempt outcomes (the gateways' reporter)."""
        applied = await dialing.record_attempts(
            self.engine,
            self.ids,
            reports,
            now=self.clock.now(),
            timing=self.settings.timing,
            displays=self.displays,
        )
        for item in applied:
            if item.applied:
                self.metrics.attempts.labels(item.report.fail_code).inc()
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
        """One round; returns the number of calls dispatched."""
        now = self.clock.now()
        await self._recover(now)
        if time.monotonic() - self._last_housekeeping >= self.settings.housekeeping_s:
            await self._housekeeping(now)
        async with reading(self.engine) as conn:
            campaigns = await dispatch.running_campaigns(conn, now)
        total = 0
        for campaign in campaigns:
            gateway = self.gateways.get(campaign.gateway or self.settings.default_gateway)
            if gateway is None or not await self._in_window(campaign, now):
                continue
            total += await self._dispatch(campaign, gateway, now)
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; a failing round is logged and retried."""
        await run_rounds(
            self.tick,
            stop,
            idle_s=self.settings.poll_interval_s,
            name="dispatcher",
            worker_id=self.worker_id,
            log=log,
        )

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
        async with reading(self.engine) as conn:
            days = await holidays.holiday_set(conn, vdn_id)
        self._holidays[vdn_id] = (stamp, days)
        return days

    async def _dispatch(self, campaign: DialingCampaign, gateway: Gateway, now: datetime) -> int:
        agents = gateway.agents(campaign)
        fallback = self.settings.reservation_fallback_s
        today = now.astimezone(campaign.tz).date().isoformat()
        async with transaction(self.engine) as conn:
            if not await dispatch.lock_campaign(conn, campaign.vdn_id, campaign.campaign_id):
                return 0
            cap = campaign.max_concurrency or self.settings.default_concurrency
            free = cap - await dispatch.count_calling(conn, campaign.vdn_id, campaign.campaign_id)
            if free <= 0:
                return 0
            rows = await dispatch.claim(
                conn,
                vdn_id=campaign.vdn_id,
                campaign_id=campaign.campaign_id,
                worker=self.worker_id,
                limit=min(free, self.settings.claim_batch),
                now=now,
                lease_until=now + timedelta(seconds=self.settings.lease_s),
                today=today,
                agents=agents,
                fallback_before=now - timedelta(seconds=fallback) if fallback is not None else None,
            )
        if not rows:
            return 0
        tasks = []
        for claim in rows:
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
        barred = await blocklist.blocked_numbers(
            self.engine, campaign.vdn_id, {t.called for t in tasks}, now
        )
        if barred:  # blocked since the record was added: not called, recorded as BLOCKED
            blocked = [t for t in tasks if t.called in barred]
            tasks = [t for t in tasks if t.called not in barred]
            await self.report(
                [
                    AttemptReport(t.vdn_id, t.data_id, t.attempt_no, BLOCKED, end_time=now)
                    for t in blocked
                ]
            )
        self.metrics.claims.inc(len(rows))
        self.metrics.dispatches.labels(gateway.name).inc(len(tasks))
        if tasks:
            await gateway.dispatch(campaign, tasks)
        return len(tasks)

    async def _recover(self, now: datetime) -> None:
        async with reading(self.engine) as conn:
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
