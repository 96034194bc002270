"""Failure retries after an attempt: policies, rotation, counters. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st

from openisales.domain.attempt import (
    BUSY,
    NO_ANSWER,
    CalledNumber,
    Counters,
    Kind,
    Policy,
    count_attempt,
    decide,
    result_type,
    rotation,
)

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
SH = ZoneInfo("Asia/Shanghai")
NUMBERS = (CalledNumber("111", "HOME"), CalledNumber("222", "MOBILE"), CalledNumber("333", "WORK"))
NO_POLICY = Policy()
FRESH = Counters()
RESULT_POLICY = Policy(
    policy_type=0,
    entries=({"type": 1, "policy": [{"result": BUSY, "retryNumber": 2, "callInterval": 300}]},),
)


def run(
    fail: str,
    policy: Policy = NO_POLICY,
    index: int = 0,
    counters: Counters = FRESH,
    display: str | None = None,
):
    return decide(
        fail_code=fail,
        display_code=display,
        index=index,
        numbers=NUMBERS,
        counters=counters,
        policy=policy,
        tz=SH,
        now=NOW,
        common_interval_s=600,
    )


def test_answered_waits_for_the_business_result() -> None:
    assert run("00000", RESULT_POLICY).kind == Kind.AWAIT_RESULT


def test_result_policy_retries_the_same_number_then_moves_on() -> None:
    first = run("00537", RESULT_POLICY)
    assert (first.kind, first.next_index, first.next_call_time) == (
        Kind.RETRY,
        0,
        NOW + timedelta(seconds=300),
    )
    second = run("00537", RESULT_POLICY, counters=Counters(result_retries=first.result_retries))
    assert second.next_index == 0 and second.result_retries == {f"0:{BUSY}": 2}
    third = run("00537", RESULT_POLICY, counters=Counters(result_retries=second.result_retries))
    assert (third.kind, third.next_index, third.next_call_time) == (Kind.RETRY, 1, NOW)


def test_a_result_without_a_rule_moves_to_the_next_number_and_completes_at_the_end() -> None:
    assert run("00603", RESULT_POLICY).next_index == 1  # no rule for "no answer"
    last = run("00603", RESULT_POLICY, index=2)
    assert (last.kind, last.reason) == (Kind.COMPLETE, "exhausted")


def test_no_retry_policy_completes_at_once() -> None:
    policy = Policy(policy_type=0, entries=RESULT_POLICY.entries, no_retry=frozenset({"007"}))
    out = run("00537", policy, display="007")
    assert (out.kind, out.reason) == (Kind.COMPLETE, "no-retry")


def test_without_any_policy_each_number_is_tried_once() -> None:
    assert [run("00537", index=i).kind for i in range(3)] == [Kind.RETRY, Kind.RETRY, Kind.COMPLETE]


def test_call_policy_turns_order_the_numbers() -> None:
    order = rotation(NUMBERS, {"turns": [{"turnType": "MOBILE"}, {"turnType": "WORK"}]})
    assert order == [1, 2, 0]  # unlisted types come last
    policy = Policy(call_policy={"turns": [{"turnType": "MOBILE"}, {"turnType": "WORK"}]})
    assert run("00537", policy, index=1).next_index == 2
    assert run("00537", policy, index=0).kind == Kind.COMPLETE


def test_per_number_type_policies() -> None:
    policy = Policy(
        policy_type=1,
        entries=(
            {
                "dataType": "MOBILE",
                "type": 1,
                "policy": [{"result": BUSY, "retryNumber": 1, "callInterval": 60}],
            },
            {"type": 1, "policy": [{"result": BUSY, "retryNumber": 3, "callInterval": 5}]},
        ),
    )
    assert run("00537", policy, index=1).next_call_time == NOW + timedelta(seconds=60)
    assert run("00537", policy, index=0).next_call_time == NOW + timedelta(
        seconds=5
    )  # untyped entry


def test_common_policy_attempts_per_day_then_next_local_day() -> None:
    policy = Policy(
        policy_type=0, entries=({"type": 0, "policy": {"retryDay": 2, "retryTimes": 2}},)
    )
    today = NOW.astimezone(SH).date()
    once = count_attempt(Counters(), today)
    out = run("00603", policy, counters=once)
    assert (out.kind, out.next_index, out.next_call_time) == (
        Kind.RETRY,
        1,
        NOW + timedelta(seconds=600),
    )
    twice = count_attempt(once, today)
    tomorrow = run("00603", policy, index=1, counters=twice)
    assert tomorrow.next_call_time == datetime(2026, 11, 28, tzinfo=SH)
    day2 = count_attempt(count_attempt(twice, date(2026, 11, 28)), date(2026, 11, 28))
    late = decide(
        fail_code="00603",
        display_code=None,
        index=0,
        numbers=NUMBERS,
        counters=day2,
        policy=policy,
        tz=SH,
        now=datetime(2026, 11, 28, 3, 0, tzinfo=UTC),
        common_interval_s=600,
    )
    assert (late.kind, late.reason) == (Kind.COMPLETE, "exhausted")


def test_result_types_cover_the_documented_codes() -> None:
    assert result_type("00537") == BUSY and result_type("00603") == NO_ANSWER
    assert result_type("34608") == 5


@given(
    st.sampled_from(["00537", "00603", "00604", "00548", "34606", "00000"]),
    st.integers(0, 2),
    st.integers(0, 4),
    st.integers(0, 3600),
)
def test_retries_are_bounded_and_never_early(code, index, used, interval) -> None:
    policy = Policy(
        policy_type=0,
        entries=(
            {
                "type": 1,
                "policy": [
                    {"result": result_type(code), "retryNumber": 3, "callInterval": interval}
                ],
            },
        ),
    )
    out = run(
        code,
        policy,
        index=index,
        counters=Counters(result_retries={f"{index}:{result_type(code)}": used}),
    )
    if out.kind == Kind.RETRY:
        assert out.next_call_time is not None and out.next_call_time >= NOW
        assert 0 <= out.next_index < len(NUMBERS)
        if out.next_index == index:
            assert used < 3 and out.next_call_time == NOW + timedelta(seconds=interval)
            assert out.result_retries[f"{index}:{result_type(code)}"] == used + 1
