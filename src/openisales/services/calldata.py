"""Add and query outbound call data (spec 2.3).

An add appends ONE audit entry (``services.audit``, ``calldata.add``) in its
transaction, whatever its number of records (up to 20 a call).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.domain.calldata import NewRecord, check_interval
from openisales.domain.campaign import EXPIRED, effective_status
from openisales.errors import Conflict, NotFound
from openisales.services import audit, blocklist
from openisales.services.audit import Actor
from openisales.store import calldata as store, records
from openisales.store.ids import IdAllocator, compose
from openisales.store.sql import reading, transaction


def _campaign_missing(campaign_id: int, field: str = "campaignId") -> NotFound:
    return NotFound(f"{field}: campaign {campaign_id} does not exist")


async def open_campaign(
    conn: AsyncConnection,
    vdn_id: int,
    campaign_id: int,
    now: datetime,
    *,
    lock: bool,
    field: str = "campaignId",
    refused: str = "data cannot be added",
) -> store.CampaignState:
    """The campaign that call data is added to: ``0200007`` when it is not in the
    VDN, ``0200019`` when it has ended. ``lock`` serialises the adders (PostgreSQL)."""
    state = await store.campaign_state(conn, vdn_id, campaign_id, lock=lock)
    if state is None:
        raise _campaign_missing(campaign_id, field)
    if effective_status(state.status, state.end_time, now) == EXPIRED:
        raise Conflict(
            f"{field}: campaign {campaign_id} has ended; {refused}", result_code="0200019"
        )
    return state


async def add(
    engine: AsyncEngine,
    ids: IdAllocator,
    *,
    vdn_id: int,
    campaign_id: int,
    records: list[NewRecord],
    max_unfinished: int,
    min_interval_s: float,
    now: datetime,
    actor: Actor,
) -> tuple[int, list[dict[str, str]]]:
    """Store ``records`` in the campaign; returns ``(totalSize, dataIdList)``.

    Raises ``0200007`` when the campaign is not in the VDN, ``0200019`` when it
    has expired, ``0200022`` when the campaign's last successful add is less
    than ``min_interval_s`` before ``now``, ``0200024`` when a number is
    blocked now (``services.blocklist``), ``0200020`` when it would hold more
    than ``max_unfinished`` unfinished records. Adds to one campaign are
    serialised (the campaign row is locked on PostgreSQL; SQLite has a single
    writer) and the time of the last add is the campaign row's, written in the
    add's transaction, so both limits hold under concurrency and across processes.
    """
    numbers = await ids.take(vdn_id, "data", len(records))
    data_ids = [compose(vdn_id, n) for n in numbers]
    async with transaction(engine) as conn:
        state = await open_campaign(conn, vdn_id, campaign_id, now, lock=True)
        check_interval(state.last_calldata_at, now, min_interval_s)
        called = {n.called_no for r in records for n in r.numbers}
        barred = await blocklist.blocked(conn, vdn_id, called, now)
        if barred:
            raise Conflict(
                f"callDataList: blocklisted numbers: {', '.join(sorted(barred))}",
                result_code="0200024",
            )
        unfinished = await store.count_unfinished(conn, vdn_id, campaign_id)
        if unfinished + len(records) > max_unfinished:
            raise Conflict(
                f"callDataList: the campaign would hold {unfinished + len(records)} unfinished "
                f"records; the maximum is {max_unfinished}",
                result_code="0200020",
            )
        await store.insert(
            conn, vdn_id, campaign_id, list(zip(data_ids, records, strict=True)), now
        )
        await store.mark_added(conn, vdn_id, campaign_id, now)
        await audit.record(
            conn,
            actor,
            "calldata.add",
            vdn_id=vdn_id,
            target=f"campaign {campaign_id}",
            now=now,
            after={
                "records": len(records),
                "dataIds": [str(d) for d in data_ids],
                "batchId": records[0].batch_id if records else None,
            },
        )
    listed = [
        {"called": r.numbers[0].called_no, "dataId": str(d)}
        for d, r in zip(data_ids, records, strict=True)
    ]
    return unfinished + len(records), listed


_PROPERTIES = [
    ("sessionId", "session_id", "Session ID"),
    ("customField", "custom_field", "Custom field"),
    ("batchId", "batch_id", "Batch ID"),
    ("caller", "caller", "Calling number"),
    ("callData", "call_data", "Call data"),
]


async def query(
    engine: AsyncEngine, *, vdn_id: int, campaign_id: int, data_id: int
) -> dict[str, Any]:
    """One record as ``data{dataId, properties[], calledNos[], ...}``."""
    async with reading(engine) as conn:
        if await store.campaign_state(conn, vdn_id, campaign_id) is None:
            raise _campaign_missing(campaign_id)
        row = await store.get(conn, vdn_id, campaign_id, data_id)
    if row is None:
        raise NotFound(f"dataId: call data {data_id} does not exist", result_code="0200033")
    properties = [
        {"propCode": code, "propName": name, "propValue": getattr(row, column)}
        for code, column, name in _PROPERTIES
        if getattr(row, column) is not None
    ]
    if row.recycle_time is not None:
        properties.append(
            {
                "propCode": "recycleTime",
                "propName": "Recycle time",
                "propValue": row.recycle_time.strftime("%Y-%m-%d %H:%M:%S"),
            }
        )
    return {
        "dataId": str(row.data_id),
        "campaignId": row.campaign_id,
        "properties": properties,
        "calledNos": [n.wire() for n in records.numbers(row.called_nos)],
        "status": row.status,
        "attemptNo": row.attempt_no,
        "nextCallTime": _time(row.next_call_time),
        "reservedWorkNo": row.reserved_work_no,
        "busiResult": row.busi_result,
        "subStatus": row.sub_status,
        "busiResultDesc": row.busi_result_desc,
        "workNo": row.work_no,
        "busiWriteTime": _time(row.busi_write_time),
    }


def _time(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else None
