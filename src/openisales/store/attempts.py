"""SQL of attempt outcomes: lock the records a batch of outcomes is about, write what they did.

The records are read into :class:`AttemptTarget` values here, once: numbers
decoded, counters parsed, the campaign's retry policy parsed into the typed
:class:`~openisales.domain.retry_policy.RetryPolicy`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.attempt import Counters
from openisales.domain.calldata import Record
from openisales.domain.retry_policy import RetryPolicy, policy_from_stored
from openisales.store import records
from openisales.store.tables import campaign, data, data_campaign_vdn, data_result, vdn


@dataclass(frozen=True, slots=True)
class AttemptTarget:
    """A record an outcome is about, locked, with what the attempt decision needs."""

    record: Record
    counters: Counters
    policy: RetryPolicy
    tz: ZoneInfo


_LOCK_COLUMNS = (
    *records.COLUMNS,
    data.c.day_attempts,
    data.c.attempt_day,
    data.c.first_attempt_day,
    data.c.result_retries,
    campaign.c.policy_type,
    campaign.c.policy_json,
    campaign.c.no_retry_policy,
    campaign.c.call_policy,
    vdn.c.time_zone,
)


def _target(row: Any) -> AttemptTarget:
    return AttemptTarget(
        record=records.record(row),
        counters=Counters(
            day_attempts=row.day_attempts,
            attempt_day=row.attempt_day,
            first_attempt_day=row.first_attempt_day,
            result_retries=json.loads(row.result_retries) if row.result_retries else {},
        ),
        policy=policy_from_stored(
            row.policy_type, row.policy_json, row.no_retry_policy, row.call_policy
        ),
        tz=ZoneInfo(row.time_zone),
    )


async def lock(
    conn: AsyncConnection, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], AttemptTarget]:
    """The records of ``keys`` (vdn_id, data_id) that exist, locked until commit.

    Locks are taken in key order, the order every other writer of records uses.
    """
    by_vdn: dict[int, set[int]] = {}
    for vdn_id, data_id in keys:
        by_vdn.setdefault(vdn_id, set()).add(data_id)
    found: dict[tuple[int, int], AttemptTarget] = {}
    for vdn_id, ids in sorted(by_vdn.items()):
        stmt = (
            sa.select(*_LOCK_COLUMNS)
            .select_from(data_campaign_vdn())
            .where(data.c.vdn_id == vdn_id, data.c.data_id.in_(sorted(ids)))
            .order_by(data.c.data_id)
            .with_for_update(of=data)
        )
        for row in await conn.execute(stmt):
            found[(row.vdn_id, row.data_id)] = _target(row)
    return found


_UPDATE = (
    sa.update(data)
    .where(data.c.vdn_id == sa.bindparam("k_vdn"), data.c.data_id == sa.bindparam("k_data"))
    .values(
        status=sa.bindparam("v_status"),
        next_index=sa.bindparam("v_next_index"),
        next_call_time=sa.bindparam("v_next_call_time"),
        priority=0,
        reserved_work_no=sa.case(
            (sa.bindparam("v_keep_reservation"), data.c.reserved_work_no), else_=None
        ),
        lease_owner=None,
        lease_expires_at=None,
        last_fail_code=sa.bindparam("v_fail_code"),
        last_call_status=sa.bindparam("v_call_status"),
        last_result_code=sa.bindparam("v_result_code"),
        last_call_id=sa.bindparam("v_call_id"),
        result_retries=sa.bindparam("v_result_retries"),
        complete_reason=sa.bindparam("v_reason"),
        completed_at=sa.bindparam("v_completed_at"),
        updated_at=sa.bindparam("v_now"),
    )
)


async def record(
    conn: AsyncConnection, history: Sequence[dict[str, Any]], updates: Sequence[dict[str, Any]]
) -> None:
    """Insert the attempts' history rows and apply the records' new states (``v_``/``k_`` keys)."""
    if history:
        await conn.execute(sa.insert(data_result), list(history))
    if updates:
        await conn.execute(_UPDATE, list(updates))
