"""Pure appointment rules: specs, plans, due times, update guards and derived progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openisales.domain.appointment import (
    AUTOMATIC,
    CREATE_SPEC,
    LIST_SPEC,
    MANUAL,
    RESULT_SPEC,
    UPDATE_SPEC,
    AppointStatus,
    Linked,
    Outcome,
    check_manual,
    check_movable,
    check_within_campaign,
    due_time,
    from_ms,
    plan_create,
    plan_result,
    plan_search,
    plan_update,
    progress,
    timed_out,
    to_ms,
)
from openisales.domain.calldata import DataStatus
from openisales.errors import OpenISalesError

NOW = datetime(2030, 1, 15, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)


def create(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "callType": MANUAL,
        "calledNo": "13800000001",
        "workNo": "2033",
        "taskId": 7,
        "appointTime": to_ms(LATER),
        "remark": "call back after lunch",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def code(spec: Any, body: Any, plan: Any = None) -> str:
    with pytest.raises(OpenISalesError) as caught:
        checked = spec.check(body)
        if plan is not None:
            plan(checked)
    return caught.value.result_code


def test_epoch_milliseconds_round_trip_exactly() -> None:
    moment = datetime(2025, 6, 6, 10, 0, 0, 123000, tzinfo=UTC)
    assert to_ms(moment) == 1749204000123
    assert from_ms(1749204000123) == moment


def test_a_manual_plan_is_reserved_for_its_agent_and_due_on_time() -> None:
    new = plan_create(CREATE_SPEC.check(create()) or {}, NOW)
    assert (new.call_type, new.campaign_id, new.appoint_time) == (MANUAL, 7, LATER)
    assert new.due == LATER and new.reserved_for == "2033"


def test_an_automatic_plan_is_due_five_minutes_early_and_not_reserved() -> None:
    new = plan_create(CREATE_SPEC.check(create(callType=2, callData='{"a":1}')) or {}, NOW)
    assert new.due == LATER - timedelta(minutes=5)
    assert new.reserved_for is None and new.call_data == '{"a":1}'
    assert due_time(AUTOMATIC, LATER) == LATER - timedelta(minutes=5)
    assert due_time(MANUAL, LATER) == LATER


def test_task_id_may_be_a_number_or_digits() -> None:
    assert plan_create(CREATE_SPEC.check(create(taskId="7")) or {}, NOW).campaign_id == 7


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (create(callType=3), "02000007"),
        (create(callType=None), "02000001"),
        (create(calledNo=None), "02000001"),
        (create(calledNo="12a"), "02000002"),
        (create(calledNo="1" * 25), "02000003"),
        (create(taskId=None), "02000001"),
        (create(taskId="seven"), "02000006"),
        (create(appointTime=None), "02000001"),
        (create(appointTime="tomorrow"), "02000006"),
        (create(appointTime=-1), "02000007"),
        (create(appointTime=to_ms(NOW)), "02000007"),  # not in the future
        (create(workNo=None), "02000001"),  # manual needs an agent
        (create(callData="{}"), "02000009"),  # manual: no callData
        (create(callType=2, callData="x" * 1025), "02000003"),
        (create(remark="r" * 201), "02000003"),
        ([], "02000006"),
    ],
)
def test_create_codes(body: Any, expected: str) -> None:
    assert code(CREATE_SPEC, body, lambda b: plan_create(b, NOW)) == expected


def test_an_automatic_appointment_needs_no_agent() -> None:
    new = plan_create(CREATE_SPEC.check(create(callType=2, workNo=None)) or {}, NOW)
    assert new.work_no is None and new.reserved_for is None


def test_update_plan_keeps_absent_fields_and_checks_the_time() -> None:
    change = plan_update(UPDATE_SPEC.check({"appointId": "42", "remark": "later"}) or {}, NOW)
    assert (change.appoint_id, change.appoint_time, change.work_no, change.remark) == (
        42,
        None,
        None,
        "later",
    )
    body = {"appointId": "42", "appointTime": to_ms(NOW - timedelta(seconds=1))}
    assert code(UPDATE_SPEC, body, lambda b: plan_update(b, NOW)) == "02000007"
    assert code(UPDATE_SPEC, {"appointId": ""}) == "02000001"
    assert code(UPDATE_SPEC, {"appointId": "12x"}) == "02000002"
    assert code(UPDATE_SPEC, {"appointId": "1" * 65}) == "02000003"


def test_ids_that_cannot_be_ours_are_simply_not_found() -> None:
    huawei = "174729926098016859445364892091"
    assert plan_update(UPDATE_SPEC.check({"appointId": huawei}) or {}, NOW).appoint_id is None
    assert plan_result(RESULT_SPEC.check({"appointId": "0"}) or {}).appoint_id is None


@pytest.mark.parametrize(
    ("fail_code", "expected"), [("123", "02000004"), ("123456", "02000003"), ("0000a", "02000002")]
)
def test_result_fail_code_is_five_digits(fail_code: str, expected: str) -> None:
    assert code(RESULT_SPEC, {"appointId": "1", "failCode": fail_code}) == expected


def test_search_defaults_and_window() -> None:
    search = plan_search(LIST_SPEC.check({}) or {})
    assert (search.offset, search.limit, search.begin, search.end) == (0, 10, None, None)
    body = {"beginTime": to_ms(LATER), "endTime": to_ms(NOW), "workNoList": ["", "2033"]}
    assert code(LIST_SPEC, body, plan_search) == "02000009"
    narrowed = plan_search(LIST_SPEC.check({**body, "endTime": to_ms(LATER)}) or {})
    assert narrowed.work_nos == ("2033",) and narrowed.begin == narrowed.end == LATER
    assert code(LIST_SPEC, {"limit": 0}) == "02000007"
    assert code(LIST_SPEC, {"limit": 101}) == "02000007"
    assert code(LIST_SPEC, {"offset": -1}) == "02000007"
    assert code(LIST_SPEC, {"workNoList": ["1"] * 101}) == "02000011"


def test_an_appointment_must_fall_inside_its_campaign() -> None:
    check_within_campaign(LATER, LATER + timedelta(seconds=1))
    with pytest.raises(OpenISalesError) as caught:
        check_within_campaign(LATER, LATER)
    assert caught.value.result_code == "02000007"


def test_only_manual_appointments_are_updated_by_hand() -> None:
    check_manual(MANUAL, "be updated")
    with pytest.raises(OpenISalesError) as caught:
        check_manual(AUTOMATIC, "be updated")
    assert caught.value.result_code == "0200001" and "automatic" in caught.value.description


@pytest.mark.parametrize(
    ("stored", "record", "expected"),
    [
        (0, int(DataStatus.WAITING), None),
        (0, int(DataStatus.CALLING), "0200001"),
        (0, int(DataStatus.AWAITING_RESULT), "0200001"),
        (0, int(DataStatus.COMPLETED), "0200001"),
        (2, int(DataStatus.WAITING), "0200001"),
        (0, None, "0200033"),
    ],
)
def test_an_appointment_moves_only_while_its_record_waits(
    stored: int, record: int | None, expected: str | None
) -> None:
    if expected is None:
        check_movable(stored, record)
        return
    with pytest.raises(OpenISalesError) as caught:
        check_movable(stored, record)
    assert caught.value.result_code == expected


NOTHING = Outcome(0, None, None, None, None)


def linked(status: DataStatus, attempts: int, fail: str | None = None) -> Linked:
    return Linked(int(status), attempts, fail, "c-1" if attempts else None, "X", None)


@pytest.mark.parametrize(
    ("call_type", "record", "status", "fail_code"),
    [
        (AUTOMATIC, linked(DataStatus.WAITING, 0), 0, None),
        (AUTOMATIC, linked(DataStatus.CALLING, 1), 1, None),
        (AUTOMATIC, linked(DataStatus.WAITING, 1, "00603"), 1, "00603"),  # retry pending
        (AUTOMATIC, linked(DataStatus.AWAITING_RESULT, 1, "00000"), 2, "00000"),
        (AUTOMATIC, linked(DataStatus.COMPLETED, 3, "00603"), 2, "00603"),
        (AUTOMATIC, linked(DataStatus.COMPLETED, 0), 0, None),  # campaign ended undialled
        (MANUAL, linked(DataStatus.WAITING, 0), 0, None),
        (MANUAL, linked(DataStatus.AWAITING_RESULT, 1, "00000"), 1, None),  # awaits updateResult
        (MANUAL, None, 0, None),  # record gone: as stored
    ],
)
def test_progress_is_derived_from_the_linked_record(
    call_type: int, record: Linked | None, status: int, fail_code: str | None
) -> None:
    outcome = progress(call_type, NOTHING, record)
    assert (outcome.status, outcome.fail_code) == (status, fail_code)


def test_an_automatic_appointment_takes_the_records_result() -> None:
    outcome = progress(AUTOMATIC, NOTHING, linked(DataStatus.COMPLETED, 1, "00000"))
    assert outcome == Outcome(2, "00000", "c-1", "X", None)


def test_a_reported_result_wins_over_the_record() -> None:
    reported = Outcome(int(AppointStatus.DONE), "00000", "agent-1", "OK", "A")
    assert progress(MANUAL, reported, linked(DataStatus.CALLING, 1)) == reported


def test_timeout_means_time_passed_and_not_done() -> None:
    assert timed_out(NOW, 0, NOW) and timed_out(NOW, 1, LATER)
    assert not timed_out(LATER, 0, NOW)
    assert not timed_out(NOW, 2, LATER)
