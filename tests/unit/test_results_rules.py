"""Pure rules of the call-result query and the statistics: dates, day ranges, paging, ids."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from openisales.domain.results import (
    CALL_RESULT_SPEC,
    DayRange,
    day_range,
    day_start,
    format_local,
    local_day,
    parse_day,
    plan_result_query,
)
from openisales.domain.statistics import count_detail, fail_range, parse_id
from openisales.errors import ParamError

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def _code(fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ParamError) as err:
        fn(*args, **kwargs)
    return err.value.result_code


def _plan(**body: Any) -> Any:
    return plan_result_query(CALL_RESULT_SPEC.check(body))


def test_parse_day_accepts_only_calendar_dates() -> None:
    assert parse_day("2024-02-29", "beginTime") == date(2024, 2, 29)
    for bad in ("2023-02-29", "2024-2-01", "2024/02/01", "2024-02-01 00:00:00", "20240201"):
        assert _code(parse_day, bad, "beginTime") == "0200009"


@pytest.mark.parametrize(
    ("begin", "end", "code"),
    [
        ("2024-05-01", None, "0200008"),
        (None, "2024-05-01", "0200008"),
        ("2024-5-01", "2024-05-02", "0200009"),
        ("2024-05-01", "2024-13-02", "0200009"),
        ("2024-05-02", "2024-05-02", "0200010"),
        ("2024-05-03", "2024-05-02", "0200010"),
        ("2024-05-01", "2024-06-01", "0200011"),  # 31 days
    ],
)
def test_call_result_range_codes(begin: str | None, end: str | None, code: str) -> None:
    assert _code(_plan, beginTime=begin, endTime=end) == code


def test_call_result_range_is_half_open_and_at_most_30_days() -> None:
    assert _plan().days is None
    one = _plan(beginTime="2024-05-01", endTime="2024-05-02").days
    assert one == DayRange(date(2024, 5, 1), date(2024, 5, 2)) and one.days() == [date(2024, 5, 1)]
    thirty = _plan(beginTime="2024-05-01", endTime="2024-05-31").days
    assert thirty is not None and len(thirty.days()) == 30


def test_fail_range_is_inclusive_and_defaults_to_the_last_30_days() -> None:
    today = date(2024, 5, 20)
    assert fail_range("2024-05-01", "2024-05-01", today).days() == [date(2024, 5, 1)]
    assert len(fail_range("2024-05-01", "2024-05-30", today).days()) == 30
    assert _code(fail_range, "2024-05-01", "2024-05-31", today) == "0200011"
    assert _code(fail_range, "2024-05-02", "2024-05-01", today) == "0200010"
    assert _code(fail_range, "2024-05-02", None, today) == "0200008"
    default = fail_range(None, None, today)
    assert default.days()[0] == date(2024, 4, 21) and default.days()[-1] == today
    assert len(default.days()) == 30


def test_day_range_names_the_field_in_the_description() -> None:
    with pytest.raises(ParamError) as err:
        day_range("2024-05-01", None, names=("startDate", "endDate"), end_inclusive=True)
    assert err.value.description.startswith("endDate")


def test_local_days_become_utc_instants() -> None:
    start, stop = DayRange(date(2024, 5, 2), date(2024, 5, 3)).instants(SHANGHAI)
    assert start == datetime(2024, 5, 1, 16, tzinfo=UTC)
    assert stop == datetime(2024, 5, 2, 16, tzinfo=UTC)
    # DST: 2024-03-10 has 23 hours in New York, 2024-11-03 has 25.
    spring = DayRange(date(2024, 3, 10), date(2024, 3, 11)).instants(NEW_YORK)
    assert spring == (datetime(2024, 3, 10, 5, tzinfo=UTC), datetime(2024, 3, 11, 4, tzinfo=UTC))
    autumn = day_start(date(2024, 11, 4), NEW_YORK) - day_start(date(2024, 11, 3), NEW_YORK)
    assert autumn == timedelta(hours=25)


def test_call_time_is_shown_on_the_vdn_wall_clock() -> None:
    moment = datetime(2024, 5, 1, 16, 30, tzinfo=UTC)
    assert format_local(moment, SHANGHAI) == "2024-05-02 00:30:00"
    assert local_day(moment, SHANGHAI) == date(2024, 5, 2)
    assert format_local(None, SHANGHAI) is None


def test_page_sizes_depend_on_show_detail() -> None:
    assert (_plan().limit, _plan().offset, _plan().detail) == (2000, 0, False)
    assert _plan(pageNum=3).offset == 4000  # without pageSize, pages of 2000 rows
    assert (_plan(pageSize=500).limit, _plan(pageSize=7, pageNum=3).offset) == (500, 14)
    assert _plan(showDetail=1, pageSize=100).limit == 100
    assert _code(_plan, showDetail=1, pageSize=101) == "02000007"
    assert _code(_plan, pageSize=501) == "02000007"
    assert _code(_plan, pageSize=0) == "02000007"
    assert _code(_plan, pageNum=0) == "02000007"
    assert _code(_plan, showDetail=2) == "02000007"
    assert _code(_plan, sessionId="s" * 33) == "02000003"
    assert _code(_plan, customField="c" * 201) == "02000003"
    assert _code(_plan, pageSize="10") == "02000006"
    assert plan_result_query(None).limit == 2000  # an empty body is all defaults


def test_parse_id() -> None:
    assert parse_id("42", "campaignId") == 42
    assert parse_id(str(2**63 - 1), "campaignId") == 2**63 - 1
    for bad in ("-1", "1.5", "abc", "١٢", str(2**63)):
        assert _code(parse_id, bad, "campaignId") == "02000006"


def test_count_detail_sums_batches_and_filters_batch_detail() -> None:
    def rec(batch: str | None, total: int, uncalled: int, finished: int) -> Any:
        return SimpleNamespace(
            batch=batch,
            total=total,
            uncalled=uncalled,
            finished=finished,
            finished_today=1,
            added_today=total,
        )

    def att(batch: str | None, placed: int, answered: int) -> Any:
        return SimpleNamespace(
            batch=batch, placed=placed, answered=answered, placed_today=placed, answered_today=0
        )

    records = [rec(None, 2, 1, 1), rec("a", 3, 0, 3), rec("b", 4, 4, 0)]
    attempts = [att(None, 1, 1), att("a", 5, 2)]
    whole = count_detail(7, records, attempts, None)
    assert whole["campaignId"] == "7"
    assert (whole["totalCount"], whole["unCallCount"], whole["finishCount"]) == (9, 5, 4)
    assert whole["totalFinishCount"] == whole["finishCount"]
    assert (whole["totalCalledCount"], whole["totalCallSucc"]) == (6, 3)
    assert whole["calledCount"] == whole["dailyCalledCount"] == 6
    assert [b["batchId"] for b in whole["batchDetail"]] == ["a", "b"]
    a = whole["batchDetail"][0]
    assert (a["totalCount"], a["totalCalledCount"], a["totalCallSucc"]) == (3, 5, 2)
    only = count_detail(7, records, attempts, "b")
    assert [b["batchId"] for b in only["batchDetail"]] == ["b"]
    assert only["totalCount"] == 9  # the campaign's counters stay whole
    assert count_detail(7, records, attempts, "zzz")["batchDetail"] == []
