"""Campaigns at work, as the console's overview shows them (docs/console.md, "Overview")."""

from __future__ import annotations

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
class Figures:
    campaign: Campaign
    status: CampaignStatus  # effective: expired once past its end
    open_now: bool
    next_open: datetime | None  # None: open now, or never again
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


async def overview(
    engine: AsyncEngine, vdn_id: int, now: datetime, campaign_ids: list[int] | None = None
) -> list[Figures]:
    """Every campaign of the VDN (or the ones named) with its live figures."""
    async with reading(engine) as conn:
        cal = await calendar(conn, vdn_id)
        found = await campaigns.all_of(conn, vdn_id)
        if campaign_ids is not None:
            found = [c for c in found if c.campaign_id in campaign_ids]
        ids = [c.campaign_id for c in found]
        counts = await activity.status_counts(conn, vdn_id, ids)
        queue = await activity.retry_queue_sizes(conn, vdn_id, ids)
        recent = await activity.recent_attempts(conn, vdn_id, ids, now - RECENT)
        pushes = await activity.failed_pushes(conn, vdn_id, ids)
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
        out.append(
            Figures(
                campaign=c,
                status=status,
                open_now=is_open,
                next_open=later,
                by_status={DataStatus(s): n for s, n in counts[c.campaign_id].items()},
                retry_queue=queue[c.campaign_id],
                attempts_last_hour=recent[c.campaign_id][0],
                answered_last_hour=recent[c.campaign_id][1],
                failed_pushes=pushes[c.campaign_id],
            )
        )
    return out
