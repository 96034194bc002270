"""Read and set a campaign's dialing settings (gateway, configuration, concurrency cap)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.errors import NotFound
from openisales.store.sql import reading, transaction
from openisales.store.tables import campaign


def _missing(campaign_id: int) -> NotFound:
    return NotFound(f"campaignId: campaign {campaign_id} does not exist")


async def set_dialing(
    engine: AsyncEngine, *, vdn_id: int, campaign_id: int, settings: dict[str, Any]
) -> None:
    async with transaction(engine) as conn:
        result = await conn.execute(
            sa.update(campaign)
            .where(campaign.c.vdn_id == vdn_id, campaign.c.campaign_id == campaign_id)
            .values(
                gateway=settings["gateway"],
                gateway_config=json.dumps(settings["config"]) if settings["config"] else None,
                max_concurrency=settings["max_concurrency"],
            )
        )
        if result.rowcount == 0:
            raise _missing(campaign_id)


async def get_dialing(engine: AsyncEngine, *, vdn_id: int, campaign_id: int) -> dict[str, Any]:
    async with reading(engine) as conn:
        row = (
            await conn.execute(
                sa.select(
                    campaign.c.gateway, campaign.c.gateway_config, campaign.c.max_concurrency
                ).where(campaign.c.vdn_id == vdn_id, campaign.c.campaign_id == campaign_id)
            )
        ).first()
    if row is None:
        raise _missing(campaign_id)
    return {
        "gateway": row.gateway or "",
        "gatewayConfig": json.loads(row.gateway_config) if row.gateway_config else {},
        "maxConcurrency": row.max_concurrency,
    }
