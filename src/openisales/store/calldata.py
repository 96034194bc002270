"""SQL for outbound call data (``t_isl_data``) and its results (``t_isl_data_result``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.domain.calldata import DataStatus, NewRecord
from openisales.store.sql import reading
from openisales.store.tables import campaign, data


@dataclass(frozen=True)
class CampaignState:
    status: int
    end_time: datetime
    last_calldata_at: datetime | None = None  # the last successful add-call-data call


async def campaign_state(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, *, lock: bool = False
) -> CampaignState | None:
    """The campaign's status, end and last add; ``lock`` serialises writers of its call data.

    Locked (PostgreSQL: ``FOR UPDATE``; SQLite has one writer), the read sees
    the last add committed by any process, which is what makes the add interval
    hold across processes.
    """
    stmt = sa.select(campaign.c.status, campaign.c.end_time, campaign.c.last_calldata_at).where(
        campaign.c.vdn_id == vdn_id, campaign.c.campaign_id == campaign_id
    )
    if lock:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    return CampaignState(row.status, row.end_time, row.last_calldata_at) if row else None


async def mark_added(conn: AsyncConnection, vdn_id: int, campaign_id: int, now: datetime) -> None:
    """Record a successful add-call-data call (in its transaction, the campaign row locked)."""
    await conn.execute(
        sa.update(campaign)
        .where(campaign.c.vdn_id == vdn_id, campaign.c.campaign_id == campaign_id)
        .values(last_calldata_at=now)
    )


async def count_unfinished(conn: AsyncConnection, vdn_id: int, campaign_id: int) -> int:
    stmt = sa.select(sa.func.count()).where(
        data.c.vdn_id == vdn_id,
        data.c.campaign_id == campaign_id,
        data.c.status != int(DataStatus.COMPLETED),
    )
    return int((await conn.execute(stmt)).scalar_one())


async def insert(
    conn: AsyncConnection,
    vdn_id: int,
    campaign_id: int,
    records: list[tuple[int, NewRecord]],
    now: datetime,
) -> None:
    await conn.execute(
        sa.insert(data),
        [
            {
                "vdn_id": vdn_id,
                "data_id": data_id,
                "campaign_id": campaign_id,
                "session_id": r.session_id,
                "custom_field": r.custom_field,
                "batch_id": r.batch_id,
                "caller": r.caller,
                "call_data": r.call_data,
                "recycle_time": r.recycle_time,
                "called_nos": json.dumps([n.wire() for n in r.numbers], separators=(",", ":")),
                "next_index": 0,
                "attempt_index": 0,
                "status": int(DataStatus.WAITING),
                "attempt_no": 0,
                "next_call_time": now,  # due at once, first come first served
                "priority": 1,
                "created_at": now,
                "updated_at": now,
            }
            for data_id, r in records
        ],
    )


async def get(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, data_id: int
) -> sa.Row[Any] | None:
    stmt = sa.select(data).where(
        data.c.vdn_id == vdn_id, data.c.campaign_id == campaign_id, data.c.data_id == data_id
    )
    return (await conn.execute(stmt)).first()


async def analyze(engine: AsyncEngine) -> None:
    """Refresh PostgreSQL's statistics of ``t_isl_data`` (after a bulk load)."""
    async with reading(engine) as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("ANALYZE t_isl_data")
