"""Result pushes seen by an operator: list them, queue them again (``openisales push``).

A resend that queued something appends an audit entry (``services.audit``,
``push.resend``) in its transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.domain import push
from openisales.services import audit
from openisales.services.audit import Actor
from openisales.store import pushes
from openisales.store.sql import reading, transaction


async def list_pushes(
    engine: AsyncEngine,
    *,
    status: str | None = None,
    vdn_id: int | None = None,
    limit: int = 50,
) -> list[pushes.Push]:
    """Outbox rows, newest first; ``status`` is ``pending``, ``delivered`` or ``failed``."""
    async with reading(engine) as conn:
        return await pushes.list_pushes(
            conn,
            status=pushes.STATUSES[status] if status else None,
            vdn_id=vdn_id,
            limit=limit,
        )


async def resend(
    engine: AsyncEngine,
    *,
    now: datetime,
    actor: Actor,
    vdn_id: int | None = None,
    push_id: str | None = None,
    campaign_id: int | None = None,
) -> int:
    """Queue one push (failed or delivered) or every failed push (of a VDN, of one of its
    campaigns) again; returns how many.

    The records keep their pushIds, so receivers recognise what they already have.
    """
    key = push.parse_push_id(push_id) if push_id is not None else None
    async with transaction(engine) as conn:
        if campaign_id is not None and vdn_id is None:
            raise ValueError("a campaign is named with its VDN")
        queued = await pushes.resend(
            conn, now=now, vdn_id=vdn_id, key=key, campaign_id=None if key else campaign_id
        )
        if queued:
            await audit.record(
                conn,
                actor,
                "push.resend",
                vdn_id=vdn_id,
                target=(
                    f"push {push_id}"
                    if push_id is not None
                    else f"failed pushes of campaign {campaign_id}"
                    if campaign_id is not None
                    else "failed pushes"
                ),
                now=now,
                after={"queued": queued},
            )
        return queued
