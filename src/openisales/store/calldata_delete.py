"""SQL for deleting call data (``t_isl_data``), optionally into ``t_isl_data_history``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.calldata_delete import DELETABLE, DeletePlan
from openisales.store.tables import data, data_history

_CHUNK = 500  # records per statement when archiving


def _where(vdn_id: int, campaign_id: int, plan: DeletePlan) -> list[sa.ColumnElement[bool]]:
    conds: list[sa.ColumnElement[bool]] = [
        data.c.vdn_id == vdn_id,
        data.c.campaign_id == campaign_id,
        data.c.status.in_([int(s) for s in DELETABLE]),
    ]
    if plan.session_id:
        conds.append(data.c.session_id == plan.session_id)
    if plan.custom_field:
        conds.append(data.c.custom_field == plan.custom_field)
    if plan.called:
        # called_nos is compact JSON ([{"calledNo":"...","type":"..."}]); numbers hold
        # only [0-9*#], so the pattern needs no escaping.
        conds.append(data.c.called_nos.like(f'%"calledNo":"{plan.called}"%'))
    if plan.recycle_from is not None:
        conds.append(data.c.recycle_time >= plan.recycle_from)
    if plan.recycle_before is not None:
        conds.append(data.c.recycle_time < plan.recycle_before)
    return conds


def _payload(row: Any) -> str:
    values = {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in row._asdict().items()
    }
    return json.dumps(values, separators=(",", ":"), sort_keys=True)


async def delete(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, plan: DeletePlan, now: datetime
) -> int:
    """Delete the campaign's deletable records that match ``plan``; returns how many.

    With ``plan.archive`` each record is first copied (as JSON) to the history table.
    """
    where = _where(vdn_id, campaign_id, plan)
    if not plan.archive:
        result = await conn.execute(sa.delete(data).where(*where))
        return int(result.rowcount)
    rows = (await conn.execute(sa.select(data).where(*where).with_for_update())).all()
    for i in range(0, len(rows), _CHUNK):
        chunk = rows[i : i + _CHUNK]
        await conn.execute(
            sa.insert(data_history),
            [
                {
                    "vdn_id": vdn_id,
                    "data_id": row.data_id,
                    "campaign_id": campaign_id,
                    "payload": _payload(row),
                    "archived_at": now,
                }
                for row in chunk
            ],
        )
        await conn.execute(
            sa.delete(data).where(
                data.c.vdn_id == vdn_id, data.c.data_id.in_([row.data_id for row in chunk])
            )
        )
    return len(rows)
