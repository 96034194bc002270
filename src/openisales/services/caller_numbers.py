"""Add and delete a campaign's calling numbers (spec 2.1, ``…/callerNo/{campaignId}``).

The campaign row is locked while its ``callerNo`` list is read and rewritten,
so concurrent calls (from any process) apply one after the other. Raises
``0200007`` when the campaign is not in the VDN; the rules are
``domain.caller_numbers``'s. A failed call changes nothing; a call that
succeeds appends an audit entry (``services.audit``, ``caller_number.add`` or
``caller_number.delete``) in its transaction, with the list before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.domain import caller_numbers as rules
from openisales.errors import NotFound
from openisales.services import audit
from openisales.services.audit import Actor
from openisales.store import campaigns as store
from openisales.store.sql import transaction


async def _change(
    engine: AsyncEngine,
    vdn_id: int,
    campaign_id: int,
    now: datetime,
    plan: Callable[[rules.Callers], rules.Callers],
    actor: Actor,
    action: str,
) -> None:
    async with transaction(engine) as conn:
        current = await store.get(conn, vdn_id, campaign_id, for_update=True)
        if current is None:
            raise NotFound(f"campaignId: campaign {campaign_id} does not exist")
        callers = plan(current.fields.caller_nos)
        await store.set_callers(conn, vdn_id, campaign_id, callers, now)
        await audit.record(
            conn,
            actor,
            action,
            vdn_id=vdn_id,
            target=f"campaign {campaign_id}",
            now=now,
            before={"callerNo": list(current.fields.caller_nos)},
            after={"callerNo": list(callers)},
        )


async def add(
    engine: AsyncEngine,
    *,
    vdn_id: int,
    campaign_id: int,
    body: dict[str, Any],
    max_total: int,
    now: datetime,
    actor: Actor,
) -> None:
    """Append the checked body's numbers to the campaign's (``rules.plan_add``)."""
    await _change(
        engine,
        vdn_id,
        campaign_id,
        now,
        lambda current: rules.plan_add(current, body, max_total),
        actor,
        "caller_number.add",
    )


async def delete(
    engine: AsyncEngine,
    *,
    vdn_id: int,
    campaign_id: int,
    body: dict[str, Any],
    now: datetime,
    actor: Actor,
) -> None:
    """Remove the checked body's numbers from the campaign's (``rules.plan_delete``)."""
    await _change(
        engine,
        vdn_id,
        campaign_id,
        now,
        lambda current: rules.plan_delete(current, body),
        actor,
        "caller_number.delete",
    )
