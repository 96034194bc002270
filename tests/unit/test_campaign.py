"""Pure campaign rules: times, schedule, plan, statuses, transitions, quota."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openisales.domain import campaign as rules
from openisales.domain.campaign import (
    CREATE_V1_SPEC,
    CREATE_V2_SPEC,
    EXPIRED,
    LIST_SPEC,
    PAUSED,
    RUNNING,
    Campaign,
    Draft,
    check_deletable,
    check_modification,
    check_quota,
    check_start,
    effective_status,
    initial_status,
    plan_campaign,
    plan_retry_policy,
    plan_search,
)
from openisales.domain.schedule import SCHEDULE_KEYS, check_schedule, format_time, parse_time
from openisales.errors import OpenISalesError, ParamError
from openisales.validation import query_params

NOW = datetime(2030, 1, 15, 10, 0, tzinfo=UTC)


def raw(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Spring",
        "strBeginTime": "2030-01-16 00:00:00",
        "strEndTime": "2030-01-20 00:00:00",
        "deviceType": 2,
        "callerNo": [{"accessCode": "1", "priority": 2}, {"accessCode": "2"}],
        "maxAlertingTime": 20,
        "scheduleParam": {"workdayBeginTime1": "08:00", "workdayEndTime1": "20:00"},
        "skillParam": {"skillId": 1},
    }
    return body | changes


def draft(version: int = 2, **changes: Any) -> Draft:
    spec = CREATE_V2_SPEC if version == 2 else CREATE_V1_SPEC
    checked = spec.check(raw(**changes), "")
    assert checked is not None
    return plan_campaign(checked, version)


def stored(status: int = RUNNING, **changes: Any) -> Campaign:
    return Campaign(7, status, draft(**changes), None)


def code_of(error: pytest.ExceptionInfo[OpenISalesError]) -> tuple[str, str]:
    return error.value.result_code, error.value.description.split(":")[0]


@pytest.mark.parametrize(
    "text",
    ["2030-01-16", "2030-1-16 00:00:00", "2030-01-16 00:00", "2030-13-01 00:00:00",
     "2030-01-16 00:00:60", "x030-01-16 00:00:00", "2030-01-16 00:00:00 ", "２030-01-16 00:00:00",
     "2030-01-16 ０8:00:00"],
)  # fmt: skip
def test_bad_times_are_illegal_characters(text: str) -> None:
    with pytest.raises(ParamError) as info:
        parse_time(text, "strBeginTime")
    assert code_of(info) == ("02000002", "strBeginTime")


def test_times_are_utc_and_round_trip() -> None:
    moment = parse_time("2030-02-28 23:59:59", "t")
    assert moment == datetime(2030, 2, 28, 23, 59, 59, tzinfo=UTC)
    assert format_time(moment) == "2030-02-28 23:59:59"
    assert format_time(moment.astimezone(UTC).replace(microsecond=500)) == "2030-02-28 23:59:59"


def test_start_is_allowed_from_today_midnight_utc() -> None:
    check_start(datetime(2030, 1, 15, tzinfo=UTC), NOW)
    late = datetime(2030, 1, 15, 23, 59, 59, tzinfo=UTC)
    check_start(datetime(2030, 1, 15, tzinfo=UTC), late)
    with pytest.raises(OpenISalesError) as info:
        check_start(datetime(2030, 1, 14, 23, 59, 59, tzinfo=UTC), NOW)
    assert code_of(info) == ("0200002", "strBeginTime")


def test_schedule_is_normalised_to_all_twelve_keys() -> None:
    slot = {"holidayBeginTime3": "00:00", "holidayEndTime3": "23:59"}
    out = check_schedule(dict.fromkeys(SCHEDULE_KEYS) | slot)
    assert list(out) == list(SCHEDULE_KEYS) and len(out) == 12
    assert out["holidayBeginTime3"] == "00:00" and out["workdayBeginTime1"] == ""


@pytest.mark.parametrize(
    ("slots", "code", "field"),
    [
        ({}, "02000001", "scheduleParam"),
        ({"workdayBeginTime2": "08:00"}, "02000009", "scheduleParam.workdayEndTime2"),
        ({"holidayEndTime1": "08:00"}, "02000009", "scheduleParam.holidayBeginTime1"),
        ({"workdayBeginTime1": "08:00", "workdayEndTime1": "08:00"}, "02000009",
         "scheduleParam.workdayBeginTime1"),
        ({"workdayBeginTime1": "8h00", "workdayEndTime1": "09:00"}, "02000002",
         "scheduleParam.workdayBeginTime1"),
        ({"workdayBeginTime1": "08:00", "workdayEndTime1": "09:60"}, "02000002",
         "scheduleParam.workdayEndTime1"),
    ],
)  # fmt: skip
def test_bad_schedules(slots, code, field) -> None:
    with pytest.raises(ParamError) as info:
        check_schedule(dict.fromkeys(SCHEDULE_KEYS) | slots)
    assert code_of(info) == (code, field)


def test_plan_v2_keeps_caller_priorities_and_parses_the_retry_policy() -> None:
    d = draft(retryPolicy={"policyType": 1}, callPolicy={"callType": 1}, initStatus=3)
    assert d.caller_nos == ({"accessCode": "1", "priority": 2}, {"accessCode": "2"})
    assert d.retry is not None and d.retry.policy_type == 1
    assert d.call_policy == {"callType": 1} and d.init_status == 3
    assert (d.api_version, d.description, d.call_back_url, d.priority) == (2, "", None, None)


def test_plan_v1_wraps_the_caller_number_and_ignores_v2_fields() -> None:
    d = draft(1, callerNo="123#", retryPolicy={"policyType": 9}, callPolicy="x")
    assert d.caller_nos == ({"accessCode": "123#"},)
    assert (d.api_version, d.retry, d.call_policy, d.init_status) == (1, None, None, 0)


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"strEndTime": "2030-01-16 00:00:00"}, "02000009", "strEndTime"),
        ({"deviceType": 5, "maxAlertingTime": 8}, "02000007", "maxAlertingTime"),
        ({"deviceType": 6, "skillParam": None}, "02000001", "skillParam"),
        ({"deviceType": 1}, "02000001", "ivrParam"),
        ({"callBackUrl": "mailto:x@y"}, "02000007", "callBackUrl"),
        ({"callBackUrl": "https://a b/"}, "02000007", "callBackUrl"),
        ({"callerNo": [{"accessCode": "1"}, {"accessCode": "1", "priority": 1}]}, "02000009",
         "callerNo"),
    ],
)  # fmt: skip
def test_plan_cross_field_rules(changes, code, field) -> None:
    with pytest.raises(ParamError) as info:
        draft(**changes)
    assert code_of(info) == (code, field)


def test_preview_accepts_nine_seconds_and_ivr_needs_no_skill_param() -> None:
    assert draft(deviceType=5, maxAlertingTime=9).max_alerting_time == 9
    assert draft(deviceType=3, skillParam=None, ivrParam={}).ivr_param == {}


def test_retry_policy_body_errors_name_retry_policy() -> None:
    with pytest.raises(ParamError) as info:
        plan_retry_policy(None)
    assert code_of(info) == ("02000001", "retryPolicy")
    assert plan_retry_policy({"policyType": 0}).policy_type == 0


def test_initial_status_is_running_unless_init_status_is_3() -> None:
    assert [initial_status(s) for s in (0, 2, 3)] == [RUNNING, RUNNING, PAUSED]


def test_a_campaign_expires_at_its_end_time() -> None:
    end = NOW
    assert effective_status(RUNNING, end, NOW - timedelta(microseconds=1)) == 2
    assert effective_status(RUNNING, end, NOW) == 4
    assert effective_status(PAUSED, end, NOW + timedelta(days=1)) == 4
    assert effective_status(EXPIRED, end + timedelta(days=1), NOW) == 4


def test_pause_and_resume_are_guarded() -> None:
    assert rules.pause(stored(RUNNING), NOW) == PAUSED
    assert rules.resume(stored(PAUSED), NOW) == RUNNING
    late = datetime(2030, 1, 20, tzinfo=UTC)
    for step, campaign, when in [
        (rules.pause, stored(PAUSED), NOW),
        (rules.resume, stored(RUNNING), NOW),
        (rules.pause, stored(RUNNING), late),
        (rules.resume, stored(PAUSED), late),
    ]:
        with pytest.raises(OpenISalesError) as info:
            step(campaign, when)
        assert code_of(info) == ("0200011", "campaignId")


def test_only_a_running_campaign_cannot_be_deleted() -> None:
    check_deletable(stored(PAUSED), NOW)
    check_deletable(stored(RUNNING), datetime(2030, 1, 20, tzinfo=UTC))  # expired
    with pytest.raises(OpenISalesError) as info:
        check_deletable(stored(RUNNING), NOW)
    assert code_of(info) == ("0200011", "campaignId")


def test_modification_rules() -> None:
    current = stored(strBeginTime="2030-01-15 00:00:00")
    later = datetime(2030, 1, 17, tzinfo=UTC)
    check_modification(current, replace(current.fields, name="New"), later)  # start unchanged
    cases = [
        (replace(current.fields, device_type=5), NOW, ("02000007", "deviceType")),
        (replace(current.fields, begin=datetime(2030, 1, 16, tzinfo=UTC)), later,
         ("0200002", "strBeginTime")),
        (current.fields, datetime(2030, 1, 20, tzinfo=UTC), ("0200016", "campaignId")),
    ]  # fmt: skip
    for new, when, expected in cases:
        with pytest.raises(OpenISalesError) as info:
            check_modification(current, new, when)
        assert code_of(info) == expected


@pytest.mark.parametrize(
    ("device_type", "skill", "ivr", "code"),
    [(2, 20, 0, "0200003"), (5, 20, 0, "0200003"), (1, 0, 20, "0200004"), (3, 19, 20, "0200004")],
)
def test_quota_per_kind(device_type, skill, ivr, code) -> None:
    with pytest.raises(OpenISalesError) as info:
        check_quota(device_type, skill, ivr)
    assert info.value.result_code == code


def test_quota_of_the_other_kind_does_not_matter() -> None:
    check_quota(2, 19, 20)
    check_quota(1, 20, 19)


def test_search_defaults_and_clamps() -> None:
    search = plan_search(query_params(LIST_SPEC, {}))
    assert (search.page, search.rows, search.status, search.device_type) == (1, 10, 0, 0)
    assert (search.name, search.begin, search.end) == (None, None, None)
    assert plan_search(query_params(LIST_SPEC, {"curPage": "-3"})).page == 1
    window = plan_search(
        query_params(
            LIST_SPEC, {"beginTime": "2030-01-01 00:00:00", "endTime": "2030-01-01 00:00:00"}
        )
    )
    assert window.begin == window.end == datetime(2030, 1, 1, tzinfo=UTC)
