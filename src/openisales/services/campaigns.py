"""Campaign use cases: create, modify, delete, pause, resume, detail, list, retry policy.

Every function is scoped by ``vdn_id``: another VDN's campaign does not exist
(``0200007``). ``now`` is the caller's clock reading. Failures raise
:class:`OpenISalesError` subclasses carrying the documented result code; a
database failure is :class:`StorageError` (``0200006``). A failed call
changes nothing.

Every change appends an audit entry (``services.audit``) in its own
transaction: ``campaign.create``, ``campaign.modify``, ``campaign.delete``,
``campaign.pause``, ``campaign.resume`` and ``campaign.retry_policy``, on the
target ``campaign N``, with the campaign as stored before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.domain import campaign as rules
from openisales.domain.busi_policy import check_busi_references
from openisales.domain.campaign import Campaign, Draft, Search
from openisales.domain.dialing import first_caller
from openisales.domain.retry_policy import RetryPolicy
from openisales.domain.schedule import format_time
from openisales.errors import Conflict, NotFound
from openisales.services import audit
from openisales.services.audit import Actor
from openisales.store import busi_results, campaigns as store
from openisales.store.ids import IdAllocator
from openisales.store.sql import DuplicateError, reading, transaction


def _duplicate(name: str) -> Conflict:
    return Conflict(
        f"name: a campaign named {name!r} already exists", result_code=rules.DUPLICATE_NAME
    )


async def _existing(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, *, for_update: bool = False
) -> Campaign:
    found = await store.get(conn, vdn_id, campaign_id, for_update=for_update)
    if found is None:
        raise NotFound(f"campaignId: campaign {campaign_id} does not exist")
    return found


def _target(campaign_id: int) -> str:
    return f"campaign {campaign_id}"


def _snapshot(campaign: Campaign, now: datetime) -> dict[str, Any]:
    """The campaign as the audit log keeps it: its detail and its retry policy."""
    return to_wire(campaign, now) | {"retryPolicy": _policy_wire(campaign)}


async def _stored(conn: AsyncConnection, vdn_id: int, campaign_id: int, now: datetime) -> Any:
    """:func:`_snapshot` of the campaign as this transaction sees it now."""
    return _snapshot(await _existing(conn, vdn_id, campaign_id), now)


async def _check_busi(conn: AsyncConnection, vdn_id: int, policy: RetryPolicy | None) -> None:
    if policy is not None and policy.busi:
        codes = {rule.code for rule in policy.busi}
        check_busi_references(policy.busi, await busi_results.definitions(conn, vdn_id, codes))


async def create(
    engine: AsyncEngine,
    ids: IdAllocator,
    *,
    vdn_id: int,
    draft: Draft,
    now: datetime,
    actor: Actor,
) -> int:
    """Store a new campaign and return its id (1, 2, 3… per VDN; gaps after failures).

    Raises ``0200002`` (starts before 00:00 today, UTC), ``0200003``/``0200004``
    (20 live skill-queue / IVR campaigns), ``0200005`` (name taken),
    ``0200001`` (busiPolicy names an undefined business result).
    """
    rules.check_start(draft.begin, now)
    (campaign_id,) = await ids.take(vdn_id, "campaign")
    try:
        async with transaction(engine) as conn:
            await store.lock_vdn(conn, vdn_id)
            rules.check_quota(draft.device_type, *await store.count_live(conn, vdn_id, now))
            await _check_busi(conn, vdn_id, draft.retry)
            status = rules.initial_status(draft.init_status)
            await store.insert(conn, vdn_id, campaign_id, status, draft, now)
            await audit.record(
                conn,
                actor,
                "campaign.create",
                vdn_id=vdn_id,
                target=_target(campaign_id),
                now=now,
                after=await _stored(conn, vdn_id, campaign_id, now),
            )
    except DuplicateError as exc:
        raise _duplicate(draft.name) from exc
    return campaign_id


async def modify(
    engine: AsyncEngine,
    *,
    vdn_id: int,
    campaign_id: int,
    draft: Draft,
    now: datetime,
    actor: Actor,
) -> None:
    """Replace a campaign's fields, keeping its status.

    Raises ``0200007`` (no such campaign), ``0200016`` (expired),
    ``02000007`` (deviceType differs), ``0200002`` (a moved start before
    today), ``0200005`` (name taken), ``0200001`` (undefined business result).
    """
    try:
        async with transaction(engine) as conn:
            current = await _existing(conn, vdn_id, campaign_id, for_update=True)
            rules.check_modification(current, draft, now)
            await _check_busi(conn, vdn_id, draft.retry)
            await store.update(conn, vdn_id, campaign_id, draft, now)
            await audit.record(
                conn,
                actor,
                "campaign.modify",
                vdn_id=vdn_id,
                target=_target(campaign_id),
                now=now,
                before=_snapshot(current, now),
                after=await _stored(conn, vdn_id, campaign_id, now),
            )
    except DuplicateError as exc:
        raise _duplicate(draft.name) from exc


async def delete(
    engine: AsyncEngine, *, vdn_id: int, campaign_id: int, now: datetime, actor: Actor
) -> None:
    """Delete a campaign that is not running, with its call data (history stays).

    Raises ``0200007`` (no such campaign), ``0200011`` (status 2, running).
    """
    async with transaction(engine) as conn:
        current = await _existing(conn, vdn_id, campaign_id, for_update=True)
        rules.check_deletable(current, now)
        await store.delete(conn, vdn_id, campaign_id)
        await audit.record(
            conn,
            actor,
            "campaign.delete",
            vdn_id=vdn_id,
            target=_target(campaign_id),
            now=now,
            before=_snapshot(current, now),
        )


async def _transition(
    engine: AsyncEngine,
    vdn_id: int,
    campaign_id: int,
    now: datetime,
    step: Callable[[Campaign, datetime], int],
    actor: Actor,
    action: str,
) -> None:
    async with transaction(engine) as conn:
        current = await _existing(conn, vdn_id, campaign_id, for_update=True)
        status = step(current, now)
        await store.set_status(conn, vdn_id, campaign_id, status, now)
        await audit.record(
            conn,
            actor,
            action,
            vdn_id=vdn_id,
            target=_target(campaign_id),
            now=now,
            before={"status": current.status},
            after={"status": status},
        )


async def pause(
    engine: AsyncEngine, *, vdn_id: int, campaign_id: int, now: datetime, actor: Actor
) -> None:
    """Running (2) -> paused (3). Raises ``0200007``, or ``0200011`` in any other status."""
    await _transition(engine, vdn_id, campaign_id, now, rules.pause, actor, "campaign.pause")


async def resume(
    engine: AsyncEngine, *, vdn_id: int, campaign_id: int, now: datetime, actor: Actor
) -> None:
    """Paused (3) -> running (2). Raises ``0200007``, or ``0200011`` in any other status."""
    await _transition(engine, vdn_id, campaign_id, now, rules.resume, actor, "campaign.resume")


def to_wire(c: Campaign, now: datetime) -> dict[str, Any]:
    """The campaign as the detail and list APIs show it.

    ``callerNo``: a v2 campaign's list; a v1 campaign's one number, which is the
    one the dialer uses when numbers were added (``…/callerNo/{campaignId}``).
    """
    f = c.fields
    callers: Any = list(f.caller_nos) if f.api_version == 2 else first_caller(list(f.caller_nos))
    return {
        "campaignId": c.campaign_id,
        "name": f.name,
        "description": f.description,
        "status": rules.effective_status(c.status, f.end, now),
        "strBeginTime": format_time(f.begin),
        "strEndTime": format_time(f.end),
        "deviceType": f.device_type,
        "callerNo": callers,
        "maxAlertingTime": f.max_alerting_time,
        "scheduleParam": f.schedule,
        "skillParam": f.skill_param,
        "ivrParam": f.ivr_param,
        "callPolicy": f.call_policy,
        "initStatus": f.init_status,
        "callBackUrl": f.call_back_url,
        "priority": f.priority,
    }


async def detail(
    engine: AsyncEngine, *, vdn_id: int, campaign_id: int, now: datetime
) -> dict[str, Any]:
    """:func:`to_wire` of one campaign. Raises ``0200007``."""
    async with reading(engine) as conn:
        return to_wire(await _existing(conn, vdn_id, campaign_id), now)


async def search(
    engine: AsyncEngine, *, vdn_id: int, query: Search, now: datetime
) -> dict[str, Any]:
    """One page of campaigns plus the VDN's live skill-queue and IVR counts."""
    async with reading(engine) as conn:
        total, items = await store.search(conn, vdn_id, query, now)
        skill, ivr = await store.count_live(conn, vdn_id, now)
    return {
        "curPage": query.page,
        "totalSize": total,
        "rowsPerPage": query.rows,
        "curSkillQueueCount": skill,
        "curIvrCount": ivr,
        "data": [to_wire(c, now) for c in items],
    }


async def set_retry_policy(
    engine: AsyncEngine,
    *,
    vdn_id: int,
    campaign_id: int,
    policy: RetryPolicy,
    now: datetime,
    actor: Actor,
) -> None:
    """Replace the campaign's retry policy. Raises ``0200007``, ``0200001`` (busiPolicy)."""
    async with transaction(engine) as conn:
        current = await _existing(conn, vdn_id, campaign_id, for_update=True)
        await _check_busi(conn, vdn_id, policy)
        await store.set_retry_policy(conn, vdn_id, campaign_id, policy, now)
        await audit.record(
            conn,
            actor,
            "campaign.retry_policy",
            vdn_id=vdn_id,
            target=_target(campaign_id),
            now=now,
            before=_policy_wire(current),
            after=_policy_wire(await _existing(conn, vdn_id, campaign_id)),
        )


async def retry_policy(engine: AsyncEngine, *, vdn_id: int, campaign_id: int) -> dict[str, Any]:
    """The policy as Huawei's query returns it (busiPolicy as a JSON string). Raises ``0200007``."""
    async with reading(engine) as conn:
        return _policy_wire(await _existing(conn, vdn_id, campaign_id))


def _policy_wire(campaign: Campaign) -> dict[str, Any]:
    campaign_id, policy = campaign.campaign_id, campaign.policy
    if policy is None:
        return {
            "retryPolicyId": campaign_id,
            "policyType": None,
            "policyJson": None,
            "noRetryPolicy": [],
            "busiPolicy": None,
        }
    return {
        "retryPolicyId": campaign_id,
        "policyType": policy.policy_type,
        "policyJson": policy.policy_json,
        "noRetryPolicy": list(policy.no_retry),
        "busiPolicy": policy.busi_json,
    }
