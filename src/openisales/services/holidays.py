"""The per-VDN holiday calendar (ours): add, list and delete holidays; load it for the dialer.

A holiday is a VDN-local date (``yyyy-mm-dd``) with a name of at most 64
characters. Adding a date that is already listed replaces its name (adding is
idempotent); deleting a date that is not listed is not an error. Which days
are holidays decides which ``scheduleParam`` slots apply
(:mod:`openisales.domain.window`). See ``docs/schedule.md``.

Adds and deletes append one audit entry (``services.audit``, ``holiday.add``
and ``holiday.delete``) in their transaction; a delete that removed nothing
changed nothing and is not audited.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.errors import NotFound, ParamError
from openisales.services import audit
from openisales.services.audit import Actor
from openisales.store import credentials, holidays as store
from openisales.store.holidays import Holiday
from openisales.store.sql import reading, transaction
from openisales.validation import COMBINATION, Int, List, Obj, Str

MAX_PER_REQUEST = 366
BAD_DATE = "0200030"
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATE = "yyyy-mm-dd, VDN-local"

ADD_SPEC = Obj(
    "body",
    (
        List(
            "holidays",
            Obj(
                "holiday",
                (
                    Str("date", required=True, description=_DATE),
                    Str("name", max_len=64, description="empty when omitted"),
                ),
                required=True,
                description="a holiday",
            ),
            required=True,
            max_items=MAX_PER_REQUEST,
            description="a listed date takes the new name",
        ),
    ),
    required=True,
)
DELETE_SPEC = Obj(
    "body",
    (
        List(
            "dates",
            Str("date", required=True, description=_DATE),
            required=True,
            max_items=MAX_PER_REQUEST,
            description="dates not listed are ignored",
        ),
    ),
    required=True,
)
_NAME = Str("name", max_len=64)
LIST_SPEC = (
    Int("year", minimum=1, maximum=9999, from_text=True, description="only this year's holidays"),
)


def parse_date(text: str, field: str) -> date:
    """``yyyy-mm-dd`` -> date; ``0200030`` when malformed or not a calendar date."""
    try:
        if not _DATE_RE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ParamError(BAD_DATE, field, "must be a date yyyy-mm-dd") from None


def holiday(text: str, name: str) -> Holiday:
    """One holiday from a date text and a name (the CLI's checks); ``ParamError`` when bad."""
    return Holiday(parse_date(text, "date"), _NAME.check(name, "name") or "")


def plan_add(body: dict[str, Any]) -> list[Holiday]:
    """A checked add body -> holidays; a date repeated in the request is ``02000009``."""
    out: dict[date, Holiday] = {}
    for i, item in enumerate(body["holidays"]):
        field = f"holidays[{i}].date"
        day = parse_date(item["date"], field)
        if day in out:
            raise ParamError(COMBINATION, field, f"repeats {item['date']}")
        out[day] = Holiday(day, item["name"] or "")
    return list(out.values())


def plan_delete(body: dict[str, Any]) -> set[date]:
    return {parse_date(text, f"dates[{i}]") for i, text in enumerate(body["dates"])}


def to_wire(holidays: Sequence[Holiday]) -> dict[str, Any]:
    """``{"data": [{"date", "name"}, ...], "totalCount": n}`` in date order."""
    data = [{"date": h.day.isoformat(), "name": h.name} for h in sorted(holidays)]
    return {"data": data, "totalCount": len(data)}


async def _check_vdn(conn: AsyncConnection, vdn_id: int) -> str:
    vdn = await credentials.get_vdn(conn, vdn_id)
    if vdn is None:
        raise NotFound(f"vdnId: VDN {vdn_id} does not exist")
    return vdn.time_zone


def _target(days: Collection[date]) -> str:
    """``holiday D``, ``holidays D1, D2, D3``, or ``holidays FIRST .. LAST (N)`` for more."""
    listed = sorted(days)
    if len(listed) == 1:
        return f"holiday {listed[0]}"
    if len(listed) <= 3:
        return "holidays " + ", ".join(d.isoformat() for d in listed)
    return f"holidays {listed[0]} .. {listed[-1]} ({len(listed)})"


def _snapshot(holidays: Collection[Holiday]) -> list[dict[str, str]]:
    return [{"date": h.day.isoformat(), "name": h.name} for h in sorted(holidays)]


async def add(
    engine: AsyncEngine,
    *,
    vdn_id: int,
    holidays: Collection[Holiday],
    now: datetime,
    actor: Actor,
) -> list[Holiday]:
    """List each holiday (dates distinct), replacing the name of a date already listed.

    Returns the holidays in date order. Raises :class:`NotFound` (``0200007``)
    for an unknown VDN, :class:`StorageError` (``0200006``) when the database fails.
    """
    async with transaction(engine) as conn:
        await _check_vdn(conn, vdn_id)
        days = {h.day for h in holidays}
        before = await store.select_days(conn, vdn_id, days)
        await store.upsert(conn, vdn_id, holidays, now)
        if holidays:
            await audit.record(
                conn,
                actor,
                "holiday.add",
                vdn_id=vdn_id,
                target=_target(days),
                now=now,
                before=_snapshot(before) or None,
                after=_snapshot(holidays),
            )
    return sorted(holidays)


async def query(engine: AsyncEngine, *, vdn_id: int, year: int | None = None) -> list[Holiday]:
    """The VDN's holidays in date order (only those of ``year`` when given)."""
    async with reading(engine) as conn:
        await _check_vdn(conn, vdn_id)
        return await store.select(conn, vdn_id, year)


async def delete(
    engine: AsyncEngine, *, vdn_id: int, days: Collection[date], now: datetime, actor: Actor
) -> list[Holiday]:
    """Remove the listed dates; returns the holidays that were listed, in date order."""
    async with transaction(engine) as conn:
        await _check_vdn(conn, vdn_id)
        deleted = await store.delete(conn, vdn_id, days)
        if deleted:
            await audit.record(
                conn,
                actor,
                "holiday.delete",
                vdn_id=vdn_id,
                target=_target([h.day for h in deleted]),
                now=now,
                before=_snapshot(deleted),
            )
        return deleted


@dataclass(frozen=True)
class Calendar:
    """What the time window needs from a VDN: its time zone and holiday dates."""

    tz: ZoneInfo
    holidays: frozenset[date]


async def calendar(conn: AsyncConnection, vdn_id: int) -> Calendar:
    """The VDN's time zone and holidays, read on ``conn``; :class:`NotFound` for an unknown VDN."""
    tz = ZoneInfo(await _check_vdn(conn, vdn_id))
    return Calendar(tz, await store.holiday_set(conn, vdn_id))
