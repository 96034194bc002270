"""Campaign times: ``yyyy-MM-dd HH:mm:ss`` instants in UTC and the daily calling slots.

``scheduleParam`` holds three workday and three holiday slots, each a
``...BeginTimeN``/``...EndTimeN`` pair of ``HH:mm`` (or empty). Pure: ``now``
is always an argument.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from openisales.errors import ParamError
from openisales.validation import COMBINATION, EMPTY, ILLEGAL, Obj, Str

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
_HHMM_RE = re.compile(r"([01]\d|2[0-3]):[0-5]\d", re.ASCII)

SLOTS = tuple((day, i) for day in ("workday", "holiday") for i in (1, 2, 3))
SCHEDULE_KEYS = tuple(f"{day}{edge}Time{i}" for day, i in SLOTS for edge in ("Begin", "End"))

SCHEDULE_SPEC = Obj(
    "scheduleParam",
    tuple(Str(key, max_len=5, description="HH:mm or empty") for key in SCHEDULE_KEYS),
    required=True,
    description="up to three calling slots for workdays and three for holidays, in the "
    "VDN's time zone; at least one",
)


def parse_time(text: str, field: str) -> datetime:
    """``yyyy-MM-dd HH:mm:ss`` (UTC) -> aware datetime; ``02000002`` otherwise."""
    try:
        if not _TIME_RE.fullmatch(text):
            raise ValueError(text)
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ParamError(ILLEGAL, field, "must be a time yyyy-MM-dd HH:mm:ss (UTC)") from None


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def start_of_day(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def check_schedule(checked: dict[str, Any]) -> dict[str, str]:
    """Each slot is a begin/end pair of ``HH:mm`` with begin < end; at least one slot."""
    out = {key: checked[key] or "" for key in SCHEDULE_KEYS}
    for key, value in out.items():
        if value and not _HHMM_RE.fullmatch(value):
            raise ParamError(ILLEGAL, f"scheduleParam.{key}", "must be HH:mm")
    for day, i in SLOTS:
        begin, end = f"{day}BeginTime{i}", f"{day}EndTime{i}"
        if bool(out[begin]) != bool(out[end]):
            missing, given = (end, begin) if out[begin] else (begin, end)
            raise ParamError(COMBINATION, f"scheduleParam.{missing}", f"must be set with {given}")
        if out[begin] and out[begin] >= out[end]:
            raise ParamError(COMBINATION, f"scheduleParam.{begin}", f"must be before {end}")
    if not any(out.values()):
        raise ParamError(EMPTY, "scheduleParam", "must hold at least one begin/end pair")
    return out
