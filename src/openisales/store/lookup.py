"""SQL of the console's look-ups: call-data search, a record's timeline, pages of the
blocklist, and the results export. Every statement is bounded by an index.

=================  ==========================================================
search by          index
=================  ==========================================================
dataId             ``t_isl_data`` primary key ``(vdn_id, data_id)``
sessionId          ``ix_t_isl_data_vdn_id_session_id_data_id`` (partial)
batch              ``ix_t_isl_data_vdn_id_batch_id_data_id`` (the v2 add's
                   ``batchId``) and ``ix_t_isl_data_vdn_id_custom_field_data_id``
                   (``customField``, how v1 adds and imports name a batch)
number             ``ix_t_isl_data_result_vdn_id_called_created_at``: the
                   attempts placed to the number, so only records that were
                   dialled (``called_nos`` is JSON text, which no portable
                   index reaches; docs/console.md)
=================  ==========================================================

A search reads at most :data:`SCAN` index entries: with a campaign filter, the
newest ``SCAN`` matches are filtered, so that a key shared by a million records
costs the same as one held by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.blocklist import Entry
from openisales.store.pushes import PUSH_COLUMNS, Push
from openisales.store.tables import (
    blocklist,
    campaign,
    data,
    data_result,
    obs_result,
    push_outbox,
)

SCAN = 2_000  # index entries a search reads at most
TIMELINE_MAX = 1_000  # history rows a record page shows at most

_SUMMARY = (
    data.c.data_id,
    data.c.campaign_id,
    data.c.session_id,
    data.c.custom_field,
    data.c.batch_id,
    data.c.called_nos,
    data.c.status,
    data.c.attempt_no,
    data.c.next_call_time,
    data.c.last_fail_code,
    data.c.busi_result,
    data.c.created_at,
)
KEYS = {"session": ("session_id",), "batch": ("batch_id", "custom_field")}


async def by_data_id(
    conn: AsyncConnection, vdn_id: int, data_id: int, campaign_id: int | None
) -> list[sa.Row[Any]]:
    stmt = sa.select(*_SUMMARY).where(data.c.vdn_id == vdn_id, data.c.data_id == data_id)
    if campaign_id is not None:
        stmt = stmt.where(data.c.campaign_id == campaign_id)
    return list(await conn.execute(stmt))


async def by_key(
    conn: AsyncConnection,
    vdn_id: int,
    key: str,
    value: str,
    campaign_id: int | None,
    limit: int,
) -> list[sa.Row[Any]]:
    """Records whose ``key`` (a column of :data:`KEYS`) is ``value``, newest (highest id) first."""
    found: list[sa.Row[Any]] = []
    for name in KEYS[key]:
        column = data.c[name]
        newest = (
            sa.select(data.c.vdn_id, data.c.data_id)
            .where(data.c.vdn_id == vdn_id, column == value)
            .order_by(data.c.data_id.desc())
            .limit(SCAN if campaign_id is not None else limit)
            .subquery()
        )
        stmt = (
            sa.select(*_SUMMARY)
            .join(
                newest,
                sa.and_(newest.c.vdn_id == data.c.vdn_id, newest.c.data_id == data.c.data_id),
            )
            .order_by(data.c.data_id.desc())
            .limit(limit)
        )
        if campaign_id is not None:
            stmt = stmt.where(data.c.campaign_id == campaign_id)
        found += list(await conn.execute(stmt))
    unique = {r.data_id: r for r in found}
    return sorted(unique.values(), key=lambda r: r.data_id, reverse=True)[:limit]


async def by_number(
    conn: AsyncConnection, vdn_id: int, number: str, campaign_id: int | None, limit: int
) -> list[sa.Row[Any]]:
    """Records with an attempt on ``number``, the most recently dialled first."""
    attempts = (
        sa.select(data_result.c.data_id)
        .where(data_result.c.vdn_id == vdn_id, data_result.c.called == number)
        .order_by(data_result.c.created_at.desc())
        .limit(SCAN)
    )
    order: dict[int, int] = {}
    for row in await conn.execute(attempts):
        order.setdefault(row.data_id, len(order))
    if not order:
        return []
    stmt = sa.select(*_SUMMARY).where(data.c.vdn_id == vdn_id, data.c.data_id.in_(list(order)))
    if campaign_id is not None:
        stmt = stmt.where(data.c.campaign_id == campaign_id)
    rows = list(await conn.execute(stmt))
    return sorted(rows, key=lambda r: order[r.data_id])[:limit]


async def record(conn: AsyncConnection, vdn_id: int, data_id: int) -> sa.Row[Any] | None:
    """The record with its campaign's name (None when the VDN has no such record)."""
    stmt = (
        sa.select(data, campaign.c.name.label("campaign_name"))
        .select_from(
            data.outerjoin(
                campaign,
                sa.and_(
                    campaign.c.vdn_id == data.c.vdn_id,
                    campaign.c.campaign_id == data.c.campaign_id,
                ),
            )
        )
        .where(data.c.vdn_id == vdn_id, data.c.data_id == data_id)
    )
    return (await conn.execute(stmt)).first()


async def history(conn: AsyncConnection, vdn_id: int, data_id: int) -> list[sa.Row[Any]]:
    """The record's attempts and write-backs, oldest first (at most :data:`TIMELINE_MAX`)."""
    stmt = (
        sa.select(data_result)
        .where(data_result.c.vdn_id == vdn_id, data_result.c.data_id == data_id)
        .order_by(data_result.c.created_at, data_result.c.result_id)
        .limit(TIMELINE_MAX)
    )
    return list(await conn.execute(stmt))


async def pushes(conn: AsyncConnection, vdn_id: int, data_id: int) -> list[Push]:
    """The record's result pushes (outbox rows), in sequence."""
    po = push_outbox
    stmt = (
        sa.select(*PUSH_COLUMNS)
        .where(po.c.vdn_id == vdn_id, po.c.data_id == data_id)
        .order_by(po.c.seq)
    )
    return [Push(**row._asdict()) for row in await conn.execute(stmt)]


async def display_names(
    conn: AsyncConnection, vdn_id: int, result_codes: Sequence[str]
) -> dict[str, str]:
    """Display resultCode → its name in the VDN, for ``result_codes``."""
    codes = sorted(set(result_codes))
    if not codes:
        return {}
    stmt = sa.select(obs_result.c.result_code, obs_result.c.display_result).where(
        obs_result.c.vdn_id == vdn_id, obs_result.c.result_code.in_(codes)
    )
    return {r.result_code: r.display_result for r in await conn.execute(stmt)}


async def campaign_names(conn: AsyncConnection, vdn_id: int) -> list[tuple[int, str]]:
    """The VDN's campaigns, ``(id, name)``, newest first."""
    stmt = (
        sa.select(campaign.c.campaign_id, campaign.c.name)
        .where(campaign.c.vdn_id == vdn_id)
        .order_by(campaign.c.campaign_id.desc())
    )
    return [(r.campaign_id, r.name) for r in await conn.execute(stmt)]


# ---- the blocklist, in number order ------------------------------------------------


async def blocklist_page(
    conn: AsyncConnection, vdn_id: int, after: str | None, limit: int
) -> list[tuple[Entry, datetime]]:
    """Entries after ``after`` in number order (primary key), with when each was listed."""
    stmt = sa.select(blocklist).where(blocklist.c.vdn_id == vdn_id)
    if after is not None:
        stmt = stmt.where(blocklist.c.number > after)
    stmt = stmt.order_by(blocklist.c.number).limit(limit)
    return [
        (
            Entry(
                r.number,
                r.expires_at,
                r.restrict_times,
                r.restrict_period,
                r.rel_category_id,
                r.type_id,
            ),
            r.updated_at,
        )
        for r in await conn.execute(stmt)
    ]


# ---- the results export ----------------------------------------------------------


@dataclass(frozen=True)
class ExportRange:
    vdn_id: int
    campaign_id: int
    start: datetime  # attempts recorded at or after
    stop: datetime  # and before


async def export_page(
    conn: AsyncConnection,
    selected: ExportRange,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[sa.Row[Any]]:
    """The campaign's attempts recorded in the range, in (created_at, result_id) order,
    after the keyset ``after``; index ``(vdn_id, campaign_id, created_at)``."""
    r = data_result
    where: list[sa.ColumnElement[bool]] = [
        r.c.vdn_id == selected.vdn_id,
        r.c.campaign_id == selected.campaign_id,
        r.c.kind == "attempt",
        r.c.created_at >= (after[0] if after else selected.start),
        r.c.created_at < selected.stop,
    ]
    if after is not None:
        at, result_id = after
        where.append(sa.or_(r.c.created_at > at, r.c.result_id > result_id))
    stmt = (
        sa.select(
            r.c.result_id,
            r.c.data_id,
            r.c.attempt_no,
            r.c.called,
            r.c.call_status,
            r.c.fail_code,
            r.c.result_code,
            r.c.call_id,
            r.c.ack_begin_time,
            r.c.call_end_time,
            r.c.created_at,
            data.c.session_id,
            data.c.custom_field,
        )
        .select_from(
            r.outerjoin(data, sa.and_(data.c.vdn_id == r.c.vdn_id, data.c.data_id == r.c.data_id))
        )
        .where(*where)
        .order_by(r.c.created_at, r.c.result_id)
        .limit(limit)
    )
    return list(await conn.execute(stmt))
