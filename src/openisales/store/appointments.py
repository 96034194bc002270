"""SQL for reserved calls (``t_isl_appointment``) and the call-data records that dial them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.appointment import AppointStatus, NewAppointment, Search
from openisales.domain.calldata import DataStatus
from openisales.store import outbox
from openisales.store.results import call_time, end_time, of_last_attempt
from openisales.store.tables import appointment as t, campaign, data

WAITING = int(DataStatus.WAITING)


async def insert(
    conn: AsyncConnection,
    vdn_id: int,
    appoint_id: int,
    data_id: int,
    new: NewAppointment,
    now: datetime,
) -> None:
    await conn.execute(
        sa.insert(t).values(
            vdn_id=vdn_id,
            appoint_id=appoint_id,
            campaign_id=new.campaign_id,
            call_type=new.call_type,
            called_no=new.called_no,
            work_no=new.work_no,
            user_account=new.user_account,
            appoint_time=new.appoint_time,
            call_data=new.call_data,
            remark=new.remark,
            status=int(AppointStatus.PENDING),
            data_id=data_id,
            created_at=now,
            updated_at=now,
        )
    )


async def schedule_record(
    conn: AsyncConnection,
    vdn_id: int,
    data_id: int,
    *,
    due: datetime | None,
    reserved_work_no: str | None,
    now: datetime,
) -> bool:
    """Set a waiting record's reservation and due time (None: keep it); False if not waiting."""
    values: dict[str, Any] = {"reserved_work_no": reserved_work_no, "updated_at": now}
    if due is not None:
        values["next_call_time"] = due
        values["priority"] = 0
    result = await conn.execute(
        sa.update(data)
        .where(data.c.vdn_id == vdn_id, data.c.data_id == data_id, data.c.status == WAITING)
        .values(**values)
    )
    return bool(result.rowcount)


async def lock(conn: AsyncConnection, vdn_id: int, appoint_id: int) -> sa.Row[Any] | None:
    """The appointment, locked until commit (PostgreSQL)."""
    stmt = sa.select(t).where(t.c.vdn_id == vdn_id, t.c.appoint_id == appoint_id).with_for_update()
    return (await conn.execute(stmt)).first()


async def lock_record(conn: AsyncConnection, vdn_id: int, data_id: int | None) -> int | None:
    """The linked record's status, the record locked until commit; None when it is gone."""
    if data_id is None:
        return None
    stmt = (
        sa.select(data.c.status)
        .where(data.c.vdn_id == vdn_id, data.c.data_id == data_id)
        .with_for_update()
    )
    status = (await conn.execute(stmt)).scalar()
    return None if status is None else int(status)


async def update(
    conn: AsyncConnection, vdn_id: int, appoint_id: int, values: dict[str, Any], now: datetime
) -> None:
    await conn.execute(
        sa.update(t)
        .where(t.c.vdn_id == vdn_id, t.c.appoint_id == appoint_id)
        .values(**values, updated_at=now)
    )


async def complete_waiting_record(
    conn: AsyncConnection, vdn_id: int, data_id: int, now: datetime
) -> bool:
    """Complete the record if it still waits (reason ``appointment``) and queue its push."""
    result = await conn.execute(
        sa.update(data)
        .where(data.c.vdn_id == vdn_id, data.c.data_id == data_id, data.c.status == WAITING)
        .values(
            status=int(DataStatus.COMPLETED),
            complete_reason="appointment",
            completed_at=now,
            next_call_time=None,
            reserved_work_no=None,
            updated_at=now,
        )
    )
    if not result.rowcount:
        return False
    await outbox.enqueue_completed(conn, vdn_id, [data_id], now)
    return True


_LISTED = (
    t,
    campaign.c.name.label("task_name"),
    campaign.c.status.label("task_status"),
    campaign.c.end_time.label("task_end"),
    data.c.status.label("data_status"),
    data.c.attempt_no.label("data_attempt_no"),
    data.c.last_fail_code.label("data_fail_code"),
    data.c.last_call_id.label("data_call_id"),
    data.c.busi_result.label("data_busi_result"),
    data.c.sub_status.label("data_sub_status"),
    # the call of the linked record's last attempt: began (rang) and ended
    of_last_attempt(call_time, t.c.vdn_id, t.c.data_id).label("call_begin"),
    of_last_attempt(end_time, t.c.vdn_id, t.c.data_id).label("call_end"),
)


def _filters(vdn_id: int, search: Search) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [t.c.vdn_id == vdn_id]
    if search.called_no is not None:
        where.append(t.c.called_no == search.called_no)
    if search.user_accounts:
        where.append(t.c.user_account.in_(search.user_accounts))
    if search.work_nos:
        where.append(t.c.work_no.in_(search.work_nos))
    if search.begin is not None:
        where.append(t.c.appoint_time >= search.begin)
    if search.end is not None:
        where.append(t.c.appoint_time <= search.end)
    if search.campaign_id is not None:
        where.append(t.c.campaign_id == search.campaign_id)
    return where


async def search(
    conn: AsyncConnection, vdn_id: int, search: Search
) -> tuple[int, list[sa.Row[Any]]]:
    """``(total, page)``: appointments with their campaign and linked record (if any)."""
    where = _filters(vdn_id, search)
    total = (await conn.execute(sa.select(sa.func.count()).select_from(t).where(*where))).scalar()
    joined = t.outerjoin(
        campaign,
        sa.and_(campaign.c.vdn_id == t.c.vdn_id, campaign.c.campaign_id == t.c.campaign_id),
    ).outerjoin(data, sa.and_(data.c.vdn_id == t.c.vdn_id, data.c.data_id == t.c.data_id))
    rows = await conn.execute(
        sa.select(*_LISTED)
        .select_from(joined)
        .where(*where)
        .order_by(t.c.appoint_time, t.c.appoint_id)
        .limit(search.limit)
        .offset(search.offset)
    )
    return int(total or 0), list(rows)
