"""The campaign time window: worked examples in Shanghai and across Paris's DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from openisales.domain.schedule import SCHEDULE_KEYS, check_schedule
from openisales.domain.window import (
    HORIZON_DAYS,
    MINUTES_PER_DAY,
    Slot,
    Window,
    is_open,
    next_open,
    resolve,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 6, 1)  # 2026-06-01 is a Monday

SCHEDULE = {
    "workdayBeginTime1": "09:00",
    "workdayEndTime1": "12:00",
    "workdayBeginTime2": "14:00",
    "workdayEndTime2": "18:00",
    "holidayBeginTime1": "10:00",
    "holidayEndTime1": "11:00",
}
BEGIN = datetime(2026, 5, 1, tzinfo=UTC)
END = datetime(2026, 12, 31, tzinfo=UTC)


def sh(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """A Shanghai wall-clock time as a UTC instant."""
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=SHANGHAI).astimezone(UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def open_at(now: datetime, schedule: Any = SCHEDULE, **kw: Any) -> bool:
    args: dict[str, Any] = {"begin": BEGIN, "end": END, "tz": SHANGHAI, "holidays": frozenset()}
    return is_open(schedule, **(args | kw), now=now)


def next_at(now: datetime, schedule: Any = SCHEDULE, **kw: Any) -> datetime | None:
    args: dict[str, Any] = {"begin": BEGIN, "end": END, "tz": SHANGHAI, "holidays": frozenset()}
    return next_open(schedule, **(args | kw), now=now)


@pytest.mark.parametrize(
    ("hh", "mm", "ss", "expected"),
    [
        (8, 59, 59, False),
        (9, 0, 0, True),
        (11, 59, 59, True),
        (12, 0, 0, False),  # the end is exclusive
        (13, 0, 0, False),
        (14, 0, 0, True),
        (17, 59, 59, True),
        (18, 0, 0, False),
        (23, 30, 0, False),
    ],
)
def test_workday_slots_are_half_open(hh: int, mm: int, ss: int, expected: bool) -> None:
    assert open_at(sh(MONDAY, hh, mm, ss)) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (sh(MONDAY, 7), sh(MONDAY, 9)),
        (sh(MONDAY, 10, 15), sh(MONDAY, 10, 15)),  # open now: now itself
        (sh(MONDAY, 12), sh(MONDAY, 14)),
        (sh(MONDAY, 18, 30), sh(MONDAY + timedelta(days=1), 9)),
    ],
)
def test_next_open_on_workdays(now: datetime, expected: datetime) -> None:
    assert next_at(now) == expected


def test_weekends_are_workdays_unless_listed_or_rest_days() -> None:
    saturday = MONDAY + timedelta(days=5)
    assert open_at(sh(saturday, 9, 30))
    assert not open_at(sh(saturday, 9, 30), holidays=frozenset({saturday}))
    # ISO weekdays 6 and 7 as rest days: the holiday slot (10:00-11:00) applies
    weekend = frozenset({6, 7})
    assert not open_at(sh(saturday, 9, 30), rest_days=weekend)
    assert open_at(sh(saturday, 10, 30), rest_days=weekend)
    assert next_at(sh(saturday, 11), rest_days=weekend) == sh(saturday + timedelta(days=1), 10)


def test_a_holiday_uses_its_own_slots() -> None:
    holidays = frozenset({MONDAY})
    assert not open_at(sh(MONDAY, 9, 30), holidays=holidays)
    assert open_at(sh(MONDAY, 10), holidays=holidays)
    assert not open_at(sh(MONDAY, 11), holidays=holidays)
    assert not open_at(sh(MONDAY, 15), holidays=holidays)
    assert next_at(sh(MONDAY, 8), holidays=holidays) == sh(MONDAY, 10)
    assert next_at(sh(MONDAY, 11), holidays=holidays) == sh(MONDAY + timedelta(days=1), 9)


def test_a_holiday_without_slots_is_never_open() -> None:
    workday_only = {k: v for k, v in SCHEDULE.items() if k.startswith("workday")}
    holidays = frozenset({MONDAY, MONDAY + timedelta(days=1)})
    assert not open_at(sh(MONDAY, 10), workday_only, holidays=holidays)
    assert next_at(sh(MONDAY, 8), workday_only, holidays=holidays) == sh(
        MONDAY + timedelta(days=2), 9
    )


def test_a_holiday_is_a_vdn_local_date() -> None:
    # 2026-06-01 00:30 in Shanghai is still 2026-05-31 in UTC; the Shanghai date decides.
    all_day = {"holidayBeginTime1": "00:00", "holidayEndTime1": "23:59"}
    assert open_at(sh(MONDAY, 0, 30), all_day, holidays=frozenset({MONDAY}))
    assert not open_at(sh(MONDAY, 0, 30), all_day, holidays=frozenset({MONDAY - timedelta(1)}))


def test_before_str_begin_time() -> None:
    begin = sh(MONDAY, 10, 30)
    assert not open_at(sh(MONDAY, 10), begin=begin)
    assert open_at(begin, begin=begin)
    assert next_at(sh(MONDAY, 8), begin=begin) == begin
    # a begin between two slots: the next slot
    assert next_at(sh(MONDAY, 8), begin=sh(MONDAY, 12, 30)) == sh(MONDAY, 14)
    # a begin weeks ahead
    assert next_at(sh(MONDAY, 8), begin=sh(MONDAY + timedelta(days=30), 0)) == sh(
        MONDAY + timedelta(days=30), 9
    )


def test_after_str_end_time() -> None:
    end = sh(MONDAY, 11)
    assert open_at(sh(MONDAY, 10, 59, 59), end=end)
    assert not open_at(end, end=end)  # the end is exclusive: the campaign has expired
    assert not open_at(sh(MONDAY, 15), end=end)
    assert next_at(end, end=end) is None
    assert next_at(sh(MONDAY, 8), end=end) == sh(MONDAY, 9)
    assert next_at(sh(MONDAY, 8), end=sh(MONDAY, 9)) is None  # ends before the first slot


def test_end_of_day_is_2359_inclusive() -> None:
    all_day = {"workdayBeginTime1": "00:00", "workdayEndTime1": "23:59"}
    late = sh(MONDAY, 23, 59, 59) + timedelta(microseconds=999_999)
    assert open_at(late, all_day)
    assert open_at(sh(MONDAY + timedelta(days=1), 0), all_day)
    assert next_at(late, all_day) == late
    assert Slot.parse("22:00", "23:59") == Slot(22 * 60, MINUTES_PER_DAY)
    evening = {"workdayBeginTime1": "22:00", "workdayEndTime1": "23:58"}
    assert not open_at(sh(MONDAY, 23, 58), evening)


def test_an_empty_schedule_is_never_open() -> None:
    assert not open_at(sh(MONDAY, 10), {})
    assert next_at(sh(MONDAY, 10), {}) is None
    holidays_only = {"holidayBeginTime2": "10:00", "holidayEndTime2": "11:00"}
    assert next_at(sh(MONDAY, 10), holidays_only) is None
    listed = frozenset({MONDAY + timedelta(days=100)})
    assert next_at(sh(MONDAY, 10), holidays_only, holidays=listed) == sh(
        MONDAY + timedelta(days=100), 10
    )


def test_next_open_searches_a_bounded_horizon() -> None:
    holidays_only = {"holidayBeginTime1": "10:00", "holidayEndTime1": "11:00"}
    far = frozenset({MONDAY + timedelta(days=HORIZON_DAYS + 30)})
    end = datetime(2030, 1, 1, tzinfo=UTC)
    assert next_at(sh(MONDAY, 10), holidays_only, holidays=far, end=end) is None
    assert next_at(sh(MONDAY, 10), begin=datetime(9999, 12, 30, tzinfo=UTC), end=END) is None


def test_a_parsed_window_gives_the_same_answers() -> None:
    window = Window.from_schedule(SCHEDULE)
    assert window.workday == (Slot(540, 720), Slot(840, 1080))
    assert window.holiday == (Slot(600, 660),)
    for hour in range(24):
        now = sh(MONDAY, hour, 30)
        assert open_at(now, window) is open_at(now, SCHEDULE)
        assert next_at(now, window) == next_at(now, SCHEDULE)


def test_every_checked_schedule_parses() -> None:
    checked = check_schedule({k: SCHEDULE.get(k) for k in SCHEDULE_KEYS})
    assert Window.from_schedule(checked) == Window.from_schedule(SCHEDULE)


@pytest.mark.parametrize(
    "schedule",
    [
        {"workdayBeginTime1": "9:00", "workdayEndTime1": "12:00"},
        {"workdayBeginTime1": "09:00", "workdayEndTime1": "24:00"},
        {"workdayBeginTime1": "09:00"},
        {"holidayEndTime3": "09:00"},
        {"workdayBeginTime1": "22:00", "workdayEndTime1": "06:00"},  # no slot crosses midnight
        {"workdayBeginTime1": "09:00", "workdayEndTime1": "09:00"},
    ],
)
def test_malformed_schedules_are_refused(schedule: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Window.from_schedule(schedule)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        is_open(
            SCHEDULE, begin=BEGIN, end=END, tz=SHANGHAI, holidays=frozenset(), now=datetime.now()
        )


# Europe/Paris 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
SPRING = date(2026, 3, 29)
# Europe/Paris 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:00-03:00 twice.
AUTUMN = date(2026, 10, 25)
PARIS_BEGIN, PARIS_END = utc(2026, 1, 1), utc(2027, 1, 1)


def slot(begin: str, end: str) -> dict[str, str]:
    return {"workdayBeginTime1": begin, "workdayEndTime1": end}


def paris_open(schedule: dict[str, str], now: datetime) -> bool:
    return is_open(
        schedule, begin=PARIS_BEGIN, end=PARIS_END, tz=PARIS, holidays=frozenset(), now=now
    )


def paris_next(schedule: dict[str, str], now: datetime) -> datetime | None:
    return next_open(
        schedule, begin=PARIS_BEGIN, end=PARIS_END, tz=PARIS, holidays=frozenset(), now=now
    )


def test_resolve_in_the_gap_gives_the_end_of_the_gap() -> None:
    assert resolve(SPRING, 2 * 60, PARIS) == utc(2026, 3, 29, 1)
    assert resolve(SPRING, 2 * 60 + 30, PARIS) == utc(2026, 3, 29, 1)
    assert resolve(SPRING, 3 * 60, PARIS) == utc(2026, 3, 29, 1)
    assert resolve(SPRING, 1 * 60 + 59, PARIS) == utc(2026, 3, 29, 0, 59)


def test_resolve_ambiguous_gives_the_first_occurrence() -> None:
    assert resolve(AUTUMN, 2 * 60 + 30, PARIS) == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    assert resolve(AUTUMN, 3 * 60, PARIS) == utc(2026, 10, 25, 2)  # 03:00 CET


def test_spring_forward_slot_spanning_the_gap_is_an_hour_shorter() -> None:
    window = slot("01:00", "04:00")  # 01:00 CET (00:00 UTC) to 04:00 CEST (02:00 UTC)
    assert not paris_open(window, utc(2026, 3, 28, 23, 59, 59))
    assert paris_open(window, utc(2026, 3, 29, 0))
    assert paris_open(window, utc(2026, 3, 29, 1))  # 03:00 CEST, right after the gap
    assert paris_open(window, utc(2026, 3, 29, 1, 59, 59))
    assert not paris_open(window, utc(2026, 3, 29, 2))


def test_spring_forward_slot_starting_in_the_gap_opens_when_it_ends() -> None:
    window = slot("02:30", "03:30")
    assert paris_next(window, utc(2026, 3, 29, 0)) == utc(2026, 3, 29, 1)  # 03:00 CEST
    assert paris_open(window, utc(2026, 3, 29, 1, 29))
    assert not paris_open(window, utc(2026, 3, 29, 1, 30))


def test_spring_forward_slot_inside_the_gap_does_not_exist_that_day() -> None:
    window = slot("02:00", "02:45")
    assert not paris_open(window, utc(2026, 3, 29, 1))
    # the next day, 02:00 CEST is 00:00 UTC
    assert paris_next(window, utc(2026, 3, 29, 0)) == utc(2026, 3, 30, 0)


def test_fall_back_slot_spanning_the_repeat_is_an_hour_longer() -> None:
    window = slot("02:30", "03:30")  # 02:30 CEST (00:30 UTC) to 03:30 CET (02:30 UTC)
    assert paris_next(window, utc(2026, 10, 24, 22)) == utc(2026, 10, 25, 0, 30)
    assert paris_open(window, utc(2026, 10, 25, 0, 30))
    assert paris_open(window, utc(2026, 10, 25, 1, 15))  # 02:15 CET, second time round
    assert paris_open(window, utc(2026, 10, 25, 2, 29, 59))
    assert not paris_open(window, utc(2026, 10, 25, 2, 30))


def test_fall_back_slot_ending_in_the_repeat_ends_at_its_first_occurrence() -> None:
    window = slot("01:00", "02:30")  # 01:00 CEST (23:00 UTC) to 02:30 CEST (00:30 UTC)
    assert paris_open(window, utc(2026, 10, 25, 0, 29, 59))
    assert not paris_open(window, utc(2026, 10, 25, 0, 30))
    assert not paris_open(window, utc(2026, 10, 25, 1, 15))  # reads 02:15 CET, not reopened
    assert paris_next(window, utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 0)  # 01:00 CET
