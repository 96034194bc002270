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
    count_attempt,
    decide,
    result_type,
    rotation,
)
from openisales.domain.retry_policy import (
    CommonRetry,
    PolicyEntry,
    ResultRetry,
    ResultRule,
    RetryPolicy,
    policy_from_stored,
)

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
SH = ZoneInfo("Asia/Shanghai")
NUMBERS = (CalledNumber("111", "HOME"), CalledNumber("222", "MOBILE"), CalledNumber("333", "WORK"))


def make_policy(
    *entries: PolicyEntry,
    policy_type: int = 0,
    no_retry: tuple[str, ...] = (),
    turns: tuple[str, ...] = (),
) -> RetryPolicy:
    return RetryPolicy(policy_type, entries, no_retry, (), turns)


NO_POLICY = policy_from_stored(None, None, None, None)
FRESH = Counters()
RESULT_POLICY = make_policy(ResultRetry(None, (ResultRule(BUSY, 2, 300),)))


def run(
    fail: str,
    policy: RetryPolicy = NO_POLICY,
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
    policy = make_policy(*RESULT_POLICY.policy_entries, no_retry=("007",))
    out = run("00537", policy, display="007")
    assert (out.kind, out.reason) == (Kind.COMPLETE, "no-retry")


def test_without_any_policy_each_number_is_tried_once() -> None:
    assert [run("00537", index=i).kind for i in range(3)] == [Kind.RETRY, Kind.RETRY, Kind.COMPLETE]


def test_call_policy_turns_order_the_numbers() -> None:
    order = rotation(NUMBERS, ("MOBILE", "WORK"))
    assert order == [1, 2, 0]  # unlisted types come last
    policy = make_policy(turns=("MOBILE", "WORK"))
    assert run("00537", policy, index=1).next_index == 2
    assert run("00537", policy, index=0).kind == Kind.COMPLETE


def test_rotation_with_typed_turns() -> None:
    numbers = (*NUMBERS, CalledNumber("444", "MOBILE"), CalledNumber("555", ""))
    assert rotation(numbers, ()) == [0, 1, 2, 3, 4]  # no turns: the order given
    assert rotation(numbers, ["WORK", "MOBILE"]) == [2, 1, 3, 0, 4]
    assert rotation(numbers, ("MOBILE", "HOME", "MOBILE")) == [1, 3, 0, 2, 4]  # repeats: no-op
    assert rotation(numbers, ("", "FAX")) == [4, 0, 1, 2, 3]  # "" is an untyped number's type
    assert rotation((), ("MOBILE",)) == []


def test_per_number_type_policies() -> None:
    policy = make_policy(
        ResultRetry("MOBILE", (ResultRule(BUSY, 1, 60),)),
        ResultRetry(None, (ResultRule(BUSY, 3, 5),)),
        policy_type=1,
    )
    assert run("00537", policy, index=1).next_call_time == NOW + timedelta(seconds=60)
    assert run("00537", policy, index=0).next_call_time == NOW + timedelta(
        seconds=5
    )  # untyped entry


def test_common_policy_attempts_per_day_then_next_local_day() -> None:
    policy = make_policy(CommonRetry(None, retry_days=2, retry_times=2))
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


def test_common_policy_without_counts_allows_one_attempt_on_one_day() -> None:
    policy = make_policy(CommonRetry(None, retry_days=None, retry_times=0))
    once = count_attempt(Counters(), NOW.astimezone(SH).date())
    out = run("00603", policy, counters=once)
    assert (out.kind, out.reason) == (Kind.COMPLETE, "exhausted")


def test_a_policy_type_1_number_without_a_matching_entry_moves_on() -> None:
    policy = make_policy(ResultRetry("MOBILE", (ResultRule(BUSY, 3, 5),)), policy_type=1)
    assert (run("00537", policy, index=0).next_index, run("00537", policy, index=0).kind) == (
        1,
        Kind.RETRY,
    )
    assert run("00537", policy, index=1).next_call_time == NOW + timedelta(seconds=5)


def test_null_result_rules_match_nothing() -> None:
    policy = make_policy(ResultRetry(None, (None, ResultRule(BUSY, 1, 30), None)))
    assert run("00537", policy).next_call_time == NOW + timedelta(seconds=30)
    assert run("00603", policy).next_index == 1


def test_the_stored_policy_drives_the_decision() -> None:
    policy = policy_from_stored(
        1,
        '[{"type":1,"policy":[{"result":1,"retryNumber":1,"callInterval":60}],"dataType":"WORK"}]',
        None,
        '{"callType":1,"turns":[{"turnType":"WORK"},{"turnType":"HOME"}]}',
    )
    assert run("00537", policy, index=2).next_call_time == NOW + timedelta(seconds=60)
    assert run("00537", policy, index=0).next_index == 1  # HOME follows WORK, MOBILE last
    assert run("00537", policy, index=1).kind == Kind.COMPLETE


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
    policy = make_policy(ResultRetry(None, (ResultRule(result_type(code), 3, interval),)))
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
