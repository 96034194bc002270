"""The pure write-back decision: which busiPolicy rule applies and what follows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, strategies as st

from openisales.domain.busi_policy import BusiAction, BusiRule, decide_busi
from openisales.domain.calldata import CalledNumber, DataStatus, Record
from openisales.domain.writeback import (
    LastResult,
    RecordState,
    Target,
    WriteBackRequest,
    decide,
    plan,
    repeats,
)

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
SAME = BusiRule("X", None, BusiAction.SAME_NUMBER, 60)
NEXT = BusiRule("X", None, BusiAction.NEXT_NUMBER, 30)
STOP = BusiRule("X", None, BusiAction.STOP, None)


def state(status=DataStatus.AWAITING_RESULT, attempt_no=1, index=0, count=3, busi=None):
    return RecordState(status, attempt_no, index, index + 1 if index + 1 < count else None, busi)


def test_exact_sub_code_rule_wins_over_code_only_rule() -> None:
    exact = BusiRule("X", "S1", BusiAction.STOP, None)
    rules = (SAME, exact)
    assert decide_busi(rules, "X", "S1") is exact
    assert decide_busi(rules, "X", "S2") is SAME
    assert decide_busi(rules, "X", None) is SAME
    assert decide_busi(rules, "Y", "S1") is None
    assert decide_busi((exact,), "X", None) is None


def test_same_number_after_the_interval_reserved_for_the_agent() -> None:
    out = decide(state(index=1), (SAME,), busi_result="X", sub_status=None, work_no="2033", now=NOW)
    assert out.reschedule and out.status == DataStatus.WAITING
    assert out.next_index == 1
    assert out.next_call_time == NOW + timedelta(seconds=60)
    assert out.reserved_work_no == "2033"


def test_without_work_no_any_agent_may_take_the_retry() -> None:
    out = decide(state(), (SAME,), busi_result="X", sub_status=None, work_no=None, now=NOW)
    assert out.reserved_work_no is None


def test_next_number_moves_on_and_completes_when_none_is_left() -> None:
    out = decide(state(index=0), (NEXT,), busi_result="X", sub_status=None, work_no=None, now=NOW)
    assert out.next_index == 1 and out.next_call_time == NOW + timedelta(seconds=30)
    last = decide(state(index=2), (NEXT,), busi_result="X", sub_status=None, work_no=None, now=NOW)
    assert last.completed and last.status == DataStatus.COMPLETED and last.next_call_time is None


@pytest.mark.parametrize("rules", [(STOP,), (), (BusiRule("Y", None, BusiAction.SAME_NUMBER, 5),)])
def test_stop_or_no_matching_rule_completes(rules) -> None:
    out = decide(state(), rules, busi_result="X", sub_status=None, work_no="1", now=NOW)
    assert out.completed and out.status == DataStatus.COMPLETED and out.reserved_work_no is None


def test_second_write_back_for_the_same_attempt_replaces_the_first() -> None:
    first = decide(state(index=0), (NEXT,), busi_result="X", sub_status=None, work_no=None, now=NOW)
    after_first = RecordState(first.status, 1, 0, 1, busi_attempt_no=1)
    second = decide(after_first, (NEXT,), busi_result="X", sub_status=None, work_no=None, now=NOW)
    assert second.next_index == first.next_index == 1  # not 2: computed from the same attempt
    completed = RecordState(DataStatus.COMPLETED, 1, 0, 1, busi_attempt_no=1)
    reopened = decide(completed, (SAME,), busi_result="X", sub_status=None, work_no=None, now=NOW)
    assert reopened.reschedule and reopened.status == DataStatus.WAITING


def test_records_completed_otherwise_or_being_called_keep_their_schedule() -> None:
    for frozen in (
        state(status=DataStatus.CALLING),
        state(status=DataStatus.COMPLETED, busi=None),
        state(status=DataStatus.COMPLETED, attempt_no=2, busi=1),
    ):
        out = decide(frozen, (SAME,), busi_result="X", sub_status=None, work_no="7", now=NOW)
        assert not out.reschedule


@given(
    st.integers(0, 5),
    st.integers(1, 6),
    st.sampled_from(list(BusiAction)),
    st.integers(1, 3600),
    st.sampled_from(list(DataStatus)),
    st.booleans(),
)
def test_properties_of_every_decision(index, count, action, interval, status, same_attempt) -> None:
    index = min(index, count - 1)
    rule = BusiRule("X", None, action, None if action == BusiAction.STOP else interval)
    rec = RecordState(
        status, 3, index, index + 1 if index + 1 < count else None, 3 if same_attempt else 2
    )
    out = decide(rec, (rule,), busi_result="X", sub_status=None, work_no="9", now=NOW)
    if not out.reschedule:
        return
    assert 0 <= out.next_index <= count
    if out.status == DataStatus.WAITING:
        # a retry is never earlier than now + callInterval and always dials an existing number
        assert out.next_call_time is not None and out.next_call_time >= NOW + timedelta(
            seconds=interval
        )
        assert out.next_index < count
        assert out.next_index in (index, index + 1)
    else:
        assert out.completed and out.next_call_time is None


def _target(attempt_no: int, busi_attempt_no: int | None, last: LastResult) -> Target:
    record = Record(
        vdn_id=1,
        data_id=7,
        campaign_id=3,
        status=DataStatus.WAITING if busi_attempt_no is not None else DataStatus.AWAITING_RESULT,
        attempt_no=attempt_no,
        attempt_index=0,
        numbers=(CalledNumber("111", ""), CalledNumber("222", "")),
    )
    return Target(record, busi_attempt_no, last, (SAME,), (0, 1), None)


def _request(**fields: str | None) -> WriteBackRequest:
    values: dict[str, str | None] = {
        "busi_result": "X",
        "sub_status": None,
        "busi_result_desc": "d",
        "work_no": "2033",
    }
    values.update(fields)
    return WriteBackRequest(vdn_id=1, data_id=7, now=NOW, **values)  # type: ignore[arg-type]


def test_a_repeat_of_the_recorded_write_back_writes_nothing() -> None:
    recorded = LastResult("X", None, "d", "2033")
    outcome, written = plan(_target(1, 1, recorded), _request(), result_id=99)
    assert written is None and not outcome.reschedule and not outcome.completed
    assert repeats(_target(1, 1, recorded), _request())


@pytest.mark.parametrize(
    ("attempt_no", "busi_attempt_no", "request_fields"),
    [
        (2, 1, {}),  # a later attempt: the same values are a new write-back
        (1, None, {}),  # nothing recorded yet
        (1, 1, {"busi_result_desc": "other"}),
        (1, 1, {"work_no": None}),
        (1, 1, {"sub_status": "S1"}),
    ],
)
def test_anything_else_is_written(
    attempt_no: int, busi_attempt_no: int | None, request_fields: dict[str, str | None]
) -> None:
    last = LastResult("X", None, "d", "2033") if busi_attempt_no is not None else LastResult()
    target = _target(attempt_no, busi_attempt_no, last)
    _, written = plan(target, _request(**request_fields), result_id=99)
    assert written is not None and written.result_id == 99
    assert written.attempt_no == attempt_no and written.called == "111"
