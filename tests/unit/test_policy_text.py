from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, strategies as st

from openisales.domain.attempt import CalledNumber, Counters, Kind, count_attempt, decide
from openisales.domain.busi_policy import BusiAction, BusiRule, rules_from_json
from openisales.domain.policy_text import (
    describe,
    describe_busi,
    describe_failures,
    describe_order,
    duration,
)
from openisales.domain.retry_policy import (
    RETRY_POLICY_SPEC,
    CommonRetry,
    ResultRetry,
    ResultRule,
    RetryPolicy,
    parse_retry_policy,
    policy_from_stored,
)


def parse(body: dict) -> RetryPolicy:
    return parse_retry_policy(RETRY_POLICY_SPEC.check(body, "retryPolicy"))


def busi(*entries: dict) -> tuple[BusiRule, ...]:
    return parse({"policyType": 0, "busiPolicy": list(entries)}).busi


# durations


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (1, "1 s"),
        (45, "45 s"),
        (60, "1 min"),
        (90, "1 min 30 s"),
        (300, "5 min"),
        (3600, "1 h"),
        (5400, "1 h 30 min"),
        (3661, "1 h 1 min 1 s"),
        (86_400, "1 d"),
        (172_800, "2 d"),
        (172_801, "2 d 1 s"),
    ],
)
def test_duration_is_humanised_exactly(seconds, text) -> None:
    assert duration(seconds) == text


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        duration(-1)


_UNIT_S = {"d": 86_400, "h": 3_600, "min": 60, "s": 1}


def _parse_duration(text: str) -> int:
    assert re.fullmatch(r"\d+ (d|h|min|s)( \d+ (d|h|min|s))*", text), text
    return sum(int(n) * _UNIT_S[u] for n, u in re.findall(r"(\d+) (d|h|min|s)", text))


@given(st.integers(min_value=0, max_value=10**9))
@example(59)
@example(3599)
@example(86_399)
def test_a_duration_reads_back_as_the_same_seconds(seconds) -> None:
    text = duration(seconds)
    assert text
    assert _parse_duration(text) == seconds
    if seconds:
        assert not re.search(r"(^|\s)0 ", text)
    units = re.findall(r"(d|h|min|s)", text)
    assert units == sorted(set(units), key=list(_UNIT_S).index)  # largest first, once each


# dialling order


def test_the_dialling_order_follows_the_turns() -> None:
    assert describe_order(()) == "Numbers are dialled in the order given"
    turns = policy_from_stored(
        None, None, None, '{"turns":[{"turnType":"SI"},{"turnType":"HOME"},{"turnType":"SI"}]}'
    ).turns
    assert describe_order(turns) == (
        "Numbers are dialled by type: SI, then HOME, then other types, in the order given"
    )


# business results


def test_each_business_result_action_is_described() -> None:
    rules = busi(
        {"busiResultCode": "CALLBACK", "busiResultPolicy": 2, "callInterval": 3600},
        {"busiResultCode": "NOT_INTERESTED", "busiResultPolicy": 0},
        {"busiResultCode": "NO_ANSWER_YET", "busiResultPolicy": 1, "callInterval": 1800},
    )
    assert describe_busi(rules, reservation_fallback_s=300) == [
        "CALLBACK → same number after 1 h, reserved for the agent who wrote it back, "
        "open to any agent 5 min after it is due",
        "NOT_INTERESTED → stop (the record completes)",
        "NO_ANSWER_YET → next number after 30 min, reserved for the agent who wrote it back, "
        "open to any agent 5 min after it is due; "
        "the record completes when the answered number was the last",
        "Any other business result → stop (the record completes)",
        "A retry is reserved only when the write-back names the agent (workNo); "
        "otherwise any agent may take it",
    ]


@pytest.mark.parametrize("fallback", [0, None])
def test_a_reservation_without_fallback_says_so(fallback) -> None:
    rules = busi({"busiResultCode": "CALLBACK", "busiResultPolicy": 2, "callInterval": 45})
    assert describe_busi(rules, reservation_fallback_s=fallback)[0] == (
        "CALLBACK → same number after 45 s, "
        "reserved for the agent who wrote it back (no fallback to other agents)"
    )


def test_sub_result_rules_win_over_the_result_alone() -> None:
    rules = busi(
        {"busiResultCode": "CALLBACK", "busiResultSubCode": "EVENING", "busiResultPolicy": 0},
        {"busiResultCode": "CALLBACK", "busiResultPolicy": 2, "callInterval": 3599},
    )
    lines = describe_busi(rules, reservation_fallback_s=90)
    assert lines[:2] == [
        "CALLBACK / EVENING → stop (the record completes)",
        "CALLBACK (any other sub-result) → same number after 59 min 59 s, "
        "reserved for the agent who wrote it back, open to any agent 1 min 30 s after it is due",
    ]


def test_only_stop_rules_mention_no_reservation() -> None:
    rules = busi({"busiResultCode": "SOLD", "busiResultPolicy": 0})
    assert describe_busi(rules, reservation_fallback_s=300) == [
        "SOLD → stop (the record completes)",
        "Any other business result → stop (the record completes)",
    ]
    assert describe_busi((), reservation_fallback_s=300) == [
        "Any business result completes the record"
    ]


def test_a_repeated_stored_rule_is_shown_as_ignored() -> None:
    # The API refuses repeats; a row written otherwise may hold one.
    rules = rules_from_json(
        '[{"busiResultCode":"A","busiResultPolicy":0},'
        '{"busiResultCode":"A","busiResultPolicy":2,"callInterval":60}]'
    )
    assert describe_busi(rules, reservation_fallback_s=0)[:2] == [
        "A → stop (the record completes)",
        "A: a repeated rule, ignored (the first one applies)",
    ]


# failed calls


def test_no_policy_tries_each_number_once() -> None:
    expected = [
        "Numbers are dialled in the order given",
        "Failed calls are not retried: each number is tried once",
        "When a failed call is not retried, the next number is dialled at once; "
        "after the last number the record completes",
        "Any business result completes the record",
    ]
    assert describe(None, reservation_fallback_s=300) == expected
    assert describe(policy_from_stored(None, None, None, None), reservation_fallback_s=300) == (
        expected
    )


def test_result_rules_name_the_failure_codes_and_counts() -> None:
    policy = parse(
        {
            "policyType": 0,
            "policyJson": "[{'type':1,'policy':[{'result':1,'retryNumber':3,'callInterval':300},"
            "{'result':2,'retryNumber':1,'callInterval':0},"
            "{'result':4,'retryNumber':0,'callInterval':600}]}]",
            "noRetryPolicy": ["007", "008"],
        }
    )
    assert describe_failures(policy, common_interval_s=600) == [
        "A failed call whose display result is 007 or 008 completes the record "
        "(no retry, whatever the rules below)",
        "All numbers: busy (00145, 00537) → same number after 5 min, up to 3 times per number; "
        "then the next number",
        "All numbers: no answer (00146, 00147, 00601, 00603, 00701, 01040) → same number at "
        "once, up to 1 time per number; then the next number",
        "All numbers: unreachable (00129, 00208, 00209, 00538, 00548, 00549, 34605) → "
        "next number at once (retryNumber 0: no retry)",
        "All numbers: other failures (rejected or hung up, platform, resource or system "
        "failure) → next number at once",
        "When a failed call is not retried, the next number is dialled at once; "
        "after the last number the record completes",
    ]


def test_odd_result_rules_are_shown_for_what_they_do() -> None:
    policy = RetryPolicy(
        0,
        (
            ResultRetry(
                None,
                (
                    None,
                    ResultRule(9, 2, 60),
                    ResultRule(5, 2, 120),
                    ResultRule(5, 7, 1),
                    ResultRule(1, 1, 1),
                    ResultRule(2, 1, 1),
                    ResultRule(3, 1, 1),
                    ResultRule(4, 1, 1),
                ),
            ),
        ),
        (),
        (),
    )
    lines = describe_failures(policy)
    assert lines[:3] == [
        "All numbers: result type 9 matches no failure (types are 1–5), so its rule never applies",
        "All numbers: platform, resource or system failure (any other failure code) → "
        "same number after 2 min, up to 2 times per number; then the next number",
        "All numbers: a second rule for platform, resource or system failure is ignored "
        "(the first one applies)",
    ]
    assert not any("other failures" in line for line in lines)  # every type has a rule
    empty = RetryPolicy(0, (ResultRetry(None, ()),), (), ())
    assert describe_failures(empty)[0] == "All numbers: any failure → next number at once"


def test_a_common_policy_counts_calls_per_day_and_days() -> None:
    policy = parse(
        {"policyType": 0, "policyJson": "[{'type':0,'policy':{'retryDay':2,'retryTimes':3}}]"}
    )
    assert describe_failures(policy, common_interval_s=600) == [
        "All numbers: up to 3 calls a day on 2 days from the day of the first call (VDN time), "
        "6 calls at most, whatever the failure; the numbers take turns (after the last, the "
        "first again), 10 min apart; once a day's calls are used, the next call is at the next "
        "midnight (within the calling window); then the record completes"
    ]


@pytest.mark.parametrize(
    ("entry", "interval", "text"),
    [
        (
            CommonRetry(None, None, None),
            600,
            "one call in all, whatever the failure (retryTimes not set counts as 1; "
            "retryDay not set counts as 1); then the record completes",
        ),
        (
            CommonRetry(None, 1, 0),
            600,
            "one call in all, whatever the failure (retryTimes 0 counts as 1); "
            "then the record completes",
        ),
        (
            CommonRetry(None, 3, 1),
            600,
            "up to 1 call a day on 3 days from the day of the first call (VDN time), 3 calls at "
            "most, whatever the failure; the numbers take turns (after the last, the first "
            "again); once a day's calls are used, the next call is at the next midnight "
            "(within the calling window); then the record completes",
        ),
        (
            CommonRetry(None, 1, 2),
            None,
            "up to 2 calls a day on 1 day from the day of the first call (VDN time), 2 calls at "
            "most, whatever the failure; the numbers take turns (after the last, the first "
            "again), the common retry interval (OPENISALES_COMMON_RETRY_INTERVAL_S) apart; "
            "then the record completes",
        ),
        (
            CommonRetry(None, 1, 2),
            0,
            "up to 2 calls a day on 1 day from the day of the first call (VDN time), 2 calls at "
            "most, whatever the failure; the numbers take turns (after the last, the first "
            "again), one right after the other; then the record completes",
        ),
    ],
)
def test_common_policy_limits_and_unset_fields(entry, interval, text) -> None:
    policy = RetryPolicy(0, (entry,), (), ())
    assert describe_failures(policy, common_interval_s=interval) == [f"All numbers: {text}"]


def test_policy_type_0_applies_its_first_entry_to_all_numbers() -> None:
    policy = policy_from_stored(
        0,
        '[{"type":0,"policy":{"retryDay":1,"retryTimes":1},"dataType":"SI"},'
        '{"type":1,"policy":[]}]',
        None,
        None,
    )
    assert describe_failures(policy) == [
        "All numbers (dataType SI is ignored: policyType 0): one call in all, whatever the "
        "failure; then the record completes",
        "Entry 2 of policyJson is ignored: with policyType 0 the first entry applies",
    ]


def test_policy_type_1_picks_an_entry_per_number_type() -> None:
    policy = parse(
        {
            "policyType": 1,
            "policyJson": "[{'dataType':'SI','type':1,'policy':[{'result':4,'retryNumber':3,"
            "'callInterval':600}]},"
            "{'type':0,'policy':{'retryDay':1,'retryTimes':2}},"
            "{'dataType':'SI','type':1,'policy':[]},"
            "{'type':1,'policy':[]}]",
        }
    )
    assert describe_failures(policy, common_interval_s=60) == [
        "SI numbers: unreachable (00129, 00208, 00209, 00538, 00548, 00549, 34605) → "
        "same number after 10 min, up to 3 times per number; then the next number",
        "SI numbers: other failures (busy, no answer, rejected or hung up, platform, resource "
        "or system failure) → next number at once",
        "Numbers of any other type: up to 2 calls a day on 1 day from the day of the first call "
        "(VDN time), 2 calls at most, whatever the failure; the numbers take turns (after the "
        "last, the first again), 1 min apart; then the record completes",
        "Entry 3 of policyJson (SI numbers) is ignored: an earlier one applies",
        "Entry 4 of policyJson (Numbers of any other type) is ignored: an earlier one applies",
        "When a failed call is not retried, the next number is dialled at once; "
        "after the last number the record completes",
    ]


def test_policy_type_1_without_an_untyped_entry_leaves_other_types_unretried() -> None:
    policy = RetryPolicy(1, (CommonRetry("HOME", 2, 2),), (), ())
    assert describe_failures(policy, common_interval_s=300) == [
        "HOME numbers: up to 2 calls a day on 2 days from the day of the first call (VDN time), "
        "4 calls at most, whatever the failure; the numbers take turns (after the last, the "
        "first again), 5 min apart; once a day's calls are used, the next call is at the next "
        "midnight (within the calling window); then the record completes",
        "Numbers of any other type: failed calls are not retried",
        "When a failed call is not retried, the next number is dialled at once; "
        "after the last number the record completes",
    ]


def test_describe_puts_order_failures_and_business_results_together() -> None:
    policy = parse(
        {
            "policyType": 0,
            "policyJson": "[{'type':0,'policy':{'retryDay':1,'retryTimes':1}}]",
            "busiPolicy": [{"busiResultCode": "A", "busiResultPolicy": 1, "callInterval": 60}],
        }
    )
    assert describe(policy, reservation_fallback_s=None, common_interval_s=600) == [
        "Numbers are dialled in the order given",
        "All numbers: one call in all, whatever the failure; then the record completes",
        "A → next number after 1 min, reserved for the agent who wrote it back (no fallback "
        "to other agents); the record completes when the answered number was the last",
        "Any other business result → stop (the record completes)",
        "A retry is reserved only when the write-back names the agent (workNo); "
        "otherwise any agent may take it",
    ]
    assert BusiAction.NEXT_NUMBER == policy.busi[0].action


def test_one_call_in_all_is_what_the_engine_does() -> None:
    """An unset common policy completes a record of two numbers after its first failure."""
    policy = RetryPolicy(0, (CommonRetry(None, None, None),), (), ())
    assert "one call in all" in describe_failures(policy)[0]
    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    tz = ZoneInfo("Asia/Shanghai")
    decision = decide(
        fail_code="00537",
        display_code=None,
        index=0,
        numbers=(CalledNumber("111", "HOME"), CalledNumber("222", "MOBILE")),
        counters=count_attempt(Counters(), now.astimezone(tz).date()),
        policy=policy,
        tz=tz,
        now=now,
        common_interval_s=600,
    )
    assert (decision.kind, decision.reason) == (Kind.COMPLETE, "exhausted")
