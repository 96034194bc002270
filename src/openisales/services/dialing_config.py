"""Read and set a campaign's dialing settings (gateway, configuration, concurrency cap).

Setting them appends an audit entry (``services.audit``, ``campaign.dialing``)
in the same transaction, with the settings before and after.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.errors import NotFound
from openisales.services import audit
from openisales.services.audit import Actor
from openisales.store.sql import reading, transaction
from openisales.store.tables import campaign


def _missing(campaign_id: int) -> NotFound:
    return NotFound(f"campaignId: campaign {campaign_id} does not exist")


async def _read(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, *, for_update: bool = False
) -> dict[str, Any]:
    stmt = sa.select(
        campaign.c.gateway, campaign.c.gateway_config, campaign.c.max_concurrency
    ).where(campaign.c.vdn_id == vdn_id, campaign.c.campaign_id == campaign_id)
    row = (await conn.execute(stmt.with_for_update() if for_update else stmt)).first()
    if row is None:
        raise _missing(campaign_id)
    return {
        "gateway": row.gateway or "",
        "gatewayConfig": json.loads(row.gateway_config) if row.gateway_config else {},
        "maxConcurrency": row.max_concurrency,
    }


async def set_dialing(
    engine: AsyncEngine,
    *,
    vdn_id: int,
    campaign_id: int,
    settings: dict[str, Any],
    now: datetime,
    actor: Actor,
) -> None:
    async with transaction(engine) as conn:
        before = await _read(conn, vdn_id, campaign_id, for_update=True)
        await conn.execute(
            sa.update(campaign)
            .where(campaign.c.vdn_id == vdn_id, campaign.c.campaign_id == campaign_id)
            .values(
                gateway=settings["gateway"],
                gateway_config=json.dumps(settings["config"]) if settings["config"] else None,
                max_concurrency=settings["max_concurrency"],
            )
        )
        await audit.record(
            conn,
            actor,
            "campaign.dialing",
            vdn_id=vdn_id,
            target=f"campaign {campaign_id}",
            now=now,
            before=before,
            after=await _read(conn, vdn_id, campaign_id),
        )


async def get_dialing(engine: AsyncEngine, *, vdn_id: int, campaign_id: int) -> dict[str, Any]:
    async with reading(engine) as conn:
        return await _read(conn, vdn_id, campaign_id)
