from __future__ import annotations

import pytest

from openisales.domain.retry_policy import (
    RETRY_POLICY_SPEC,
    BusiAction,
    check_busi_references,
    load_policy_json,
    parse_retry_policy,
    rules_from_json,
)
from openisales.errors import OpenISalesError, ParamError

DOC_EXAMPLE = (
    "[{'dataType':'SI','type':1,'policy':[{'result':4,'retryNumber':3,'callInterval':600}]}]"
)


def parse(body: dict):
    return parse_retry_policy(RETRY_POLICY_SPEC.check(body, "retryPolicy"))


def test_the_documentation_example_with_single_quotes_is_accepted_and_normalised() -> None:
    policy = parse({"policyType": 1, "policyJson": DOC_EXAMPLE})
    assert policy.policy_json() == (
        '[{"type":1,"policy":[{"result":4,"retryNumber":3,"callInterval":600}],"dataType":"SI"}]'
    )


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
