"""Reserved (appointment) calls (spec 2.9): create, update, record a result, list.

Each appointment owns one call-data record of its campaign, created in the
same transaction, which the dispatcher (or the agent's preview pull) dials
like any other. Progress is derived from that record when listed
(``domain.appointment.progress``); only a manual appointment's result, which
its agent reports, is written to the appointment.

Each change appends an audit entry (``services.audit``) in its own
transaction: ``appointment.create``, ``appointment.modify`` and
``appointment.result``, on the target ``appointment N``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.domain import appointment as rules
from openisales.domain.appointment import AppointStatus, Change, NewAppointment, Result, Search
from openisales.domain.calldata import NewRecord, Number
from openisales.domain.campaign import effective_status
from openisales.errors import Conflict
from openisales.services import audit, blocklist, calldata as calldata_service
from openisales.services.audit import Actor
from openisales.store import appointments as store, calldata
from openisales.store.ids import IdAllocator, compose
from openisales.store.sql import reading, transaction


async def create(
    engine: AsyncEngine,
    ids: IdAllocator,
    *,
    vdn_id: int,
    new: NewAppointment,
    max_unfinished: int,
    now: datetime,
    actor: Actor,
) -> int:
    """Store the appointment and the record that dials it; returns the appointId.

    Raises ``0200007`` when the campaign is not in the VDN, ``0200019`` when it
    has expired, ``02000007`` when ``appointTime`` is not before its end,
    ``0200024`` when ``calledNo`` is blocklisted and ``0200020`` when the
    campaign already holds ``max_unfinished`` unfinished records.
    """
    appoint_id = compose(vdn_id, (await ids.take(vdn_id, "appoint"))[0])
    data_id = compose(vdn_id, (await ids.take(vdn_id, "data"))[0])
    record = NewRecord(
        numbers=(Number(new.called_no, None),),
        session_id=None,
        caller=None,
        custom_field=None,
        call_data=new.call_data,
        recycle_time=None,
    )
    async with transaction(engine) as conn:
        state = await calldata_service.open_campaign(
            conn,
            vdn_id,
            new.campaign_id,
            now,
            lock=True,
            field="taskId",
            refused="no appointment can be added",
        )
        rules.check_within_campaign(new.appoint_time, state.end_time)
        if await blocklist.blocked(conn, vdn_id, [new.called_no], now):
            raise Conflict(f"calledNo: {new.called_no} is blocklisted", result_code="0200024")
        if await calldata.count_unfinished(conn, vdn_id, new.campaign_id) >= max_unfinished:
            raise Conflict(
                f"taskId: the campaign already holds {max_unfinished} unfinished records",
                result_code="0200020",
            )
        await calldata.insert(conn, vdn_id, new.campaign_id, [(data_id, record)], now)
        await store.schedule_record(
            conn, vdn_id, data_id, due=new.due, reserved_work_no=new.reserved_for, now=now
        )
        await store.insert(conn, vdn_id, appoint_id, data_id, new, now)
        await audit.record(
            conn,
            actor,
            "appointment.create",
            vdn_id=vdn_id,
            target=_target(appoint_id),
            now=now,
            after={
                "campaignId": new.campaign_id,
                "callType": new.call_type,
                "calledNo": new.called_no,
                "appointTime": new.appoint_time,
                "workNo": new.work_no,
                "userAccount": new.user_account,
                "remark": new.remark,
                "dataId": data_id,
            },
        )
    return appoint_id


def _target(appoint_id: int) -> str:
    return f"appointment {appoint_id}"


_MOVABLE = ("appoint_time", "work_no", "user_account", "remark")


def _camel(values: dict[str, Any]) -> dict[str, Any]:
    """Column names as the API spells them (``appoint_time`` -> ``appointTime``)."""
    out = {}
    for name, value in values.items():
        head, *rest = name.split("_")
        out[head + "".join(part.title() for part in rest)] = value
    return out


def _fields(row: sa.Row[Any], names: Iterable[str]) -> dict[str, Any]:
    """The appointment row's ``names``, as the audit log keeps them."""
    return _camel({name: getattr(row, name) for name in names})


async def update(
    engine: AsyncEngine, *, vdn_id: int, change: Change, now: datetime, actor: Actor
) -> None:
    """Move a manual appointment (time, agent, remark) while its record still waits."""
    if change.appoint_id is None:
        raise rules.not_found(change.appoint_id)
    async with transaction(engine) as conn:
        row = await store.lock(conn, vdn_id, change.appoint_id)
        if row is None:
            raise rules.not_found(change.appoint_id)
        rules.check_manual(row.call_type, "be updated")
        record_status = await store.lock_record(conn, vdn_id, row.data_id)
        rules.check_movable(row.status, record_status)
        appoint_time = change.appoint_time or row.appoint_time
        work_no = change.work_no or row.work_no
        if change.appoint_time is not None:
            state = await calldata.campaign_state(conn, vdn_id, row.campaign_id)
            if state is not None:
                rules.check_within_campaign(appoint_time, state.end_time)
        values: dict[str, Any] = {"appoint_time": appoint_time, "work_no": work_no}
        if change.user_account is not None:
            values["user_account"] = change.user_account
        if change.remark is not None:
            values["remark"] = change.remark
        await store.update(conn, vdn_id, row.appoint_id, values, now)
        # A remark or agent change keeps the due time (a pending retry stays put).
        due = None if change.appoint_time is None else rules.due_time(row.call_type, appoint_time)
        await store.schedule_record(
            conn, vdn_id, row.data_id, due=due, reserved_work_no=work_no, now=now
        )
        await audit.record(
            conn,
            actor,
            "appointment.modify",
            vdn_id=vdn_id,
            target=_target(row.appoint_id),
            now=now,
            before=_fields(row, _MOVABLE),
            after=_fields(row, _MOVABLE) | _camel(values),
        )


async def record_result(
    engine: AsyncEngine, *, vdn_id: int, result: Result, now: datetime, actor: Actor
) -> None:
    """A manual appointment's outcome, reported by its agent: the appointment is done.

    A record that still waits to be dialled is completed (reason
    ``appointment``) so the customer is not called again; a record being
    dialled or awaiting its write-back finishes on its own.
    """
    if result.appoint_id is None:
        raise rules.not_found(result.appoint_id)
    async with transaction(engine) as conn:
        row = await store.lock(conn, vdn_id, result.appoint_id)
        if row is None:
            raise rules.not_found(result.appoint_id)
        rules.check_manual(row.call_type, "have their result updated")
        values: dict[str, Any] = {
            "status": int(AppointStatus.DONE),
            "caller_no": result.caller_no,
            "fail_code": result.fail_code,
            "call_id": result.call_id,
            "busi_result": result.busi_result,
            "busi_sub_status": result.busi_sub_status,
            "result_time": now,
        }
        if result.work_no is not None:
            values["work_no"] = result.work_no
        if result.user_account is not None:
            values["user_account"] = result.user_account
        await store.update(conn, vdn_id, row.appoint_id, values, now)
        if row.data_id is not None:
            await store.complete_waiting_record(conn, vdn_id, row.data_id, now)
        await audit.record(
            conn,
            actor,
            "appointment.result",
            vdn_id=vdn_id,
            target=_target(row.appoint_id),
            now=now,
            before=_fields(row, values),
            after=_camel(values),
        )


async def search(
    engine: AsyncEngine, *, vdn_id: int, search: Search, now: datetime
) -> tuple[int, list[dict[str, Any]]]:
    """``(totalCount, data)``: one page of appointments, ordered by appointTime."""
    async with reading(engine) as conn:
        total, rows = await store.search(conn, vdn_id, search)
    return total, [_listed(row, now) for row in rows]


def _listed(row: sa.Row[Any], now: datetime) -> dict[str, Any]:
    stored = rules.Outcome(
        row.status, row.fail_code, row.call_id, row.busi_result, row.busi_sub_status
    )
    linked = (
        None
        if row.data_status is None
        else rules.Linked(
            row.data_status,
            row.data_attempt_no,
            row.data_fail_code,
            row.data_call_id,
            row.data_busi_result,
            row.data_sub_status,
        )
    )
    outcome = rules.progress(row.call_type, stored, linked)
    task_status = (
        None if row.task_status is None else effective_status(row.task_status, row.task_end, now)
    )
    return {
        "appointId": str(row.appoint_id),
        "callType": str(row.call_type),  # Strings on Huawei's list page, as is taskId
        "appointTime": rules.to_ms(row.appoint_time),
        "calledNo": row.called_no,
        "taskId": str(row.campaign_id),
        "taskName": row.task_name,
        "taskStatus": None if task_status is None else str(task_status),
        "timeout": rules.timed_out(row.appoint_time, outcome.status, now),
        "userAccount": row.user_account,
        "userName": None,  # no agent directory: openisales knows work numbers, not names
        # the call's execution: its last attempt's ring start and end (epoch ms)
        "beginTime": None if row.call_begin is None else rules.to_ms(row.call_begin),
        "endTime": None if row.call_end is None else rules.to_ms(row.call_end),
        "workNo": row.work_no,
        "remark": row.remark,
        "callData": row.call_data,
        "status": outcome.status,
        "failCode": outcome.fail_code,
        "callId": outcome.call_id,
        "callerNo": row.caller_no,
        "busiResult": outcome.busi_result,
        "busiSubStatus": outcome.busi_sub_status,
        "dataId": None if row.data_id is None else str(row.data_id),
    }
