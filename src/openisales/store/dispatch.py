"""SQL of the dispatcher: find callable campaigns, claim due records, recover leases.

A claim marks records as being called in the same statement that selects
them: on PostgreSQL the selection is ``FOR UPDATE SKIP LOCKED`` under a lock
on the campaign row (which also makes the concurrency cap exact across
workers); on SQLite the whole transaction runs under ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.calldata import DataStatus
from openisales.domain.dialing import Claim, DialingCampaign, dialing_campaign
from openisales.store import outbox, records
from openisales.store.tables import campaign, data, vdn

CALLING = int(DataStatus.CALLING)
WAITING = int(DataStatus.WAITING)
AWAITING = int(DataStatus.AWAITING_RESULT)
COMPLETED = int(DataStatus.COMPLETED)
RUNNING = 2

log = logging.getLogger("openisales.store")


async def running_campaigns(conn: AsyncConnection, now: datetime) -> list[DialingCampaign]:
    """Campaigns in status running whose [begin, end) holds ``now``, settings decoded.

    A campaign whose stored caller numbers, gateway configuration or time zone
    cannot be decoded is logged and left out (it cannot be dialled).
    """
    rows = await conn.execute(
        sa.select(
            campaign.c.vdn_id,
            campaign.c.campaign_id,
            campaign.c.begin_time.label("begin"),
            campaign.c.end_time.label("end"),
            campaign.c.schedule_param.label("schedule"),
            campaign.c.max_concurrency,
            campaign.c.gateway,
            campaign.c.gateway_config,
            campaign.c.caller_no,
            vdn.c.time_zone,
        )
        .select_from(campaign.join(vdn, vdn.c.vdn_id == campaign.c.vdn_id))
        .where(
            campaign.c.status == RUNNING,
            campaign.c.begin_time <= now,
            campaign.c.end_time > now,
        )
        .order_by(campaign.c.vdn_id, campaign.c.campaign_id)
    )
    campaigns: list[DialingCampaign] = []
    for r in rows:
        try:
            campaigns.append(dialing_campaign(**r._asdict()))
        except ValueError as exc:
            log.warning(
                "campaign has unusable dialing settings: %s",
                exc,
                extra={"vdnId": r.vdn_id, "campaignId": r.campaign_id},
            )
    return campaigns


async def lock_campaign(conn: AsyncConnection, vdn_id: int, campaign_id: int) -> bool:
    """Lock the campaign row for this transaction; False when it is gone or not running."""
    row = await conn.execute(
        sa.select(campaign.c.status)
        .where(campaign.c.vdn_id == vdn_id, campaign.c.campaign_id == campaign_id)
        .with_for_update()
    )
    status = row.scalar()
    return status == RUNNING


async def count_calling(conn: AsyncConnection, vdn_id: int, campaign_id: int) -> int:
    stmt = sa.select(sa.func.count()).where(
        data.c.vdn_id == vdn_id, data.c.campaign_id == campaign_id, data.c.status == CALLING
    )
    return int((await conn.execute(stmt)).scalar_one())


CLAIMED_COLUMNS = (
    *records.COLUMNS,
    data.c.caller,
    data.c.call_data,
    data.c.reserved_work_no,
    data.c.next_call_time,
)


async def claim(
    conn: AsyncConnection,
    *,
    vdn_id: int,
    campaign_id: int,
    worker: str,
    limit: int,
    now: datetime,
    lease_until: datetime,
    today: str,
    agents: frozenset[str] | None,
    fallback_before: datetime | None,
    reserved_for: str | None = None,
) -> list[Claim]:
    """Mark up to ``limit`` due records as being called and return them.

    Due: waiting with ``next_call_time <= now``. Scheduled records (retries,
    appointments: ``priority`` 0) are claimed before first calls, so a backlog
    of new data never delays a retry past its time. A record reserved for an
    agent is due only when ``agents`` is None (the gateway routes by work
    number), the agent is in ``agents``, or it has waited since before
    ``fallback_before``. ``reserved_for`` claims only records reserved for that
    agent (preview pull).
    """
    claimed: list[Claim] = []
    for priority in (0, 1):
        if len(claimed) >= limit:
            break
        claimed += await _claim_pass(
            conn,
            vdn_id=vdn_id,
            campaign_id=campaign_id,
            priority=priority,
            worker=worker,
            limit=limit - len(claimed),
            now=now,
            lease_until=lease_until,
            today=today,
            agents=agents,
            fallback_before=fallback_before,
            reserved_for=reserved_for,
        )
    return claimed


async def _claim_pass(
    conn: AsyncConnection,
    *,
    vdn_id: int,
    campaign_id: int,
    priority: int,
    worker: str,
    limit: int,
    now: datetime,
    lease_until: datetime,
    today: str,
    agents: frozenset[str] | None,
    fallback_before: datetime | None,
    reserved_for: str | None,
) -> list[Claim]:
    due: list[sa.ColumnElement[bool]] = [
        data.c.vdn_id == vdn_id,
        data.c.campaign_id == campaign_id,
        data.c.status == WAITING,
        data.c.priority == priority,
        data.c.next_call_time <= now,
    ]
    if reserved_for is not None:
        due.append(data.c.reserved_work_no == reserved_for)
    elif agents is not None:
        reservation: list[sa.ColumnElement[bool]] = [data.c.reserved_work_no.is_(None)]
        if agents:
            reservation.append(data.c.reserved_work_no.in_(sorted(agents)))
        if fallback_before is not None:
            reservation.append(data.c.next_call_time <= fallback_before)
        due.append(sa.or_(*reservation))
    # A materialised CTE: PostgreSQL may otherwise evaluate a LIMIT subquery in
    # ``WHERE ... IN`` more than once and update more rows than asked.
    chosen = (
        sa.select(data.c.data_id)
        .where(*due)
        .order_by(data.c.next_call_time, data.c.data_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    stmt = (
        sa.update(data)
        .where(data.c.vdn_id == vdn_id, data.c.data_id == chosen.c.data_id)
        .values(
            status=CALLING,
            lease_owner=worker,
            lease_expires_at=lease_until,
            attempt_no=data.c.attempt_no + 1,
            attempt_index=data.c.next_index,
            day_attempts=sa.case((data.c.attempt_day == today, data.c.day_attempts + 1), else_=1),
            attempt_day=today,
            first_attempt_day=sa.func.coalesce(data.c.first_attempt_day, today),
            updated_at=now,
        )
        .returning(*CLAIMED_COLUMNS)
    )
    return [
        Claim(
            record=records.record(row),
            caller=row.caller,
            call_data=row.call_data,
            reserved_work_no=row.reserved_work_no,
            next_call_time=row.next_call_time,
        )
        for row in await conn.execute(stmt)
    ]


class Expired(NamedTuple):
    """An attempt whose lease ran out: the record and the attempt it was on."""

    vdn_id: int
    data_id: int
    attempt_no: int


async def expired_leases(conn: AsyncConnection, now: datetime, limit: int) -> list[Expired]:
    """Records being called whose lease ran out (their outcome never arrived)."""
    stmt = (
        sa.select(data.c.vdn_id, data.c.data_id, data.c.attempt_no)
        .where(data.c.status == CALLING, data.c.lease_expires_at < now)
        .order_by(data.c.lease_expires_at)
        .limit(limit)
    )
    return [Expired(r.vdn_id, r.data_id, r.attempt_no) for r in await conn.execute(stmt)]


def _complete(chosen: Any, reason: str, now: datetime) -> Any:
    """UPDATE of the records in the CTE ``chosen`` (vdn_id, data_id) to completed."""
    return (
        sa.update(data)
        .where(data.c.vdn_id == chosen.c.vdn_id, data.c.data_id == chosen.c.data_id)
        .values(
            status=COMPLETED,
            complete_reason=reason,
            completed_at=now,
            next_call_time=None,
            reserved_work_no=None,
            updated_at=now,
        )
        .returning(data.c.vdn_id, data.c.data_id)
    )


async def complete_overdue_results(conn: AsyncConnection, now: datetime, limit: int) -> int:
    """Answered records whose business write-back did not arrive in time complete."""
    overdue = (
        sa.select(data.c.vdn_id, data.c.data_id)
        .where(data.c.status == AWAITING, data.c.next_call_time <= now)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("overdue")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    result = await conn.execute(_complete(overdue, "no-writeback", now))
    return await _push(conn, list(result), now)


async def complete_ended_campaigns(conn: AsyncConnection, now: datetime, limit: int) -> int:
    """Open records of campaigns past their end complete (reason ``expired``).

    Campaigns are few: find the ended ones that still have open records, then
    complete those records campaign by campaign through the claim index.
    """
    open_records = (
        sa.select(data.c.data_id)
        .where(
            data.c.vdn_id == campaign.c.vdn_id,
            data.c.campaign_id == campaign.c.campaign_id,
            data.c.status.in_([WAITING, AWAITING]),
        )
        .exists()
    )
    ended = (
        await conn.execute(
            sa.select(campaign.c.vdn_id, campaign.c.campaign_id).where(
                campaign.c.end_time <= now, open_records
            )
        )
    ).all()
    done = 0
    for vdn_id, campaign_id in ended:
        chosen = (
            sa.select(data.c.vdn_id, data.c.data_id)
            .where(
                data.c.vdn_id == vdn_id,
                data.c.campaign_id == campaign_id,
                data.c.status.in_([WAITING, AWAITING]),
            )
            .limit(limit - done)
            .with_for_update(skip_locked=True)
            .cte("ended")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        result = await conn.execute(_complete(chosen, "expired", now))
        done += await _push(conn, list(result), now)
        if done >= limit:
            break
    return done


async def _push(conn: AsyncConnection, completed: list[sa.Row[Any]], now: datetime) -> int:
    by_vdn: dict[int, list[int]] = {}
    for row in completed:
        by_vdn.setdefault(row.vdn_id, []).append(row.data_id)
    for vdn_id, data_ids in by_vdn.items():
        await outbox.enqueue_completed(conn, vdn_id, data_ids, now)
    return len(completed)
