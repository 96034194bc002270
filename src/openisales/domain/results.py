"""Call-result query (spec 2.5): request spec, paging and the pure date-range rules.

Dates on the wire are ``yyyy-MM-dd`` days of the VDN's time zone
(``t_isl_vdn.time_zone``); a day range becomes a half-open range of UTC
instants here, in Python, so that the SQL is the same on every engine. Rules
that are ours are listed in ``docs/results.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openisales.errors import ParamError
from openisales.validation import BAD_VALUE, Int, Obj, Str

# Huawei's codes for the callresult date filter; the failure-category
# statistics reuse them for its startDate/endDate (ours).
DATES_NOT_PAIRED = "0200008"
BAD_DATE = "0200009"
DATES_OUT_OF_ORDER = "0200010"
RANGE_TOO_LONG = "0200011"

MAX_DAYS = 30
FINAL_MAX_PAGE = 500  # showDetail 0
DETAIL_MAX_PAGE = 100  # showDetail 1
UNPAGED_ROWS = 2000  # no pageSize: at most this many rows
_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

CALL_RESULT_SPEC = Obj(
    "body",
    (
        Str("sessionId", max_len=32, description="only records with this sessionId"),
        Str("customField", max_len=200, description="only records of this batch"),
        Int(
            "pageSize",
            minimum=1,
            maximum=FINAL_MAX_PAGE,
            description="at most 500 (showDetail 0) or 100 (showDetail 1); "
            "absent: pages of 2000 rows",
        ),
        Int("pageNum", minimum=1, maximum=1_000_000_000, description="from 1; default 1"),
        Int(
            "showDetail",
            choices=(0, 1),
            description="0 (default) the final result of each completed record, "
            "1 every attempt of completed records",
        ),
        Str("beginTime", description="yyyy-MM-dd, VDN-local, inclusive; with endTime"),
        Str("endTime", description="yyyy-MM-dd, VDN-local, exclusive; with beginTime"),
    ),
)


@dataclass(frozen=True)
class DayRange:
    """The VDN-local days ``first`` (inclusive) to ``stop`` (exclusive)."""

    first: date
    stop: date

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.stop - self.first).days)]

    def instants(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """``[start, stop)`` in UTC: local midnight of ``first`` to local midnight of ``stop``."""
        return day_start(self.first, tz), day_start(self.stop, tz)


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which the VDN-local ``day`` begins (its 00:00 wall clock)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def format_local(moment: datetime | None, tz: ZoneInfo) -> str | None:
    """``yyyy-MM-dd HH:mm:ss`` wall clock of the VDN, as callTimeStr shows it."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment else None


def parse_day(text: str, field: str) -> date:
    if not _DAY_RE.fullmatch(text):
        raise ParamError(BAD_DATE, field, "must be a date yyyy-MM-dd")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ParamError(BAD_DATE, field, "is not a calendar date") from None


def day_range(
    begin: str | None,
    end: str | None,
    *,
    names: tuple[str, str],
    end_inclusive: bool,
) -> DayRange | None:
    """The checked range of two optional day strings; None when both are absent.

    ``0200008`` when only one is given, ``0200009`` for a bad date, ``0200010``
    when ``begin`` is not before ``end`` (not after, when ``end_inclusive``),
    ``0200011`` when the range covers more than 30 days.
    """
    if begin is None and end is None:
        return None
    if begin is None or end is None:
        raise ParamError(
            DATES_NOT_PAIRED,
            names[0] if begin is None else names[1],
            "must be given with the other",
        )
    first, last = parse_day(begin, names[0]), parse_day(end, names[1])
    stop = last + timedelta(days=1) if end_inclusive else last
    if stop <= first:
        relation = "after" if end_inclusive else "before or on"
        raise ParamError(DATES_OUT_OF_ORDER, names[1], f"must not be {relation} {names[0]}")
    if (stop - first).days > MAX_DAYS:
        raise ParamError(RANGE_TOO_LONG, names[1], f"the range may cover at most {MAX_DAYS} days")
    return DayRange(first, stop)


@dataclass(frozen=True)
class ResultQuery:
    session_id: str | None
    custom_field: str | None
    detail: bool
    limit: int
    offset: int
    days: DayRange | None


def plan_result_query(body: dict[str, Any] | None) -> ResultQuery:
    """A checked body (or None for an empty body) as a query; ``02000007`` for a page too big."""
    body = body or {}
    detail = body.get("showDetail") == 1
    size = body.get("pageSize")
    if size is not None and detail and size > DETAIL_MAX_PAGE:
        raise ParamError(
            BAD_VALUE, "pageSize", f"must be at most {DETAIL_MAX_PAGE} with showDetail 1"
        )
    limit = size if size is not None else UNPAGED_ROWS
    page = body.get("pageNum") or 1
    return ResultQuery(
        session_id=body.get("sessionId"),
        custom_field=body.get("customField"),
        detail=detail,
        limit=limit,
        offset=(page - 1) * limit,
        days=day_range(
            body.get("beginTime"),
            body.get("endTime"),
            names=("beginTime", "endTime"),
            end_inclusive=False,
        ),
    )
