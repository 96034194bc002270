"""Pure blocklist rules: request shapes, validity, restriction periods, the blocking rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from openisales.domain.blocklist import (
    ADD_SPEC,
    DELETE_SPEC,
    QUERY_SPEC,
    Entry,
    QueryPlan,
    expiry,
    is_active,
    is_blocked,
    period_start,
    plan_add,
    plan_query,
    refuse_listed,
    to_wire,
)
from openisales.errors import OpenISalesError

NOW = datetime(2030, 1, 31, 10, 30, 15, tzinfo=UTC)


def _add(**body: Any):
    return plan_add(ADD_SPEC.check({"blocklist": ["123"], **body}, ""), NOW)


def _code(fn, *args: Any) -> tuple[str, str]:
    with pytest.raises(OpenISalesError) as err:
        fn(*args)
    return err.value.result_code, err.value.description


def test_defaults_block_until_deleted() -> None:
    plan = _add(blocklist=["123", "*45#"])
    assert [e.number for e in plan.entries] == ["123", "*45#"]
    assert plan.entries[0] == Entry("123")
    assert plan.cover is False


def test_validity_time_defaults_to_hours() -> None:
    assert _add(validityTime=5).entries[0].expires_at == NOW + timedelta(hours=5)


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        (1, datetime(2031, 1, 31, 10, 30, 15, tzinfo=UTC)),
        (2, datetime(2030, 2, 28, 10, 30, 15, tzinfo=UTC)),  # clamped to the month's end
        (3, datetime(2030, 2, 1, 10, 30, 15, tzinfo=UTC)),
        (4, datetime(2030, 1, 31, 11, 30, 15, tzinfo=UTC)),
    ],
)
def test_validity_units(unit: int, expected: datetime) -> None:
    assert _add(validityTime=1, validityTimeUnit=unit).entries[0].expires_at == expected


def test_months_roll_over_the_year_and_leap_day() -> None:
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert expiry(1, 1, leap) == datetime(2029, 2, 28, tzinfo=UTC)
    assert expiry(11, 2, NOW) == datetime(2030, 12, 31, 10, 30, 15, tzinfo=UTC)
    assert expiry(13, 2, NOW) == datetime(2031, 2, 28, 10, 30, 15, tzinfo=UTC)


def test_expiration_time_wins_over_validity_time() -> None:
    plan = _add(validityExpirationTime="2030-03-01 00:00:00", validityTime=1)
    assert plan.entries[0].expires_at == datetime(2030, 3, 1, tzinfo=UTC)


def test_restriction_and_labels_are_kept() -> None:
    plan = _add(
        restrictTimes=3, restrictPeriod="1", relCategoryId="c1", typeId="t1", isCoverDupNo=1
    )
    assert plan.entries[0] == Entry("123", None, 3, "1", "c1", "t1")
    assert plan.cover is True


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"blocklist": None}, "02000001", "blocklist"),
        ({"blocklist": []}, "02000001", "blocklist"),
        ({"blocklist": [str(i) for i in range(21)]}, "0200029", "blocklist"),
        ({"blocklist": ["12a"]}, "02000002", "blocklist[0]"),
        ({"blocklist": ["1" * 25]}, "02000003", "blocklist[0]"),
        ({"blocklist": ["1", "2", "1"]}, "0200018", "blocklist[2]"),
        ({"validityTime": 0}, "02000007", "validityTime"),
        ({"validityTime": 121}, "02000007", "validityTime"),
        ({"validityTime": 1, "validityTimeUnit": 5}, "02000007", "validityTimeUnit"),
        ({"restrictTimes": 101, "restrictPeriod": "0"}, "02000007", "restrictTimes"),
        ({"restrictTimes": 0, "restrictPeriod": "0"}, "02000007", "restrictTimes"),
        ({"restrictTimes": 2}, "02000009", "restrictTimes"),
        ({"restrictPeriod": "1"}, "02000009", "restrictTimes"),
        ({"restrictTimes": 2, "restrictPeriod": "2"}, "02000002", "restrictPeriod"),
        ({"restrictTimes": 2, "restrictPeriod": 1}, "02000006", "restrictPeriod"),
        ({"validityExpirationTime": "2030-13-01 00:00:00"}, "0200030", "validityExpirationTime"),
        ({"validityExpirationTime": "2030-01-31"}, "0200030", "validityExpirationTime"),
        ({"validityExpirationTime": "2030-01-31 10:30:15"}, "02000007", "validityExpirationTime"),
        ({"isCoverDupNo": 2}, "02000007", "isCoverDupNo"),
    ],
)
def test_bad_add_bodies(body: dict[str, Any], code: str, field: str) -> None:
    got, description = _code(lambda: _add(**body))
    assert got == code and description.startswith(field + ":"), description


def test_refuse_listed_names_the_first_listed_number() -> None:
    refuse_listed(["1", "2"], set())
    code, description = _code(refuse_listed, ["1", "2", "3"], {"3", "2"})
    assert code == "0200007" and description.startswith("blocklist[1]: number 2")


def test_query_by_numbers_or_by_page() -> None:
    def plan(body: dict[str, Any]) -> QueryPlan:
        return plan_query(QUERY_SPEC.check(body, ""))

    assert plan({"blocklist": ["1", "2", "1"]}) == QueryPlan(("1", "2"))
    assert plan({"limit": 10}) == QueryPlan(None, 0, 10)
    assert plan({"offset": 20, "limit": 100}) == QueryPlan(None, 20, 100)
    assert _code(plan, {})[0] == "02000001"
    assert _code(plan, {"offset": 5})[0] == "02000001"
    assert _code(plan, {"blocklist": ["1"], "limit": 5})[0] == "02000009"
    assert _code(plan, {"limit": 101})[0] == "02000007"
    assert _code(plan, {"limit": 0})[0] == "02000007"
    assert _code(plan, {"offset": -1, "limit": 1})[0] == "02000007"
    assert _code(plan, {"blocklist": [str(i) for i in range(21)]})[0] == "0200029"


def test_delete_body() -> None:
    assert DELETE_SPEC.check({"blocklistNo": "123"}, "") == {"blocklistNo": "123"}
    assert _code(DELETE_SPEC.check, {}, "")[0] == "02000001"
    assert _code(DELETE_SPEC.check, {"blocklistNo": ["1"]}, "")[0] == "02000006"


def test_an_unrestricted_entry_blocks_until_it_expires() -> None:
    entry = Entry("1", NOW + timedelta(hours=1))
    assert is_blocked(entry, 0, NOW)
    assert is_blocked(entry, 0, NOW + timedelta(minutes=59))
    assert not is_blocked(entry, 0, NOW + timedelta(hours=1))
    assert is_blocked(Entry("1"), 0, NOW + timedelta(days=3650))


def test_a_restricted_entry_blocks_once_its_quota_is_used() -> None:
    entry = Entry("1", None, 2, "0")
    assert not is_blocked(entry, 0, NOW)
    assert not is_blocked(entry, 1, NOW)
    assert is_blocked(entry, 2, NOW)
    expired = Entry("1", NOW, 2, "0")
    assert not is_blocked(expired, 5, NOW)


def test_periods_start_at_the_hour_and_the_local_day() -> None:
    assert period_start("0", NOW) == datetime(2030, 1, 31, 10, tzinfo=UTC)
    assert period_start("1", NOW) == datetime(2030, 1, 31, tzinfo=UTC)
    shanghai = ZoneInfo("Asia/Shanghai")  # 10:30 UTC is 18:30 local; the day began 16:00 UTC
    assert period_start("1", NOW, shanghai) == datetime(2030, 1, 30, 16, tzinfo=UTC)
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+5:30: local hours start at :30 UTC
    assert period_start("0", NOW, kolkata) == datetime(2030, 1, 31, 10, 30, tzinfo=UTC)


def test_wire_shape_and_flag() -> None:
    entry = Entry("123", datetime(2030, 2, 1, 8, tzinfo=UTC), 3, "1", "c", "t")
    assert to_wire(entry, NOW) == {
        "blockNum": "123",
        "validityExpirationTime": "2030-02-01 08:00:00",
        "flag": 1,
        "restrictTimes": 3,
        "restrictPeriod": "1",
        "relCategoryId": "c",
        "typeId": "t",
    }
    assert to_wire(entry, datetime(2030, 2, 1, 8, tzinfo=UTC))["flag"] == 0
    assert to_wire(Entry("9"), NOW)["validityExpirationTime"] is None
    assert is_active(Entry("9"), NOW)
