"""SQL for outbound call data (``t_isl_data``) and its results (``t_isl_data_result``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.calldata import DataStatus, NewRecord
from openisales.domain.writeback import Outcome
from openisales.store import outbox
from openisales.store.tables import campaign, data, data_result


@dataclass(frozen=True)
class CampaignState:
    status: int
    end_time: datetime


async def campaign_state(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, *, lock: bool = False
) -> CampaignState | None:
    """The campaign's status and end; ``lock`` serialises writers of its call data (PG)."""
    stmt = sa.select(campaign.c.status, campaign.c.end_time).where(
        campaign.c.vdn_id == vdn_id, campaign.c.campaign_id == campaign_id
    )
    if lock:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    return CampaignState(row.status, row.end_time) if row else None


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
                "caller": r.caller,
                "call_data": r.call_data,
                "recycle_time": r.recycle_time,
                "called_nos": json.dumps([n.wire() for n in r.numbers], separators=(",", ":")),
                "next_index": 0,
                "attempt_index": 0,
                "status": int(DataStatus.WAITING),
                "attempt_no": 0,
                "next_call_time": now,  # due at once, first come first served
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


_WRITEBACK_COLUMNS = (
    data.c.campaign_id,
    data.c.status,
    data.c.attempt_no,
    data.c.attempt_index,
    data.c.called_nos,
    data.c.busi_attempt_no,
    campaign.c.busi_policy,
    campaign.c.call_policy,
)


async def lock_for_writeback(
    conn: AsyncConnection, vdn_id: int, data_id: int
) -> sa.Row[Any] | None:
    """The record and its campaign's busiPolicy, the record locked until commit."""
    stmt = (
        sa.select(*_WRITEBACK_COLUMNS)
        .select_from(
            data.join(
                campaign,
                sa.and_(
                    campaign.c.vdn_id == data.c.vdn_id,
                    campaign.c.campaign_id == data.c.campaign_id,
                ),
            )
        )
        .where(data.c.vdn_id == vdn_id, data.c.data_id == data_id)
        .with_for_update(of=data)
    )
    return (await conn.execute(stmt)).first()


@dataclass(frozen=True)
class WriteBack:
    result_id: int
    vdn_id: int
    data_id: int
    campaign_id: int
    attempt_no: int
    called: str | None
    busi_result: str
    sub_status: str | None
    busi_result_desc: str | None
    work_no: str | None


async def record_writeback(
    conn: AsyncConnection, wb: WriteBack, outcome: Outcome, now: datetime
) -> None:
    """History row plus the record's new state, in the caller's transaction."""
    await conn.execute(
        sa.insert(data_result).values(
            vdn_id=wb.vdn_id,
            result_id=wb.result_id,
            data_id=wb.data_id,
            campaign_id=wb.campaign_id,
            kind="busi",
            attempt_no=wb.attempt_no,
            called=wb.called,
            busi_result=wb.busi_result,
            sub_status=wb.sub_status,
            busi_result_desc=wb.busi_result_desc,
            work_no=wb.work_no,
            created_at=now,
        )
    )
    values: dict[str, Any] = {
        "busi_result": wb.busi_result,
        "sub_status": wb.sub_status,
        "busi_result_desc": wb.busi_result_desc,
        "work_no": wb.work_no,
        "busi_write_time": now,
        "busi_attempt_no": wb.attempt_no,
        "updated_at": now,
    }
    if outcome.reschedule:
        values.update(
            status=int(outcome.status),
            next_index=outcome.next_index,
            next_call_time=outcome.next_call_time,
            reserved_work_no=outcome.reserved_work_no,
            completed_at=now if outcome.completed else None,
            complete_reason="business-result" if outcome.completed else None,
        )
    await conn.execute(
        sa.update(data)
        .where(data.c.vdn_id == wb.vdn_id, data.c.data_id == wb.data_id)
        .values(**values)
    )
    if outcome.reschedule and outcome.completed:
        await outbox.enqueue_completed(conn, wb.vdn_id, [wb.data_id], now)
