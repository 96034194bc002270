"""What the console's campaign and pushes pages read: attempts by hour, outcomes,
the retry queue, failed pushes (read-only).

Every query names the VDN and the campaign, so it is bounded by an index:

* attempts and outcomes: ``t_isl_data_result (vdn_id, campaign_id, created_at)``,
  a range of the period asked for;
* the retry queue: the claim index ``ix_t_isl_data_claim (vdn_id, campaign_id,
  status, priority, next_call_time, data_id)``, read in its order (no sort);
* failed pushes: ``t_isl_push_outbox (status, next_attempt_at)`` (failed rows
  only; a failed row has no ``next_attempt_at``);
* names of display and business results: their unique keys
  ``(vdn_id, fail_code)`` and ``(vdn_id, parent_def_id, code)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.calldata import DataStatus
from openisales.store.outbox import FAILED
from openisales.store.pushes import PUSH_COLUMNS, Push
from openisales.store.results import ATTEMPT, BUSI
from openisales.store.tables import (
    busi_result,
    data,
    data_result,
    obs_result,
    obs_result_map,
    push_outbox as po,
)

SCHEDULED = 0  # ``t_isl_data.priority`` of a retry or an appointment


async def attempts_by_bucket(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, edges: Sequence[datetime]
) -> list[int]:
    """Attempts of the campaign in each ``[edges[i], edges[i+1])``; ``len(edges) - 1`` counts.

    One range read of the results index, whatever the number of buckets.
    """
    if len(edges) < 2:
        return []
    r = data_result.c
    columns = [
        sa.func.coalesce(
            sa.func.sum(sa.case((sa.and_(r.created_at >= lo, r.created_at < hi), 1), else_=0)), 0
        )
        for lo, hi in itertools.pairwise(edges)
    ]
    row = (
        await conn.execute(
            sa.select(*columns).where(
                r.vdn_id == vdn_id,
                r.campaign_id == campaign_id,
                r.created_at >= edges[0],
                r.created_at < edges[-1],
                r.kind == ATTEMPT,
            )
        )
    ).one()
    return [int(v) for v in row]


@dataclass(frozen=True)
class OutcomeCounts:
    by_fail_code: dict[str, int]  # attempts; "" for an attempt without a failure code
    by_busi_result: dict[str, int]  # write-backs


async def outcome_counts(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, since: datetime
) -> OutcomeCounts:
    """Attempts by failure code and write-backs by business result recorded since ``since``."""
    r = data_result.c
    rows = await conn.execute(
        sa.select(r.kind, r.fail_code, r.busi_result, sa.func.count())
        .where(
            r.vdn_id == vdn_id,
            r.campaign_id == campaign_id,
            r.created_at >= since,
        )
        .group_by(r.kind, r.fail_code, r.busi_result)
    )
    fails: dict[str, int] = {}
    busi: dict[str, int] = {}
    for row in rows:
        count = int(row[3])
        if row.kind == ATTEMPT:
            code = row.fail_code or ""
            fails[code] = fails.get(code, 0) + count
        elif row.kind == BUSI:
            code = row.busi_result or ""
            busi[code] = busi.get(code, 0) + count
    return OutcomeCounts(fails, busi)


async def display_results(
    conn: AsyncConnection, vdn_id: int, fail_codes: Collection[str]
) -> dict[str, tuple[str, str]]:
    """failCode → (display resultCode, displayResult) in the VDN, for the codes it maps."""
    if not fail_codes:
        return {}
    m, t = obs_result_map.c, obs_result.c
    rows = await conn.execute(
        sa.select(m.fail_code, t.result_code, t.display_result)
        .join(obs_result, sa.and_(t.vdn_id == m.vdn_id, t.def_id == m.def_id))
        .where(m.vdn_id == vdn_id, m.fail_code.in_(sorted(fail_codes)))
    )
    return {row.fail_code: (row.result_code, row.display_result) for row in rows}


async def busi_result_names(
    conn: AsyncConnection, vdn_id: int, codes: Collection[str]
) -> dict[str, str]:
    """Top-level business-result code → its name, for the codes defined in the VDN."""
    if not codes:
        return {}
    b = busi_result.c
    rows = await conn.execute(
        sa.select(b.code, b.name).where(
            b.vdn_id == vdn_id, b.parent_def_id == 0, b.code.in_(sorted(codes))
        )
    )
    return {row.code: row.name for row in rows}


@dataclass(frozen=True)
class Queued:
    """A record waiting for a scheduled call (a retry or an appointment)."""

    data_id: int
    called_nos: str  # stored JSON; ``next_index`` picks the number dialled next
    next_index: int
    next_call_time: datetime | None
    reserved_work_no: str | None
    attempt_no: int
    last_fail_code: str | None
    busi_result: str | None


async def retry_queue(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, limit: int
) -> list[Queued]:
    """The campaign's next scheduled calls, soonest first, as the dispatcher claims them."""
    d = data.c
    rows = await conn.execute(
        sa.select(
            d.data_id,
            d.called_nos,
            d.next_index,
            d.next_call_time,
            d.reserved_work_no,
            d.attempt_no,
            d.last_fail_code,
            d.busi_result,
        )
        .where(
            d.vdn_id == vdn_id,
            d.campaign_id == campaign_id,
            d.status == int(DataStatus.WAITING),
            d.priority == SCHEDULED,
        )
        .order_by(d.next_call_time, d.data_id)
        .limit(limit)
    )
    return [Queued(**row._asdict()) for row in rows]


@dataclass(frozen=True)
class PushKey:
    """A failed push's place in the newest-first order (keyset paging)."""

    created_at: datetime
    data_id: int
    seq: int


async def failed_pushes(
    conn: AsyncConnection,
    vdn_id: int,
    *,
    campaign_id: int | None,
    after: PushKey | None,
    limit: int,
) -> list[Push]:
    """Failed pushes of the VDN (or one campaign), newest completion first, after ``after``."""
    where: list[sa.ColumnElement[bool]] = [po.c.status == FAILED, po.c.vdn_id == vdn_id]
    if campaign_id is not None:
        where.append(po.c.campaign_id == campaign_id)
    if after is not None:
        where.append(
            sa.or_(
                po.c.created_at < after.created_at,
                sa.and_(
                    po.c.created_at == after.created_at,
                    sa.or_(
                        po.c.data_id < after.data_id,
                        sa.and_(po.c.data_id == after.data_id, po.c.seq < after.seq),
                    ),
                ),
            )
        )
    rows = await conn.execute(
        sa.select(*PUSH_COLUMNS)
        .where(*where)
        .order_by(po.c.created_at.desc(), po.c.data_id.desc(), po.c.seq.desc())
        .limit(limit)
    )
    return [Push(**row._asdict()) for row in rows]
