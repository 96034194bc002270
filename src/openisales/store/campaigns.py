"""SQL for campaigns (``t_isl_campaign``); JSON-shaped fields are stored as JSON text."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.campaign import (
    EXPIRED,
    IVR_TYPES,
    SKILL_TYPES,
    Campaign,
    Draft,
    Search,
    StoredPolicy,
)
from openisales.domain.retry_policy import RetryPolicy
from openisales.store.tables import campaign as t, data, vdn


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _fields(draft: Draft) -> dict[str, Any]:
    values = {
        "name": draft.name,
        "description": draft.description,
        "device_type": draft.device_type,
        "api_version": draft.api_version,
        "begin_time": draft.begin,
        "end_time": draft.end,
        "caller_no": _dump(list(draft.caller_nos)),
        "max_alerting_time": draft.max_alerting_time,
        "priority": draft.priority,
        "schedule_param": _dump(draft.schedule),
        "skill_param": _dump(draft.skill_param),
        "ivr_param": _dump(draft.ivr_param),
        "init_status": draft.init_status,
        "call_back_url": draft.call_back_url,
    }
    if draft.call_policy is not None:
        values["call_policy"] = _dump(draft.call_policy)
    return values


def _policy(policy: RetryPolicy, now: datetime) -> dict[str, Any]:
    return {
        "policy_type": policy.policy_type,
        "policy_json": policy.policy_json(),
        "no_retry_policy": _dump(list(policy.no_retry)),
        "busi_policy": policy.busi_json(),
        "retry_policy_updated_at": now,
    }


def _row(r: sa.Row[Any]) -> Campaign:
    fields = Draft(
        name=r.name,
        description=r.description,
        begin=r.begin_time,
        end=r.end_time,
        device_type=r.device_type,
        api_version=r.api_version,
        caller_nos=tuple(_load(r.caller_no)),
        max_alerting_time=r.max_alerting_time,
        schedule=_load(r.schedule_param),
        skill_param=_load(r.skill_param),
        ivr_param=_load(r.ivr_param),
        init_status=r.init_status,
        call_back_url=r.call_back_url,
        priority=r.priority,
        call_policy=_load(r.call_policy),
    )
    policy = None
    if r.policy_type is not None:
        policy = StoredPolicy(
            r.policy_type, r.policy_json, tuple(_load(r.no_retry_policy) or ()), r.busi_policy
        )
    return Campaign(r.campaign_id, r.status, fields, policy)


async def lock_vdn(conn: AsyncConnection, vdn_id: int) -> None:
    """Serialise campaign creation in a VDN (PostgreSQL row lock; SQLite: BEGIN IMMEDIATE)."""
    await conn.execute(sa.select(vdn.c.vdn_id).where(vdn.c.vdn_id == vdn_id).with_for_update())


async def insert(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, status: int, draft: Draft, now: datetime
) -> None:
    values = _fields(draft) | {"call_policy": _dump(draft.call_policy)}
    if draft.retry is not None:
        values |= _policy(draft.retry, now)
    await conn.execute(
        sa.insert(t).values(
            vdn_id=vdn_id,
            campaign_id=campaign_id,
            status=status,
            created_at=now,
            updated_at=now,
            **values,
        )
    )


def _key(vdn_id: int, campaign_id: int) -> tuple[sa.ColumnElement[bool], ...]:
    return (t.c.vdn_id == vdn_id, t.c.campaign_id == campaign_id)


async def update(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, draft: Draft, now: datetime
) -> None:
    """Replace the campaign's fields; the policy and callPolicy only when the draft has them."""
    values = _fields(draft)
    if draft.retry is not None:
        values |= _policy(draft.retry, now)
    await conn.execute(
        sa.update(t).where(*_key(vdn_id, campaign_id)).values(updated_at=now, **values)
    )


async def get(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, *, for_update: bool = False
) -> Campaign | None:
    """The campaign ``campaign_id`` of ``vdn_id`` (another VDN's campaign is None)."""
    stmt = sa.select(t).where(*_key(vdn_id, campaign_id))
    if for_update:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    return None if row is None else _row(row)


async def set_status(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, status: int, now: datetime
) -> None:
    await conn.execute(
        sa.update(t).where(*_key(vdn_id, campaign_id)).values(status=status, updated_at=now)
    )


async def set_callers(
    conn: AsyncConnection,
    vdn_id: int,
    campaign_id: int,
    callers: tuple[dict[str, Any], ...],
    now: datetime,
) -> None:
    """Replace the campaign's calling numbers (``callerNo``, stored as create stores it)."""
    await conn.execute(
        sa.update(t)
        .where(*_key(vdn_id, campaign_id))
        .values(caller_no=_dump(list(callers)), updated_at=now)
    )


async def set_retry_policy(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, policy: RetryPolicy, now: datetime
) -> None:
    await conn.execute(
        sa.update(t)
        .where(*_key(vdn_id, campaign_id))
        .values(updated_at=now, **_policy(policy, now))
    )


async def delete(conn: AsyncConnection, vdn_id: int, campaign_id: int) -> None:
    """Remove the campaign and its call data; attempt history (``t_isl_data_result``) stays."""
    await conn.execute(
        sa.delete(data).where(data.c.vdn_id == vdn_id, data.c.campaign_id == campaign_id)
    )
    await conn.execute(sa.delete(t).where(*_key(vdn_id, campaign_id)))


def _live(now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    return (t.c.status != EXPIRED, t.c.end_time > now)


async def count_live(conn: AsyncConnection, vdn_id: int, now: datetime) -> tuple[int, int]:
    """``(skill-queue, IVR)`` counts of the VDN's campaigns that have not expired."""
    rows = await conn.execute(
        sa.select(t.c.device_type, sa.func.count())
        .where(t.c.vdn_id == vdn_id, *_live(now))
        .group_by(t.c.device_type)
    )
    counts = {int(r[0]): int(r[1]) for r in rows}
    return (
        sum(n for kind, n in counts.items() if kind in SKILL_TYPES),
        sum(n for kind, n in counts.items() if kind in IVR_TYPES),
    )


def _matching(vdn_id: int, search: Search, now: datetime) -> list[sa.ColumnElement[bool]]:
    """The SQL twin of ``effective_status`` for the status filter, plus the other filters."""
    where = [t.c.vdn_id == vdn_id]
    if search.name:
        where.append(t.c.name.icontains(search.name, autoescape=True))
    if search.status == EXPIRED:
        where.append(sa.or_(t.c.status == EXPIRED, t.c.end_time <= now))
    elif search.status:
        where += [t.c.status == search.status, t.c.end_time > now]
    if search.device_type:
        where.append(t.c.device_type == search.device_type)
    if search.begin is not None:
        where.append(t.c.end_time >= search.begin)
    if search.end is not None:
        where.append(t.c.begin_time <= search.end)
    return where


async def search(
    conn: AsyncConnection, vdn_id: int, query: Search, now: datetime
) -> tuple[int, list[Campaign]]:
    """``(total, page)`` of the campaigns matching ``query``, in creation order."""
    where = _matching(vdn_id, query, now)
    total = (await conn.execute(sa.select(sa.func.count()).select_from(t).where(*where))).scalar()
    rows = await conn.execute(
        sa.select(t)
        .where(*where)
        .order_by(t.c.campaign_id)
        .limit(query.rows)
        .offset((query.page - 1) * query.rows)
    )
    return int(total or 0), [_row(r) for r in rows]


async def all_of(conn: AsyncConnection, vdn_id: int) -> list[Campaign]:
    """Every campaign of ``vdn_id``, in creation order (the console's overview)."""
    rows = await conn.execute(sa.select(t).where(t.c.vdn_id == vdn_id).order_by(t.c.campaign_id))
    return [_row(r) for r in rows]
