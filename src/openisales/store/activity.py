"""What the console shows of campaigns at work: counts by status, the retry queue,
recent attempts, failed pushes (read-only; every query is bounded by an index).

Each query takes the VDN and the campaigns of interest, so it reads the
claim index ``(vdn_id, campaign_id, status, priority, next_call_time, …)``
or the results' ``(vdn_id, campaign_id, created_at)`` index rather than
whole tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.calldata import DataStatus
from openisales.store.outbox import FAILED as PUSH_FAILED
from openisales.store.results import ATTEMPT
from openisales.store.tables import data, data_result, push_outbox

ANSWERED = 6  # call_status of an answered attempt


async def status_counts(
    conn: AsyncConnection, vdn_id: int, campaigns: Sequence[int]
) -> dict[int, dict[int, int]]:
    """``{campaign: {status: records}}``."""
    out: dict[int, dict[int, int]] = {c: {} for c in campaigns}
    if not campaigns:
        return out
    rows = await conn.execute(
        sa.select(data.c.campaign_id, data.c.status, sa.func.count())
        .where(data.c.vdn_id == vdn_id, data.c.campaign_id.in_(list(campaigns)))
        .group_by(data.c.campaign_id, data.c.status)
    )
    for row in rows:
        out[int(row[0])][int(row[1])] = int(row[2])
    return out


async def retry_queue_sizes(
    conn: AsyncConnection, vdn_id: int, campaigns: Sequence[int]
) -> dict[int, int]:
    """Records waiting for a scheduled call (a retry or an appointment: priority 0)."""
    out = dict.fromkeys(campaigns, 0)
    if not campaigns:
        return out
    rows = await conn.execute(
        sa.select(data.c.campaign_id, sa.func.count())
        .where(
            data.c.vdn_id == vdn_id,
            data.c.campaign_id.in_(list(campaigns)),
            data.c.status == int(DataStatus.WAITING),
            data.c.priority == 0,
        )
        .group_by(data.c.campaign_id)
    )
    for row in rows:
        out[int(row[0])] = int(row[1])
    return out


async def recent_attempts(
    conn: AsyncConnection, vdn_id: int, campaigns: Sequence[int], since: datetime
) -> dict[int, tuple[int, int]]:
    """``{campaign: (attempts, answered)}`` recorded since ``since``."""
    out = dict.fromkeys(campaigns, (0, 0))
    if not campaigns:
        return out
    r = data_result.c
    rows = await conn.execute(
        sa.select(
            r.campaign_id,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((r.call_status == ANSWERED, 1), else_=0)), 0),
        )
        .where(
            r.vdn_id == vdn_id,
            r.campaign_id.in_(list(campaigns)),
            r.created_at >= since,
            r.kind == ATTEMPT,
        )
        .group_by(r.campaign_id)
    )
    for row in rows:
        out[int(row[0])] = (int(row[1]), int(row[2]))
    return out


async def failed_pushes(
    conn: AsyncConnection, vdn_id: int, campaigns: Sequence[int]
) -> dict[int, int]:
    out = dict.fromkeys(campaigns, 0)
    if not campaigns:
        return out
    p = push_outbox.c
    rows = await conn.execute(
        sa.select(p.campaign_id, sa.func.count())
        .where(p.status == PUSH_FAILED, p.vdn_id == vdn_id, p.campaign_id.in_(list(campaigns)))
        .group_by(p.campaign_id)
    )
    for row in rows:
        out[int(row[0])] = int(row[1])
    return out
