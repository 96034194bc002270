"""The campaign time window: the instants at which the dialer may place calls.

An instant ``t`` is *open* for a campaign when ``begin <= t < end``
(``strBeginTime``/``strEndTime``, UTC) and ``t`` lies in one of the calling
slots of a VDN-local day. For each local date ``D`` and each slot ``HH:mm``
to ``HH:mm`` of D's kind (workday or holiday), the slot covers the instants
``[resolve(D, begin), resolve(D, end))``, where ``resolve`` gives the first
instant whose wall-clock reading in the VDN's time zone is at or after that
local time. Consequences (all **ours**; see ``docs/schedule.md``):

* a slot is half-open: 09:00-12:00 is open at 09:00:00 and closed at 12:00:00;
  an end of ``23:59`` means the end of the day (open until 23:59:59.999999);
* no slot crosses midnight (``domain.schedule`` refuses begin >= end, and so
  does :meth:`Window.from_schedule`); a kind of day with no slot is never open;
* a day is a holiday when its local date is in the VDN's holiday calendar or
  its ISO weekday is in ``rest_days`` (empty by default: weekends are workdays
  unless listed);
* DST: a local time inside a gap resolves to the end of the gap (so a slot
  lying wholly inside the gap is empty); an ambiguous local time resolves to
  its first occurrence.

Pure: the clock, the calendar and the time zone are arguments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from openisales.domain.schedule import SLOTS

MINUTES_PER_DAY = 24 * 60
END_OF_DAY = "23:59"  # as a slot end: the end of the day
HORIZON_DAYS = 400  # next_open looks at most this far beyond max(now, begin)
_LATEST = datetime(9999, 12, 28, tzinfo=UTC)  # nothing is open from here on (date arithmetic)
_HHMM_RE = re.compile(r"([01]\d|2[0-3]):([0-5]\d)", re.ASCII)

Schedule = Mapping[str, str | None]


@dataclass(frozen=True, order=True)
class Slot:
    """A daily calling slot in local minutes after midnight: ``[begin, end)``."""

    begin: int
    end: int  # exclusive; MINUTES_PER_DAY for an end of "23:59"

    @classmethod
    def parse(cls, begin: str, end: str) -> Slot:
        """``HH:mm`` pair -> slot; ``ValueError`` when malformed or not begin < end."""
        slot = cls(_minutes(begin), MINUTES_PER_DAY if end == END_OF_DAY else _minutes(end))
        if slot.begin >= slot.end:
            raise ValueError(f"slot {begin}-{end}: begin must be before end")
        return slot


def _minutes(text: str) -> int:
    match = _HHMM_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not HH:mm")
    return int(match[1]) * 60 + int(match[2])


@dataclass(frozen=True)
class Window:
    """The daily slots of a ``scheduleParam``, sorted by begin, per kind of day."""

    workday: tuple[Slot, ...]
    holiday: tuple[Slot, ...]

    @classmethod
    def from_schedule(cls, schedule: Schedule) -> Window:
        """Parse a ``scheduleParam`` dict; missing, None and ``""`` keys are empty.

        Raises ``ValueError`` for a malformed time, a begin without its end (or
        the reverse) and a slot whose begin is not before its end.
        """
        slots: dict[str, list[Slot]] = {"workday": [], "holiday": []}
        for day, i in SLOTS:
            begin = schedule.get(f"{day}BeginTime{i}") or ""
            end = schedule.get(f"{day}EndTime{i}") or ""
            if bool(begin) != bool(end):
                raise ValueError(f"{day} slot {i}: begin and end go together")
            if begin:
                slots[day].append(Slot.parse(begin, end))
        return cls(tuple(sorted(slots["workday"])), tuple(sorted(slots["holiday"])))

    def slots_on(
        self, day: date, holidays: AbstractSet[date], rest_days: AbstractSet[int] = frozenset()
    ) -> tuple[Slot, ...]:
        return self.holiday if is_holiday(day, holidays, rest_days) else self.workday


def is_holiday(
    day: date, holidays: AbstractSet[date], rest_days: AbstractSet[int] = frozenset()
) -> bool:
    """Listed in the calendar, or an ISO weekday (1 Monday..7 Sunday) in ``rest_days``."""
    return day in holidays or day.isoweekday() in rest_days


def _wall(moment: datetime, tz: tzinfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def resolve(day: date, minute: int, tz: tzinfo) -> datetime:
    """The first instant (UTC) whose wall clock in ``tz`` reads ``day`` + ``minute`` or later.

    An ambiguous local time gives its first occurrence; a local time inside a
    DST gap gives the instant the gap ends.
    """
    local = datetime.combine(day, time()) + timedelta(minutes=minute)
    early = local.replace(tzinfo=tz).astimezone(UTC)  # fold=0: first occurrence if ambiguous
    if _wall(early, tz) == local:
        return early
    # In a gap: the transition lies in (fold=1 reading, fold=0 reading]; bisect to the second.
    lo, hi = sorted((local.replace(tzinfo=tz, fold=1).astimezone(UTC), early))
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if _wall(mid, tz) >= local:
            hi = mid
        else:
            lo = mid
    return hi


def intervals(
    window: Window,
    day: date,
    tz: tzinfo,
    holidays: AbstractSet[date],
    rest_days: AbstractSet[int] = frozenset(),
) -> list[tuple[datetime, datetime]]:
    """The open ``[start, stop)`` instants (UTC) of local date ``day``, ignoring begin/end."""
    out: list[tuple[datetime, datetime]] = []
    for slot in window.slots_on(day, holidays, rest_days):
        start, stop = resolve(day, slot.begin, tz), resolve(day, slot.end, tz)
        if start < stop:
            out.append((start, stop))
    return out


def _window(schedule: Window | Schedule) -> Window:
    return schedule if isinstance(schedule, Window) else Window.from_schedule(schedule)


def _aware(*moments: datetime) -> None:
    if any(m.tzinfo is None or m.utcoffset() is None for m in moments):
        raise ValueError("naive datetime given to the time window")


def is_open(
    schedule: Window | Schedule,
    *,
    begin: datetime,
    end: datetime,
    tz: tzinfo,
    holidays: AbstractSet[date],
    now: datetime,
    rest_days: AbstractSet[int] = frozenset(),
) -> bool:
    """Whether the dialer may call at ``now`` (see the module docstring for the rule).

    ``schedule`` is a ``scheduleParam`` dict or a parsed :class:`Window`;
    ``holidays`` are VDN-local dates. Raises ``ValueError`` for a naive datetime
    or a malformed schedule.
    """
    _aware(begin, end, now)
    window = _window(schedule)
    if not begin <= now < end or now >= _LATEST:
        return False
    today = _wall(now, tz).date()
    for offset in (-1, 0, 1):
        day = today + timedelta(days=offset)
        if any(s <= now < e for s, e in intervals(window, day, tz, holidays, rest_days)):
            return True
    return False


def next_open(
    schedule: Window | Schedule,
    *,
    begin: datetime,
    end: datetime,
    tz: tzinfo,
    holidays: AbstractSet[date],
    now: datetime,
    rest_days: AbstractSet[int] = frozenset(),
) -> datetime | None:
    """The earliest instant ``>= now`` at which :func:`is_open` holds, as UTC.

    ``now`` itself when it is open. None when no instant before ``end`` is open
    within :data:`HORIZON_DAYS` days of ``max(now, begin)``: the campaign cannot
    call again, or (for a campaign ending later than that) not within the
    horizon, so ask again later. The result is always earlier than ``end``.
    Raises ``ValueError`` for a naive datetime or a malformed schedule.
    """
    _aware(begin, end, now)
    window = _window(schedule)
    start = max(now, begin).astimezone(UTC)
    if start >= min(end, _LATEST):
        return None
    horizon = min(end, _LATEST, start + timedelta(days=HORIZON_DAYS))
    first = _wall(start, tz).date() - timedelta(days=1)
    last = _wall(horizon, tz).date() + timedelta(days=1)
    day = first
    while day <= last:
        for opens, closes in intervals(window, day, tz, holidays, rest_days):
            lo, hi = max(opens, start), min(closes, end)
            if lo < hi:
                return lo
        day += timedelta(days=1)
    return None
