"""The VDN's blocklist (spec 2.10): request shapes, validity and the blocking rule. Pure.

A listed number is **blocked** while its entry is active (no expiry, or the
expiry still ahead). An entry without ``restrictTimes`` blocks the number
outright; an entry with ``restrictTimes``/``restrictPeriod`` only limits it:
the number may be called ``restrictTimes`` times per hour (``"0"``) or day
(``"1"``, the VDN's local day), counted from the attempts recorded for it in
the VDN (ours; Huawei: "blacklisted numbers rejected unless within their
restriction quota"). See ``docs/blocklist.md``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from openisales.domain.calldata import NUMBER_CHARS, parse_time
from openisales.errors import Conflict, ParamError
from openisales.validation import BAD_VALUE, COMBINATION, EMPTY, Int, List, Obj, Str

MAX_NUMBERS = 20
TOO_MANY = "0200029"
DUPLICATE = "0200018"
ALREADY_LISTED = "0200007"
BLOCKED_IN_REQUEST = "0200024"
# The failCode of an attempt refused at dial time because its number is blocked (ours).
BLOCKED = "39001"

HOURLY, DAILY = "0", "1"
YEAR, MONTH, DAY, HOUR = 1, 2, 3, 4
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

_NUMBER = Str("number", required=True, max_len=24, allowed=NUMBER_CHARS, description="a number")

ADD_SPEC = Obj(
    "body",
    (
        List(
            "blocklist",
            _NUMBER,
            required=True,
            max_items=MAX_NUMBERS,
            too_many_code=TOO_MANY,
            description="numbers to list, each once, none already listed unless isCoverDupNo=1",
        ),
        Str(
            "validityExpirationTime",
            max_len=19,
            description="yyyy-MM-dd HH:mm:ss UTC, later than now; wins over validityTime",
        ),
        Int("validityTime", minimum=1, maximum=120, description="in validityTimeUnit"),
        Int(
            "validityTimeUnit",
            choices=(YEAR, MONTH, DAY, HOUR),
            description="1 year, 2 month, 3 day, 4 hour (default)",
        ),
        Int("restrictTimes", minimum=1, maximum=100, description="calls allowed per period"),
        Str("restrictPeriod", max_len=1, allowed="01", description='"0" hourly, "1" daily'),
        Str("relCategoryId", max_len=64, description="stored and listed as given"),
        Str("typeId", max_len=64, description="stored and listed as given"),
        Int(
            "isCoverDupNo",
            choices=(0, 1),
            description="1 overwrites listed numbers; 0 (default) refuses them (0200007)",
        ),
    ),
    required=True,
)

QUERY_SPEC = Obj(
    "body",
    (
        List(
            "blocklist",
            _NUMBER,
            max_items=MAX_NUMBERS,
            too_many_code=TOO_MANY,
            description="the numbers to look up; or page with offset and limit",
        ),
        Int("offset", minimum=0, maximum=1_000_000_000, description="entries to skip (default 0)"),
        Int("limit", minimum=1, maximum=100, description="the page size, with offset"),
    ),
    required=True,
)

DELETE_SPEC = Obj(
    "body",
    (
        Str(
            "blocklistNo",
            required=True,
            max_len=24,
            allowed=NUMBER_CHARS,
            description="the number to remove",
        ),
    ),
    required=True,
)


@dataclass(frozen=True)
class Entry:
    number: str
    expires_at: datetime | None = None  # None = until deleted
    restrict_times: int | None = None
    restrict_period: str | None = None
    rel_category_id: str | None = None
    type_id: str | None = None

    @property
    def restricted(self) -> bool:
        return self.restrict_times is not None


@dataclass(frozen=True)
class AddPlan:
    entries: tuple[Entry, ...]
    cover: bool  # overwrite numbers that are already listed


@dataclass(frozen=True)
class QueryPlan:
    numbers: tuple[str, ...] | None  # None: page through the VDN's entries
    offset: int = 0
    limit: int = 0


def is_active(entry: Entry, now: datetime) -> bool:
    return entry.expires_at is None or entry.expires_at > now


def is_blocked(entry: Entry, attempts_in_period: int, now: datetime) -> bool:
    """Whether ``entry``'s number may not be called now.

    ``attempts_in_period``: attempts on the number in the current restriction
    period (:func:`period_start`); ignored for an entry without restriction.
    """
    if not is_active(entry, now):
        return False
    if entry.restrict_times is None:
        return True
    return attempts_in_period >= entry.restrict_times


def period_start(period: str, now: datetime, tz: tzinfo = UTC) -> datetime:
    """The start (UTC) of the hour (``"0"``) or ``tz``-local day (``"1"``) holding ``now``."""
    local = now.astimezone(tz)
    if period == HOURLY:
        start = local.replace(minute=0, second=0, microsecond=0)
    else:
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def expiry(amount: int, unit: int, now: datetime) -> datetime:
    """``now`` plus ``amount`` units; calendar years and months keep the day (clamped)."""
    if unit == YEAR:
        return _add_months(now, 12 * amount)
    if unit == MONTH:
        return _add_months(now, amount)
    if unit == DAY:
        return now + timedelta(days=amount)
    return now + timedelta(hours=amount)


def plan_add(body: dict[str, Any], now: datetime) -> AddPlan:
    """Checked add body -> entries; ``0200018`` for a number given twice."""
    numbers: list[str] = body["blocklist"]
    seen: set[str] = set()
    for i, number in enumerate(numbers):
        if number in seen:
            raise Conflict(f"blocklist[{i}]: duplicate number {number}", result_code=DUPLICATE)
        seen.add(number)
    times, period = body["restrictTimes"], body["restrictPeriod"]
    if (times is None) != (period is None):
        raise ParamError(
            COMBINATION, "restrictTimes", "restrictTimes and restrictPeriod go together"
        )
    expires: datetime | None = None
    if body["validityExpirationTime"]:
        expires = parse_time(body["validityExpirationTime"], "validityExpirationTime")
        if expires <= now:
            raise ParamError(BAD_VALUE, "validityExpirationTime", "must be later than now")
    elif body["validityTime"] is not None:
        expires = expiry(body["validityTime"], body["validityTimeUnit"] or HOUR, now)
    entries = tuple(
        Entry(n, expires, times, period, body["relCategoryId"], body["typeId"]) for n in numbers
    )
    return AddPlan(entries, cover=body["isCoverDupNo"] == 1)


def refuse_listed(numbers: list[str] | tuple[str, ...], listed: set[str]) -> None:
    """``0200007`` naming the first of ``numbers`` that is already (actively) listed."""
    for i, number in enumerate(numbers):
        if number in listed:
            raise Conflict(
                f"blocklist[{i}]: number {number} is already in the blocklist",
                result_code=ALREADY_LISTED,
            )


def plan_query(body: dict[str, Any]) -> QueryPlan:
    """Either ``blocklist`` (look the numbers up) or ``offset``/``limit`` (page)."""
    numbers = body["blocklist"]
    if numbers:
        if body["offset"] is not None or body["limit"] is not None:
            raise ParamError(
                COMBINATION, "blocklist", "give either blocklist or offset and limit, not both"
            )
        return QueryPlan(tuple(dict.fromkeys(numbers)))
    if body["limit"] is None:
        raise ParamError(EMPTY, "limit", "give blocklist, or limit (and offset) to page")
    return QueryPlan(None, body["offset"] or 0, body["limit"])


def to_wire(entry: Entry, now: datetime) -> dict[str, Any]:
    """One ``data`` item of the query answer; ``flag`` 1 = active, 0 = expired."""
    return {
        "blockNum": entry.number,
        "validityExpirationTime": entry.expires_at.astimezone(UTC).strftime(TIME_FORMAT)
        if entry.expires_at
        else None,
        "flag": 1 if is_active(entry, now) else 0,
        "restrictTimes": entry.restrict_times,
        "restrictPeriod": entry.restrict_period,
        "relCategoryId": entry.rel_category_id,
        "typeId": entry.type_id,
    }
