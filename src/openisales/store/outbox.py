"""The result-push outbox: one row per record completion, in the completing transaction.

``enqueue_completed`` is called by every path that completes a record (the
write-back, an attempt outcome, a write-back that never came, a campaign that
ended). It writes nothing for campaigns without a ``callBackUrl``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.push import push_id
from openisales.domain.results import format_local
from openisales.store import records
from openisales.store.results import call_time, of_last_attempt
from openisales.store.tables import campaign, data, data_campaign_vdn, push_outbox, vdn

PENDING, DELIVERED, FAILED = 0, 1, 2


def _record(row: Any, seq: int) -> dict[str, Any]:
    numbers = records.numbers(row.called_nos) if row.called_nos else ()
    called = numbers[row.attempt_index].called_no if numbers else None
    return {
        "pushId": push_id(row.data_id, seq),
        "dataId": str(row.data_id),
        "campaignId": str(row.campaign_id),
        "sessionId": row.session_id,
        "called": called,
        # the call time of the last attempt on the VDN's wall clock, as the
        # call-result query returns it; None when the record was never dialled
        "callTimeStr": format_local(row.last_call_time, ZoneInfo(row.time_zone)),
        "callStatus": row.last_call_status,
        "failCode": row.last_fail_code,
        "resultCode": row.last_result_code,
        "vdnId": row.vdn_id,
        "callId": row.last_call_id,
        "customField": row.custom_field,
        "recordPath": None,
        "busiResult": row.busi_result,
        "subStatus": row.sub_status,
        "completeReason": row.complete_reason,
    }


async def enqueue_completed(
    conn: AsyncConnection, vdn_id: int, data_ids: Iterable[int], now: datetime
) -> int:
    """Queue a push for each listed record of ``vdn_id`` whose campaign has a callBackUrl."""
    ids = sorted(set(data_ids))
    if not ids:
        return 0
    rows = (
        await conn.execute(
            sa.select(
                data.c.vdn_id,
                data.c.data_id,
                data.c.campaign_id,
                data.c.session_id,
                data.c.custom_field,
                data.c.called_nos,
                data.c.attempt_index,
                data.c.last_call_status,
                data.c.last_fail_code,
                data.c.last_result_code,
                data.c.last_call_id,
                data.c.busi_result,
                data.c.sub_status,
                data.c.complete_reason,
                # the VDN given, not the column: Citus routes a subquery naming it
                of_last_attempt(call_time, vdn_id, data.c.data_id).label("last_call_time"),
                campaign.c.call_back_url,
                vdn.c.time_zone,
            )
            .select_from(data_campaign_vdn())
            .where(
                data.c.vdn_id == vdn_id,
                data.c.data_id.in_(ids),
                campaign.c.call_back_url.is_not(None),
                campaign.c.call_back_url != "",
            )
        )
    ).all()
    if not rows:
        return 0
    seqs: dict[int, int] = {
        int(r[0]): int(r[1])
        for r in (
            await conn.execute(
                sa.select(push_outbox.c.data_id, sa.func.max(push_outbox.c.seq))
                .where(
                    push_outbox.c.vdn_id == vdn_id,
                    push_outbox.c.data_id.in_([r.data_id for r in rows]),
                )
                .group_by(push_outbox.c.data_id)
            )
        ).all()
    }
    values = []
    for row in rows:
        seq = int(seqs.get(row.data_id) or 0) + 1
        values.append(
            {
                "vdn_id": vdn_id,
                "data_id": row.data_id,
                "seq": seq,
                "campaign_id": row.campaign_id,
                "url": row.call_back_url,
                "payload": json.dumps(_record(row, seq), separators=(",", ":")),
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    await conn.execute(sa.insert(push_outbox), values)
    return len(values)
