"""SQL for the per-VDN holiday calendar (``t_isl_holiday``).

Dates are stored as ``yyyy-mm-dd`` text in the VDN's local calendar, so that
text order is date order on every engine.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.store.tables import holiday as t


@dataclass(frozen=True, order=True)
class Holiday:
    day: date
    name: str


def _holiday(row: sa.Row[tuple[str, str]]) -> Holiday:
    return Holiday(date.fromisoformat(row.holiday_date), row.name)


async def upsert(
    conn: AsyncConnection, vdn_id: int, holidays: Collection[Holiday], now: datetime
) -> None:
    """Insert each holiday; a date already listed keeps its ``created_at`` and takes the new name.

    The dates must be distinct (one statement cannot update a row twice).
    """
    if not holidays:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(t)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.vdn_id, t.c.holiday_date], set_={"name": stmt.excluded.name}
    )
    await conn.execute(
        stmt,
        [
            {"vdn_id": vdn_id, "holiday_date": h.day.isoformat(), "name": h.name, "created_at": now}
            for h in holidays
        ],
    )


async def select(conn: AsyncConnection, vdn_id: int, year: int | None = None) -> list[Holiday]:
    """The VDN's holidays in date order, all of them or those of ``year``."""
    stmt = sa.select(t.c.holiday_date, t.c.name).where(t.c.vdn_id == vdn_id)
    if year is not None:
        stmt = stmt.where(t.c.holiday_date.between(f"{year:04d}-01-01", f"{year:04d}-12-31"))
    return [_holiday(r) for r in await conn.execute(stmt.order_by(t.c.holiday_date))]


async def select_days(conn: AsyncConnection, vdn_id: int, days: Collection[date]) -> list[Holiday]:
    """The VDN's holidays on ``days``, in date order."""
    if not days:
        return []
    texts = sorted({d.isoformat() for d in days})
    stmt = sa.select(t.c.holiday_date, t.c.name).where(
        t.c.vdn_id == vdn_id, t.c.holiday_date.in_(texts)
    )
    return [_holiday(r) for r in await conn.execute(stmt.order_by(t.c.holiday_date))]


async def delete(conn: AsyncConnection, vdn_id: int, days: Collection[date]) -> list[Holiday]:
    """Delete the listed dates; returns the holidays that existed, in date order."""
    if not days:
        return []
    texts = sorted({d.isoformat() for d in days})
    rows = await conn.execute(
        sa.delete(t)
        .where(t.c.vdn_id == vdn_id, t.c.holiday_date.in_(texts))
        .returning(t.c.holiday_date, t.c.name)
    )
    return sorted(_holiday(r) for r in rows)


async def holiday_set(conn: AsyncConnection, vdn_id: int) -> frozenset[date]:
    """Every holiday date of the VDN (VDN-local), for :mod:`openisales.domain.window`."""
    rows = await conn.execute(sa.select(t.c.holiday_date).where(t.c.vdn_id == vdn_id))
    return frozenset(date.fromisoformat(r.holiday_date) for r in rows)
