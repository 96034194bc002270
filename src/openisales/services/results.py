"""The call-result query (spec 2.5): completed records, their final result or every attempt."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.domain.results import ResultQuery, format_local
from openisales.errors import NotFound
from openisales.store import calldata as calldata_store, results as store
from openisales.store.sql import reading


async def query(
    engine: AsyncEngine, *, vdn_id: int, campaign_id: int, query: ResultQuery
) -> tuple[int, list[dict[str, Any]]]:
    """``(totalCount, data)``: one page of results of the campaign's completed records.

    ``showDetail`` 0 gives each completed record's latest attempt with the
    record's final business result; 1 gives every attempt of completed records,
    each with the latest write-back of that attempt. Day filters and callTimeStr
    use the VDN's time zone. ``0200007`` when the campaign is not in the VDN.
    """
    async with reading(engine) as conn:
        if await calldata_store.campaign_state(conn, vdn_id, campaign_id) is None:
            raise NotFound(f"campaignId: campaign {campaign_id} does not exist")
        tz = await store.vdn_zone(conn, vdn_id)
        start, stop = query.days.instants(tz) if query.days else (None, None)
        selected = store.Filter(
            vdn_id, campaign_id, query.session_id, query.custom_field, start, stop
        )
        total = await store.count(conn, selected, detail=query.detail)
        rows = (
            await store.page(
                conn, selected, detail=query.detail, limit=query.limit, offset=query.offset
            )
            if query.offset < total
            else []
        )
        written = (
            await store.write_backs(conn, vdn_id, [r.data_id for r in rows]) if query.detail else {}
        )
    out = []
    for row in rows:
        busi, sub = row.busi_result, row.sub_status
        if query.detail:
            wb = written.get((row.data_id, row.attempt_no))
            busi, sub = (wb.busi_result, wb.sub_status) if wb else (None, None)
        out.append(
            {
                "campaignId": str(campaign_id),
                "sessionId": row.session_id,
                "called": row.called,
                "callTimeStr": format_local(row.call_time, tz),
                "callStatus": row.call_status,
                "failCode": row.fail_code,
                "resultCode": row.result_code,
                "vdnId": vdn_id,
                "callId": row.call_id,
                "recordPath": None,
                "dataId": str(row.data_id),
                "customField": row.custom_field,
                "busiResult": busi,
                "subStatus": sub,
            }
        )
    return total, out
