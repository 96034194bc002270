"""SQL for outbound call data (``t_isl_data``) and its results (``t_isl_data_result``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.domain.calldata import DataStatus, NewRecord
from openisales.domain.writeback import Outcome
from openisales.store import outbox
from openisales.store.sql import reading
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


# Write-back statements are built once: constructing SQLAlchemy statements per
# request cost more CPU than executing them.
_LOCK_FOR_WRITEBACK = (
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
    .where(data.c.vdn_id == sa.bindparam("k_vdn"), data.c.data_id == sa.bindparam("k_data"))
    .with_for_update(of=data)
)


async def lock_for_writeback(
    conn: AsyncConnection, vdn_id: int, data_id: int
) -> sa.Row[Any] | None:
    """The record and its campaign's busiPolicy, the record locked until commit."""
    return (await conn.execute(_LOCK_FOR_WRITEBACK, {"k_vdn": vdn_id, "k_data": data_id})).first()


@dataclass(frozen=True)
class WriteBack:
    """A write-back's ``t_isl_data_result`` row; its field names are the column names."""

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


_INSERT_RESULT = sa.insert(data_result)
_BUSI_VALUES: dict[str, Any] = {
    "busi_result": sa.bindparam("v_busi_result"),
    "sub_status": sa.bindparam("v_sub_status"),
    "busi_result_desc": sa.bindparam("v_busi_result_desc"),
    "work_no": sa.bindparam("v_work_no"),
    "busi_write_time": sa.bindparam("v_now"),
    "busi_attempt_no": sa.bindparam("v_attempt_no"),
    "updated_at": sa.bindparam("v_now"),
}
_KEY = sa.and_(data.c.vdn_id == sa.bindparam("k_vdn"), data.c.data_id == sa.bindparam("k_data"))
_UPDATE_BUSI = sa.update(data).where(_KEY).values(**_BUSI_VALUES)
_UPDATE_BUSI_AND_SCHEDULE = (
    sa.update(data)
    .where(_KEY)
    .values(
        **_BUSI_VALUES,
        status=sa.bindparam("v_status"),
        next_index=sa.bindparam("v_next_index"),
        next_call_time=sa.bindparam("v_next_call_time"),
        priority=0,
        reserved_work_no=sa.bindparam("v_reserved_work_no"),
        completed_at=sa.bindparam("v_completed_at"),
        complete_reason=sa.bindparam("v_complete_reason"),
    )
)


_RESULT_COLUMNS = (
    "vdn_id",
    "result_id",
    "data_id",
    "campaign_id",
    "kind",
    "attempt_no",
    "called",
    "busi_result",
    "sub_status",
    "busi_result_desc",
    "work_no",
    "created_at",
)


def _combined(update: Any) -> Any:
    """``WITH r AS (INSERT result) UPDATE data``: one round trip on PostgreSQL."""
    insert = sa.insert(data_result).values({c: sa.bindparam(f"r_{c}") for c in _RESULT_COLUMNS})
    return update.add_cte(insert.cte("r"))


_COMBINED_BUSI = _combined(_UPDATE_BUSI)
_COMBINED_BUSI_AND_SCHEDULE = _combined(_UPDATE_BUSI_AND_SCHEDULE)


def schedule_values(outcome: Outcome, now: datetime) -> dict[str, Any]:
    """The record's new schedule after a write-back that may reschedule it."""
    return {
        "status": int(outcome.status),
        "next_index": outcome.next_index,
        "next_call_time": outcome.next_call_time,
        "reserved_work_no": outcome.reserved_work_no,
        "completed_at": now if outcome.completed else None,
        "complete_reason": "business-result" if outcome.completed else None,
    }


async def record_writeback(
    conn: AsyncConnection, wb: WriteBack, outcome: Outcome, now: datetime
) -> None:
    """History row plus the record's new state, in the caller's transaction."""
    params: dict[str, Any] = {
        **vars(wb),
        "kind": "busi",
        "created_at": now,
        "k_vdn": wb.vdn_id,
        "k_data": wb.data_id,
        "v_busi_result": wb.busi_result,
        "v_sub_status": wb.sub_status,
        "v_busi_result_desc": wb.busi_result_desc,
        "v_work_no": wb.work_no,
        "v_now": now,
        "v_attempt_no": wb.attempt_no,
    }
    if outcome.reschedule:
        params.update({f"v_{k}": v for k, v in schedule_values(outcome, now).items()})
    if conn.dialect.name == "postgresql":
        combined = _COMBINED_BUSI_AND_SCHEDULE if outcome.reschedule else _COMBINED_BUSI
        params.update({f"r_{c}": params[c] for c in _RESULT_COLUMNS})
        await conn.execute(combined, params)
    else:  # SQLite has no data-modifying CTEs
        await conn.execute(_INSERT_RESULT, params)
        update = _UPDATE_BUSI_AND_SCHEDULE if outcome.reschedule else _UPDATE_BUSI
        await conn.execute(update, params)
    if outcome.reschedule and outcome.completed:
        await outbox.enqueue_completed(conn, wb.vdn_id, [wb.data_id], now)


async def analyze(engine: AsyncEngine) -> None:
    """Refresh PostgreSQL's statistics of ``t_isl_data`` (after a bulk load)."""
    async with reading(engine) as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("ANALYZE t_isl_data")
