from __future__ import annotations

import json

import pytest

from openisales.domain.busi_policy import BusiAction, check_busi_references, rules_from_json
from openisales.domain.retry_policy import (
    RETRY_POLICY_SPEC,
    CommonRetry,
    ResultRetry,
    ResultRule,
    RetryPolicy,
    call_policy_turns,
    load_policy_json,
    parse_retry_policy,
    policy_from_stored,
    turns_from_json,
)
from openisales.errors import OpenISalesError, ParamError

DOC_EXAMPLE = (
    "[{'dataType':'SI','type':1,'policy':[{'result':4,'retryNumber':3,'callInterval':600}]}]"
)


def parse(body: dict):
    return parse_retry_policy(RETRY_POLICY_SPEC.check(body, "retryPolicy"))


def test_the_documentation_example_with_single_quotes_is_accepted_and_normalised() -> None:
    policy = parse({"policyType": 1, "policyJson": DOC_EXAMPLE})
    assert policy.policy_entries == (ResultRetry("SI", (ResultRule(4, 3, 600),)),)
    assert policy.policy_json() == (
        '[{"type":1,"policy":[{"result":4,"retryNumber":3,"callInterval":600}],"dataType":"SI"}]'
    )


@pytest.mark.parametrize(
    ("given", "entries", "stored"),
    [
        (None, (), "[]"),
        ("[]", (), "[]"),
        (
            "[{'type':0,'policy':{'retryTimes':2,'other':1},'dataType':''}]",
            (CommonRetry(None, None, 2),),
            '[{"type":0,"policy":{"retryDay":null,"retryTimes":2}}]',
        ),
        (
            '[{"policy":{"retryDay":3,"retryTimes":""},"type":0,"dataType":"\u00e9"}]',
            (CommonRetry("\u00e9", 3, None),),
            '[{"type":0,"policy":{"retryDay":3,"retryTimes":null},"dataType":"\\u00e9"}]',
        ),
        (
            '[{"type":1,"policy":[null,{"callInterval":0,"retryNumber":1,"result":2}]},'
            '{"type":1,"policy":[],"dataType":"SI"}]',
            (ResultRetry(None, (None, ResultRule(2, 1, 0))), ResultRetry("SI", ())),
            '[{"type":1,"policy":[null,{"result":2,"retryNumber":1,"callInterval":0}]},'
            '{"type":1,"policy":[],"dataType":"SI"}]',
        ),
    ],
)
def test_policy_json_is_stored_normalised(given, entries, stored) -> None:
    """Key order, nulls for missing counts, no empty dataType, null rules kept, ASCII."""
    policy = parse({"policyType": 1, "policyJson": given})
    assert policy.policy_entries == entries
    assert policy.policy_json() == stored
    assert policy_from_stored(1, stored, None, None).policy_entries == entries


def test_the_stored_form_reads_back_as_parsed() -> None:
    policy = parse(
        {
            "policyType": 0,
            "policyJson": "[{'type':0,'policy':{'retryDay':2,'retryTimes':3}}]",
            "noRetryPolicy": ["007", "008"],
            "busiPolicy": [{"busiResultCode": "A", "busiResultPolicy": 1, "callInterval": 5}],
        }
    )
    stored = policy_from_stored(
        policy.policy_type,
        policy.policy_json(),
        '["007","008"]',
        '{"callType":1,"turns":[{"turnType":"SI"},{"turnType":"HOME"}]}',
        policy.busi_json(),
    )
    assert stored == RetryPolicy(
        0, policy.policy_entries, ("007", "008"), policy.busi, ("SI", "HOME")
    )
    assert policy_from_stored(0, policy.policy_json(), None, None).busi == ()


def test_a_campaign_without_a_policy_reads_as_the_empty_policy() -> None:
    assert policy_from_stored(None, None, None, None) == RetryPolicy(0, (), (), (), ())
    assert policy_from_stored(None, None, None, None) == parse({"policyType": 0})
    assert policy_from_stored(0, "[]", "[]", None) == parse({"policyType": 0})
    assert policy_from_stored(0, "", "", "") == parse({"policyType": 0})


def test_the_stored_form_tolerates_null_codes_and_missing_keys() -> None:
    # noRetryPolicy [""] is stored as [null]; a directly written row may omit keys.
    assert policy_from_stored(0, None, '[null,"007"]', None).no_retry == ("007",)
    stored = '[{"type":0,"policy":{}},{"type":1,"policy":[null]}]'
    assert policy_from_stored(1, stored, None, None).policy_entries == (
        CommonRetry(None, None, None),
        ResultRetry(None, (None,)),
    )


def test_the_stored_form_is_cached() -> None:
    text = '[{"type":1,"policy":[{"result":1,"retryNumber":2,"callInterval":3}]}]'
    assert policy_from_stored(0, text, None, None) is policy_from_stored(0, text, None, None)
    assert turns_from_json('{"turns":[]}') is turns_from_json('{"turns":[]}')


@pytest.mark.parametrize(
    ("call_policy", "turns"),
    [
        (None, ()),
        ({}, ()),
        ({"callType": 1}, ()),
        ({"turns": None}, ()),
        ({"turns": "SI"}, ()),
        ({"turns": 3}, ()),
        ({"turns": {"turnType": "SI"}}, ()),
        ([{"turnType": "SI"}], ()),
        (
            {"turns": [{"turnType": "SI"}, "HOME", {"turnType": 1}, {}, {"turnType": ""}]},
            ("SI", ""),
        ),
        ({"turns": [{"turnType": "B"}, {"turnType": "A"}, {"turnType": "B"}]}, ("B", "A", "B")),
    ],
)
def test_call_policy_turns_keep_the_string_turn_types_in_order(call_policy, turns) -> None:
    assert call_policy_turns(call_policy) == turns
    text = None if call_policy is None else json.dumps(call_policy)
    assert turns_from_json(text) == turns
    assert policy_from_stored(None, None, None, text).turns == turns


def test_busi_policy_round_trips_through_storage() -> None:
    policy = parse(
        {
            "policyType": 0,
            "busiPolicy": [
                {"busiResultCode": "A", "busiResultPolicy": 2, "callInterval": 60},
                {"busiResultCode": "A", "busiResultSubCode": "A1", "busiResultPolicy": 0},
            ],
        }
    )
    rules = rules_from_json(policy.busi_json())
    assert rules == policy.busi
    assert [r.action for r in rules] == [BusiAction.SAME_NUMBER, BusiAction.STOP]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "02000001", "retryPolicy.policyType"),
        ({"policyType": 2}, "02000007", "retryPolicy.policyType"),
        ({"policyType": 0, "policyJson": "{nope"}, "02000008", "retryPolicy.policyJson"),
        ({"policyType": 0, "policyJson": '{"a": 1}'}, "02000006", "retryPolicy.policyJson"),
        ({"policyType": 1, "noRetryPolicy": ["007"]}, "02000009", "retryPolicy.noRetryPolicy"),
        (
            {"policyType": 0, "busiPolicy": [{"busiResultCode": "A", "busiResultPolicy": 2}]},
            "02000001",
            "retryPolicy.busiPolicy[0].callInterval",
        ),
        (
            {
                "policyType": 0,
                "busiPolicy": [
                    {"busiResultCode": "A", "busiResultPolicy": 1, "callInterval": 3601}
                ],
            },
            "02000007",
            "retryPolicy.busiPolicy[0].callInterval",
        ),
        (
            {"policyType": 0, "busiPolicy": [{"busiResultCode": "A", "busiResultPolicy": 3}]},
            "02000007",
            "retryPolicy.busiPolicy[0].busiResultPolicy",
        ),
        (
            {"policyType": 0, "busiPolicy": [{"busiResultPolicy": 0}]},
            "02000001",
            "retryPolicy.busiPolicy[0].busiResultCode",
        ),
        (
            {"policyType": 0, "busiPolicy": [{"busiResultCode": "A", "busiResultPolicy": 0}] * 2},
            "02000009",
            "retryPolicy.busiPolicy[1]",
        ),
        (
            {"policyType": 1, "policyJson": "[{'type':1,'policy':{'retryDay':1}}]"},
            "02000006",
            "retryPolicy.policyJson[0].policy",
        ),
        (
            {"policyType": 1, "policyJson": "[{'type':1,'policy':[{'result':4}]}]"},
            "02000001",
            "retryPolicy.policyJson[0].policy[0].retryNumber",
        ),
    ],
)
def test_bad_policies_get_their_code(body, code, field) -> None:
    with pytest.raises(ParamError) as info:
        parse(body)
    assert (info.value.result_code, info.value.field) == (code, field)


def test_busi_policy_must_reference_defined_results() -> None:
    policy = parse(
        {
            "policyType": 0,
            "busiPolicy": [
                {"busiResultCode": "A", "busiResultSubCode": "A1", "busiResultPolicy": 0}
            ],
        }
    )
    check_busi_references(policy.busi, {"A": {"A1"}})
    with pytest.raises(OpenISalesError, match="not defined"):
        check_busi_references(policy.busi, {"B": set()})
    with pytest.raises(OpenISalesError, match="not a child"):
        check_busi_references(policy.busi, {"A": {"A2"}})


def test_load_policy_json_does_not_mangle_double_quoted_text() -> None:
    assert load_policy_json('[{"k": "it\'s"}]') == [{"k": "it's"}]
