"""next_open and is_open agree, for random schedules, calendars and time zones (DST included)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, example, given, strategies as st

from openisales.domain.schedule import SLOTS
from openisales.domain.window import Window, is_open, next_open

# DST zones (Lord Howe shifts by 30 minutes, Santiago at midnight), and fixed ones.
ZONES = st.sampled_from(
    [
        "Europe/Paris",
        "America/New_York",
        "Australia/Lord_Howe",  # DST shifts by 30 minutes
        "America/Santiago",  # DST changes at midnight
        "Asia/Shanghai",
        "UTC",
        "Asia/Kathmandu",  # +05:45
    ]
).map(ZoneInfo)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def schedules(draw: st.DrawFn) -> dict[str, str]:
    out = {}
    for day, i in SLOTS:
        if draw(st.booleans()):
            begin, end = sorted(draw(st.sets(st.integers(0, 24 * 60 - 1), min_size=2, max_size=2)))
            out[f"{day}BeginTime{i}"], out[f"{day}EndTime{i}"] = _hhmm(begin), _hhmm(end)
    return out


# Some days just before a DST change (Europe, US, Lord Howe, Santiago in 2026), so that
# 60-day campaigns cross one often.
_NEAR_DST = [
    datetime(2026, m, d, tzinfo=UTC) for m, d in [(3, 27), (3, 6), (4, 3), (9, 4), (10, 23)]
]
instants = st.one_of(
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    st.builds(
        lambda day, offset: day + offset,
        st.sampled_from(_NEAR_DST),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
    ),
)


@dataclass(frozen=True)
class Case:
    schedule: dict[str, str]
    tz: ZoneInfo
    holidays: frozenset[date]
    begin: datetime
    end: datetime
    now: datetime

    def is_open(self, now: datetime) -> bool:
        return is_open(
            self.schedule,
            begin=self.begin,
            end=self.end,
            tz=self.tz,
            holidays=self.holidays,
            now=now,
        )

    def next_open(self) -> datetime | None:
        return next_open(
            self.schedule,
            begin=self.begin,
            end=self.end,
            tz=self.tz,
            holidays=self.holidays,
            now=self.now,
        )


@st.composite
def cases(draw: st.DrawFn, zones: st.SearchStrategy[ZoneInfo] = ZONES) -> Case:
    begin = draw(instants)
    end = begin + draw(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=60)))
    now = begin + draw(st.timedeltas(min_value=timedelta(days=-10), max_value=timedelta(days=70)))
    offsets = draw(st.sets(st.integers(-11, 71), max_size=40))
    holidays = frozenset(begin.date() + timedelta(days=d) for d in offsets)
    return Case(draw(schedules()), draw(zones), holidays, begin, end, now)


fractions = st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), max_size=20)


@given(cases(), fractions)
@example(
    Case(
        {"workdayBeginTime1": "02:00", "workdayEndTime1": "02:45"},
        ZoneInfo("Europe/Paris"),
        frozenset(),
        datetime(2026, 3, 28, tzinfo=UTC),
        datetime(2026, 4, 2, tzinfo=UTC),
        datetime(2026, 3, 29, tzinfo=UTC),
    ),
    [0.5],
)
def test_next_open_is_the_first_open_instant_not_before_now(
    case: Case, samples: list[float]
) -> None:
    found = case.next_open()
    if found is not None:
        assert found >= case.now
        assert found >= case.begin
        assert found < case.end
        assert case.is_open(found)
        stop = found
    else:
        stop = min(case.end, max(case.now, case.begin) + timedelta(days=60))
    # nothing strictly between now and the answer is open: sampled points, the instant
    # before the answer, and (the risky points) each slot's begin, read with either fold
    if stop > case.now:
        points = [case.now + (stop - case.now) * f for f in samples]
        points.append(stop - timedelta(microseconds=1))
        points += _slot_begins(case, case.now, stop)
        for point in points:
            if case.now <= point < stop:
                assert not case.is_open(point), point


def _slot_begins(case: Case, start: datetime, stop: datetime) -> list[datetime]:
    window = Window.from_schedule(case.schedule)
    day = start.astimezone(case.tz).date() - timedelta(days=1)
    last = min(stop, start + timedelta(days=75)).astimezone(case.tz).date() + timedelta(days=1)
    out = []
    while day <= last:
        for slot in window.slots_on(day, case.holidays):
            local = datetime.combine(day, time()) + timedelta(minutes=slot.begin)
            for fold in (0, 1):
                moment = local.replace(tzinfo=case.tz, fold=fold).astimezone(UTC)
                out += [moment, moment + timedelta(seconds=1)]
        day += timedelta(days=1)
    return out


@given(cases())
def test_when_open_now_next_open_is_now(case: Case) -> None:
    if case.is_open(case.now):
        assert case.next_open() == case.now


@given(cases(), st.data())
def test_an_instant_inside_a_workday_slot_is_open(case: Case, data: st.DataObject) -> None:
    window = Window.from_schedule(case.schedule)
    assume(window.workday)
    slot = data.draw(st.sampled_from(window.workday))
    day = case.begin.date() + timedelta(days=data.draw(st.integers(-1, 61)))
    assume(day not in case.holidays)
    second = data.draw(st.integers(slot.begin * 60, slot.end * 60 - 1))
    local = datetime.combine(day, time()) + timedelta(seconds=second)
    moment = local.replace(tzinfo=case.tz).astimezone(UTC)
    # a local time that exists exactly once (neither in a gap nor repeated)
    assume(moment.astimezone(case.tz).replace(tzinfo=None) == local)
    assume(local.replace(tzinfo=case.tz, fold=1).astimezone(UTC) == moment)
    assume(case.begin <= moment < case.end)
    assert case.is_open(moment)


@given(cases(), fractions)
def test_away_from_dst_changes_open_means_the_wall_clock_is_in_a_slot(
    case: Case, samples: list[float]
) -> None:
    window = Window.from_schedule(case.schedule)
    for f in samples:
        moment = case.begin + (case.end - case.begin) * f
        offsets = {(moment + timedelta(hours=h)).astimezone(case.tz).utcoffset() for h in (-26, 26)}
        if len(offsets | {moment.astimezone(case.tz).utcoffset()}) > 1:
            continue  # a DST change within a day: the examples in tests/unit cover those
        wall = moment.astimezone(case.tz)
        minute = wall.hour * 60 + wall.minute
        slots = window.slots_on(wall.date(), case.holidays)
        in_slot = any(s.begin <= minute < s.end for s in slots)
        assert case.is_open(moment) is (in_slot and case.begin <= moment < case.end)
