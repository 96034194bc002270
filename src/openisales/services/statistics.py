"""Campaign statistics (spec 2.3) and failure-category statistics (spec 2.1).

Computed on request from ``t_isl_data`` and ``t_isl_data_result`` in one
read; the VDN-local day boundaries are computed here and passed to SQL as
UTC instants. Definitions: ``docs/results.md``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.domain.results import day_start, local_day
from openisales.domain.statistics import count_detail, fail_range
from openisales.errors import NotFound
from openisales.store import calldata as calldata_store, results as results_store, statistics
from openisales.store.sql import reading


async def _check_campaign(conn: AsyncConnection, vdn_id: int, campaign_id: int) -> None:
    if await calldata_store.campaign_state(conn, vdn_id, campaign_id) is None:
        raise NotFound(f"campaignId: campaign {campaign_id} does not exist")


async def campaign_statistics(
    engine: AsyncEngine, *, vdn_id: int, campaign_id: int, batch_id: str | None, now: datetime
) -> dict[str, Any]:
    """``{"countDetail": [one entry]}``; ``0200007`` when the campaign is not in the VDN."""
    async with reading(engine) as conn:
        await _check_campaign(conn, vdn_id, campaign_id)
        tz = await results_store.vdn_zone(conn, vdn_id)
        today = local_day(now, tz)
        bounds = (day_start(today, tz), day_start(today + timedelta(days=1), tz))
        records = await statistics.record_counts(conn, vdn_id, campaign_id, bounds)
        attempts = await statistics.attempt_counts(conn, vdn_id, campaign_id, bounds)
    return {"countDetail": [count_detail(campaign_id, records, attempts, batch_id)]}


async def fail_categories(
    engine: AsyncEngine,
    *,
    vdn_id: int,
    campaign_id: int,
    start: str | None,
    end: str | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """``data[{statDate, failData{failCode: count}}]`` for the VDN-local days with attempts.

    The date checks come first (codes ``0200008``..``0200011``), then ``0200007``.
    """
    async with reading(engine) as conn:
        tz = await results_store.vdn_zone(conn, vdn_id)
        days = fail_range(start, end, local_day(now, tz)).days()
        await _check_campaign(conn, vdn_id, campaign_id)
        bounds = [(d, day_start(d, tz), day_start(d + timedelta(days=1), tz)) for d in days]
        counts = await statistics.fail_counts(conn, vdn_id, campaign_id, bounds)
    by_day: dict[str, dict[str, int]] = {}
    for stat_date, fail_code, n in counts:
        by_day.setdefault(stat_date, {})[fail_code] = n
    return [{"statDate": d, "failData": f} for d, f in sorted(by_day.items())]
