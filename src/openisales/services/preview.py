"""Preview mode: an agent pulls its own due record (one reserved for it)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.domain import window
from openisales.store import dispatch, holidays
from openisales.store.sql import reading, transaction


async def pull(
    engine: AsyncEngine,
    *,
    vdn_id: int,
    work_no: str,
    campaign_id: int | None,
    now: datetime,
    lease_s: int,
) -> dict[str, Any] | None:
    """Claim the earliest due record reserved for ``work_no`` and return its call task.

    Only running campaigns inside their time window are considered. The
    claim holds a lease of ``lease_s`` seconds; the agent's CTI reports the
    outcome through ``attemptResult``. None when nothing is due.
    """
    async with reading(engine) as conn:
        campaigns = [
            c
            for c in await dispatch.running_campaigns(conn, now)
            if c.vdn_id == vdn_id and campaign_id in (None, c.campaign_id)
        ]
        days = await holidays.holiday_set(conn, vdn_id) if campaigns else frozenset()
    for campaign in campaigns:
        tz = campaign.tz
        if campaign.window is None or not window.is_open(
            campaign.window, begin=campaign.begin, end=campaign.end, tz=tz, holidays=days, now=now
        ):
            continue
        async with transaction(engine) as conn:
            if not await dispatch.lock_campaign(conn, vdn_id, campaign.campaign_id):
                continue
            rows = await dispatch.claim(
                conn,
                vdn_id=vdn_id,
                campaign_id=campaign.campaign_id,
                worker=f"agent-{work_no}",
                limit=1,
                now=now,
                lease_until=now + timedelta(seconds=lease_s),
                today=now.astimezone(tz).date().isoformat(),
                agents=None,
                fallback_before=None,
                reserved_for=work_no,
            )
        if rows:
            record, claim = rows[0].record, rows[0]
            return {
                "attemptId": f"{record.data_id}:{record.attempt_no}",
                "campaignId": record.campaign_id,
                "dataId": str(record.data_id),
                "attemptNo": record.attempt_no,
                "called": record.numbers[record.attempt_index].called_no,
                "calledNos": [n.wire() for n in record.numbers],
                "callData": claim.call_data,
                "workNo": work_no,
            }
    return None
