"""SQL aggregates for the statistics: records and attempts of one campaign, by batch.

Nothing here knows time zones: "today" and the days of the failure statistics
arrive as half-open ranges of UTC instants, so the statements are the same on
SQLite and PostgreSQL. Attempts count only while their record exists.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.calldata import DataStatus
from openisales.store.results import ATTEMPT, call_time
from openisales.store.tables import data, data_result

_COMPLETED = int(DataStatus.COMPLETED)


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _within(column: Any, start: datetime, stop: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(column >= start, column < stop)


async def record_counts(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, today: tuple[datetime, datetime]
) -> list[sa.Row[Any]]:
    """Per customField: total, uncalled, finished, finished_today, added_today."""
    batch = data.c.custom_field
    stmt = (
        sa.select(
            batch.label("batch"),
            sa.func.count().label("total"),
            _count_if(sa.and_(data.c.status != _COMPLETED, data.c.attempt_no == 0)).label(
                "uncalled"
            ),
            _count_if(data.c.status == _COMPLETED).label("finished"),
            _count_if(
                sa.and_(data.c.status == _COMPLETED, _within(data.c.completed_at, *today))
            ).label("finished_today"),
            _count_if(_within(data.c.created_at, *today)).label("added_today"),
        )
        .where(data.c.vdn_id == vdn_id, data.c.campaign_id == campaign_id)
        .group_by(batch)
    )
    return list(await conn.execute(stmt))


def _attempts_of(vdn_id: int, campaign_id: int) -> tuple[sa.FromClause, list[Any]]:
    source = data_result.join(
        data,
        sa.and_(data.c.vdn_id == data_result.c.vdn_id, data.c.data_id == data_result.c.data_id),
    )
    where = [
        data_result.c.vdn_id == vdn_id,
        data_result.c.campaign_id == campaign_id,
        data_result.c.kind == ATTEMPT,
        data.c.campaign_id == campaign_id,
    ]
    return source, where


async def attempt_counts(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, today: tuple[datetime, datetime]
) -> list[sa.Row[Any]]:
    """Per customField of the record: placed, answered, placed_today, answered_today."""
    source, where = _attempts_of(vdn_id, campaign_id)
    answered = data_result.c.call_status == 6
    in_today = _within(call_time(), *today)
    stmt = (
        sa.select(
            data.c.custom_field.label("batch"),
            sa.func.count().label("placed"),
            _count_if(answered).label("answered"),
            _count_if(in_today).label("placed_today"),
            _count_if(sa.and_(answered, in_today)).label("answered_today"),
        )
        .select_from(source)
        .where(*where)
        .group_by(data.c.custom_field)
    )
    return list(await conn.execute(stmt))


async def fail_counts(
    conn: AsyncConnection,
    vdn_id: int,
    campaign_id: int,
    days: list[tuple[date, datetime, datetime]],
) -> list[tuple[str, str, int]]:
    """``(yyyy-MM-dd, failCode, attempts)`` for each day ``(day, start, stop)`` with attempts."""
    if not days:
        return []
    source, where = _attempts_of(vdn_id, campaign_id)
    when = call_time()
    label = sa.case(
        *[(_within(when, start, stop), day.isoformat()) for day, start, stop in days],
        else_=None,
    )
    # Label each attempt in a subquery and group outside: PostgreSQL cannot
    # match a GROUP BY expression whose parameters are bound separately.
    labelled = (
        sa.select(label.label("stat_date"), data_result.c.fail_code.label("fail_code"))
        .select_from(source)
        .where(*where, when >= days[0][1], when < days[-1][2])
        .subquery()
    )
    stmt = (
        sa.select(labelled.c.stat_date, labelled.c.fail_code, sa.func.count().label("attempts"))
        .where(labelled.c.stat_date.is_not(None))
        .group_by(labelled.c.stat_date, labelled.c.fail_code)
        .order_by(labelled.c.stat_date, labelled.c.fail_code)
    )
    rows = await conn.execute(stmt)
    return [(str(r.stat_date), str(r.fail_code), int(r.attempts)) for r in rows]
