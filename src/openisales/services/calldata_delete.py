"""Delete outbound call data (spec 2.3 ``calldata/{campaignId}/delete``).

A delete that removes records appends one audit entry (``services.audit``,
``calldata.delete``) in its transaction: the filter and how many went.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.domain.calldata_delete import DeletePlan
from openisales.domain.campaign import RUNNING, STATUS_FORBIDS, effective_status
from openisales.errors import Conflict, NotFound
from openisales.services import audit
from openisales.services.audit import Actor
from openisales.store import calldata, calldata_delete
from openisales.store.sql import transaction


async def delete(
    engine: AsyncEngine,
    *,
    vdn_id: int,
    campaign_id: int,
    plan: DeletePlan,
    now: datetime,
    actor: Actor,
) -> int:
    """Delete (or archive) the campaign's waiting records matching ``plan``; returns how many.

    Raises ``0200007`` when the campaign is not in the VDN and ``0200011`` while
    it is running (paused and expired campaigns allow it). Records being
    called, awaiting their write-back or completed are skipped, not refused.
    Deletes and adds on one campaign are serialised by locking its row. A
    delete that matched nothing changed nothing and is not audited.
    """
    async with transaction(engine) as conn:
        state = await calldata.campaign_state(conn, vdn_id, campaign_id, lock=True)
        if state is None:
            raise NotFound(f"campaignId: campaign {campaign_id} does not exist")
        if effective_status(state.status, state.end_time, now) == RUNNING:
            raise Conflict(
                f"campaignId: campaign {campaign_id} is running; pause it to delete call data",
                result_code=STATUS_FORBIDS,
            )
        deleted = await calldata_delete.delete(conn, vdn_id, campaign_id, plan, now)
        if deleted:
            await audit.record(
                conn,
                actor,
                "calldata.delete",
                vdn_id=vdn_id,
                target=f"campaign {campaign_id}",
                now=now,
                before={"records": deleted, "filter": asdict(plan)},
            )
        return deleted
