"""Campaigns at work, as the console shows them (docs/console.md, "Overview").

Two reads, because they cost very different amounts: a campaign's state
(:func:`states`: its status and calling window, one row each, always read
live) and its counts (:func:`counts`: records by status, the retry queue,
the last hour's attempts, failed pushes — on a campaign of a million records,
hundreds of milliseconds), which the console may keep for a few seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.domain import window
from openisales.domain.calldata import DataStatus
from openisales.domain.campaign import Campaign, CampaignStatus, effective_status
from openisales.services.holidays import calendar
from openisales.store import activity, campaigns
from openisales.store.sql import reading

RECENT = timedelta(hours=1)


@dataclass(frozen=True)
class State:
    campaign: Campaign
    status: CampaignStatus  # effective: expired once past its end
    open_now: bool
    next_open: datetime | None  # None: open now, or never again


@dataclass(frozen=True)
class Counts:
    by_status: dict[DataStatus, int]
    retry_queue: int
    attempts_last_hour: int
    answered_last_hour: int
    failed_pushes: int

    @property
    def records(self) -> int:
        return sum(self.by_status.values())

    @property
    def completion(self) -> float:
        """Completed records as a share of all (0.0 for an empty campaign)."""
        total = self.records
        return self.by_status.get(DataStatus.COMPLETED, 0) / total if total else 0.0

    @property
    def answer_rate(self) -> float | None:
        if not self.attempts_last_hour:
            return None
        return self.answered_last_hour / self.attempts_last_hour


NO_COUNTS = Counts({}, 0, 0, 0, 0)


async def states(
    engine: AsyncEngine, vdn_id: int, now: datetime, campaign_ids: Sequence[int] | None = None
) -> list[State]:
    """Every campaign of the VDN (or the ones named), in creation order, with its window."""
    async with reading(engine) as conn:
        cal = await calendar(conn, vdn_id)
        found = await campaigns.all_of(conn, vdn_id)
    if campaign_ids is not None:
        found = [c for c in found if c.campaign_id in campaign_ids]
    out = []
    for c in found:
        status = CampaignStatus(effective_status(c.status, c.fields.end, now))
        f = c.fields
        is_open = status is CampaignStatus.RUNNING and window.is_open(
            f.schedule, begin=f.begin, end=f.end, tz=cal.tz, holidays=cal.holidays, now=now
        )
        later = None
        if not is_open and status is not CampaignStatus.EXPIRED:
            later = window.next_open(
                f.schedule, begin=f.begin, end=f.end, tz=cal.tz, holidays=cal.holidays, now=now
            )
        out.append(State(c, status, is_open, later))
    return out


async def counts(
    engine: AsyncEngine, vdn_id: int, campaign_ids: Sequence[int], now: datetime
) -> dict[int, Counts]:
    ids = list(campaign_ids)
    async with reading(engine) as conn:
        by_status = await activity.status_counts(conn, vdn_id, ids)
        queue = await activity.retry_queue_sizes(conn, vdn_id, ids)
        recent = await activity.recent_attempts(conn, vdn_id, ids, now - RECENT)
        pushes = await activity.failed_pushes(conn, vdn_id, ids)
    return {
        i: Counts(
            by_status={DataStatus(s): n for s, n in by_status[i].items()},
            retry_queue=queue[i],
            attempts_last_hour=recent[i][0],
            answered_last_hour=recent[i][1],
            failed_pushes=pushes[i],
        )
        for i in ids
    }
