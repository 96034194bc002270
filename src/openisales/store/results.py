"""SQL for the call-result query: completed records and their attempts.

An attempt's *call time* is when it started ringing (``ack_begin_time``), or,
when the gateway did not say, when its outcome was recorded (``created_at``).
Time filters are half-open ranges of UTC instants computed by the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.calldata import DataStatus
from openisales.store.credentials import get_vdn
from openisales.store.tables import UTCDateTime, data, data_result

ATTEMPT = "attempt"
BUSI = "busi"
T = TypeVar("T")


def call_time(result: Any = data_result) -> sa.ColumnElement[datetime]:
    """The call time of an attempt row of ``result`` (``t_isl_data_result`` or an alias)."""
    return sa.func.coalesce(result.c.ack_begin_time, result.c.created_at, type_=UTCDateTime)


def end_time(result: Any = data_result) -> sa.ColumnElement[datetime]:
    """When an attempt ended: its hang-up, or, when the gateway did not say, when it was
    recorded."""
    return sa.func.coalesce(result.c.call_end_time, result.c.created_at, type_=UTCDateTime)


def of_last_attempt(
    value: Callable[[Any], sa.ColumnElement[T]], vdn_id: Any, data_id: Any
) -> sa.ScalarSelect[T]:
    """``value`` of the last attempt of the record ``(vdn_id, data_id)`` (columns to correlate).

    The last attempt is the one of the highest ``attempt_no`` (the one the query
    with ``showDetail`` 0 returns); None when the record has no attempt.
    """
    last = data_result.alias("last_attempt")
    return (
        sa.select(value(last))
        .where(last.c.vdn_id == vdn_id, last.c.data_id == data_id, last.c.kind == ATTEMPT)
        .order_by(last.c.attempt_no.desc(), last.c.result_id.desc())
        .limit(1)
        .scalar_subquery()
    )


async def vdn_zone(conn: AsyncConnection, vdn_id: int) -> ZoneInfo:
    found = await get_vdn(conn, vdn_id)
    return ZoneInfo(found.time_zone if found else "UTC")


@dataclass(frozen=True)
class Filter:
    vdn_id: int
    campaign_id: int
    session_id: str | None
    custom_field: str | None
    start: datetime | None  # call time >= start
    stop: datetime | None  # call time < stop


_attempt = data_result.alias("attempt")
_earlier = data_result.alias("earlier")
_TIME = call_time(_attempt)

_COLUMNS = (
    data.c.data_id,
    data.c.session_id,
    data.c.custom_field,
    _attempt.c.result_id,
    _attempt.c.attempt_no,
    _attempt.c.called,
    _attempt.c.call_status,
    _attempt.c.fail_code,
    _attempt.c.result_code,
    _attempt.c.call_id,
    _TIME.label("call_time"),
)


def _from(f: Filter, *, detail: bool) -> tuple[sa.FromClause, list[sa.ColumnElement[bool]]]:
    on: list[sa.ColumnElement[bool]] = [
        _attempt.c.vdn_id == data.c.vdn_id,
        _attempt.c.data_id == data.c.data_id,
        _attempt.c.kind == ATTEMPT,
    ]
    if not detail:  # only the record's latest attempt
        latest = (
            sa.select(sa.func.max(_earlier.c.attempt_no))
            .where(
                _earlier.c.vdn_id == data.c.vdn_id,
                _earlier.c.data_id == data.c.data_id,
                _earlier.c.kind == ATTEMPT,
            )
            .scalar_subquery()
        )
        on.append(_attempt.c.attempt_no == latest)
    where: list[sa.ColumnElement[bool]] = [
        data.c.vdn_id == f.vdn_id,
        data.c.campaign_id == f.campaign_id,
        data.c.status == int(DataStatus.COMPLETED),
    ]
    if f.session_id is not None:
        where.append(data.c.session_id == f.session_id)
    if f.custom_field is not None:
        where.append(data.c.custom_field == f.custom_field)
    if f.start is not None:
        where.append(_TIME >= f.start)
    if f.stop is not None:
        where.append(_TIME < f.stop)
    return data.join(_attempt, sa.and_(*on)), where


async def count(conn: AsyncConnection, f: Filter, *, detail: bool) -> int:
    source, where = _from(f, detail=detail)
    stmt = sa.select(sa.func.count()).select_from(source).where(*where)
    return int((await conn.execute(stmt)).scalar_one())


async def page(
    conn: AsyncConnection, f: Filter, *, detail: bool, limit: int, offset: int
) -> list[sa.Row[Any]]:
    """Rows in call-time order; ``busi_result``/``sub_status`` are the record's (final)."""
    source, where = _from(f, detail=detail)
    stmt = (
        sa.select(*_COLUMNS, data.c.busi_result, data.c.sub_status)
        .select_from(source)
        .where(*where)
        .order_by(_TIME, _attempt.c.result_id)
        .limit(limit)
        .offset(offset)
    )
    return list(await conn.execute(stmt))


async def write_backs(
    conn: AsyncConnection, vdn_id: int, data_ids: list[int]
) -> dict[tuple[int, int], sa.Row[Any]]:
    """The latest write-back of each (record, attempt) among ``data_ids``."""
    if not data_ids:
        return {}
    stmt = (
        sa.select(
            data_result.c.data_id,
            data_result.c.attempt_no,
            data_result.c.busi_result,
            data_result.c.sub_status,
        )
        .where(
            data_result.c.vdn_id == vdn_id,
            data_result.c.data_id.in_(sorted(set(data_ids))),
            data_result.c.kind == BUSI,
        )
        .order_by(data_result.c.created_at, data_result.c.result_id)
    )
    return {(r.data_id, r.attempt_no): r for r in await conn.execute(stmt)}
