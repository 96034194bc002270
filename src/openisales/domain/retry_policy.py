"""The retry-policy model (spec 2.1) and the business-result retry decision (spec 2.4).

``parse_retry_policy`` checks a ``retryPolicy`` object as the campaign APIs
receive it and returns a normalised :class:`RetryPolicy`; ``decide_busi``
picks what follows a written-back business result. Both are pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from openisales.errors import Conflict, ParamError
from openisales.validation import (
    BAD_VALUE,
    COMBINATION,
    CONVERSION,
    EMPTY,
    WRONG_TYPE,
    Any_,
    Int,
    List,
    Obj,
    Str,
)


class BusiAction(IntEnum):
    STOP = 0
    NEXT_NUMBER = 1
    SAME_NUMBER = 2


BUSI_POLICY_ENTRY = Obj(
    "busiPolicy",
    (
        Str("busiResultCode", required=True, max_len=50),
        Str("busiResultSubCode", max_len=50),
        Int(
            "busiResultPolicy",
            required=True,
            choices=(0, 1, 2),
            description="0 stop, 1 call the next number, 2 call the same number again",
        ),
        Int(
            "callInterval",
            minimum=1,
            maximum=3600,
            description="seconds; required unless busiResultPolicy is 0",
        ),
    ),
)

RETRY_POLICY_SPEC = Obj(
    "retryPolicy",
    (
        Int(
            "policyType",
            required=True,
            choices=(0, 1),
            description="0 one policy for all numbers, 1 a policy per number type",
        ),
        Str(
            "policyJson",
            max_len=65_536,
            description="JSON list (as a string) of {dataType, type, policy}; ' accepted",
        ),
        List(
            "noRetryPolicy",
            Str("code", max_len=16),
            max_items=100,
            description="display-result codes never retried; not with policyType 1",
        ),
        List("busiPolicy", BUSI_POLICY_ENTRY, max_items=200),
    ),
)

_COMMON_POLICY = Obj(
    "policy",
    (
        Int("retryDay", minimum=0, maximum=365),
        Int("retryTimes", minimum=0, maximum=100),
    ),
)
_RESULT_POLICY = Obj(
    "policy",
    (
        Int("result", required=True, minimum=0),
        Int("retryNumber", required=True, minimum=0, maximum=100),
        Int("callInterval", required=True, minimum=0, maximum=86_400),
    ),
)
_POLICY_ENTRY = Obj(
    "policyJson",
    (
        Str("dataType", max_len=32),
        Int("type", required=True, choices=(0, 1)),
        Any_("policy", required=True, json_type=(dict, list)),
    ),
)


@dataclass(frozen=True)
class BusiRule:
    code: str
    sub_code: str | None
    action: BusiAction
    interval_s: int | None


@dataclass(frozen=True)
class RetryPolicy:
    policy_type: int
    policy_entries: tuple[dict[str, Any], ...]
    no_retry: tuple[str, ...]
    busi: tuple[BusiRule, ...]

    def policy_json(self) -> str:
        return json.dumps(list(self.policy_entries), separators=(",", ":"))

    def busi_json(self) -> str:
        return json.dumps([busi_rule_to_wire(r) for r in self.busi], separators=(",", ":"))


def busi_rule_to_wire(rule: BusiRule) -> dict[str, Any]:
    out: dict[str, Any] = {"busiResultCode": rule.code, "busiResultPolicy": int(rule.action)}
    if rule.sub_code:
        out["busiResultSubCode"] = rule.sub_code
    if rule.interval_s is not None:
        out["callInterval"] = rule.interval_s
    return out


def load_policy_json(text: str) -> Any:
    """Decode ``policyJson``; the documentation's single-quoted form is accepted."""
    try:
        return json.loads(text)
    except ValueError:
        if '"' not in text:
            try:
                return json.loads(text.replace("'", '"'))
            except ValueError:
                pass
    raise ParamError(CONVERSION, "retryPolicy.policyJson", "is not a JSON list")


def _policy_entries(text: str | None) -> tuple[dict[str, Any], ...]:
    if not text:
        return ()
    raw = load_policy_json(text)
    if not isinstance(raw, list):
        raise ParamError(WRONG_TYPE, "retryPolicy.policyJson", "must be a JSON list")
    entries = []
    for i, item in enumerate(raw):
        path = f"retryPolicy.policyJson[{i}]"
        entry = _POLICY_ENTRY.check(item, path)
        if entry is None:
            raise ParamError(EMPTY, path, "must not be empty")
        if entry["type"] == 0:
            if not isinstance(entry["policy"], dict):
                raise ParamError(WRONG_TYPE, f"{path}.policy", "must be an object for type 0")
            policy: Any = _COMMON_POLICY.check(entry["policy"], f"{path}.policy")
        else:
            if not isinstance(entry["policy"], list):
                raise ParamError(WRONG_TYPE, f"{path}.policy", "must be a list for type 1")
            policy = [
                _RESULT_POLICY.check(p, f"{path}.policy[{j}]")
                for j, p in enumerate(entry["policy"])
            ]
        clean = {"type": entry["type"], "policy": policy}
        if entry["dataType"]:
            clean["dataType"] = entry["dataType"]
        entries.append(clean)
    return tuple(entries)


def parse_busi_policy(raw: list[dict[str, Any]] | None, path: str) -> tuple[BusiRule, ...]:
    rules: list[BusiRule] = []
    seen: set[tuple[str, str | None]] = set()
    for i, entry in enumerate(raw or []):
        where = f"{path}[{i}]"
        action = BusiAction(entry["busiResultPolicy"])
        interval = entry["callInterval"]
        if action != BusiAction.STOP and interval is None:
            raise ParamError(
                EMPTY, f"{where}.callInterval", "is required unless busiResultPolicy is 0"
            )
        key = (entry["busiResultCode"], entry["busiResultSubCode"] or None)
        if key in seen:
            raise ParamError(
                COMBINATION, where, "repeats an earlier busiResultCode/busiResultSubCode"
            )
        seen.add(key)
        rules.append(BusiRule(key[0], key[1], action, interval))
    return tuple(rules)


def parse_retry_policy(checked: dict[str, Any]) -> RetryPolicy:
    """A checked ``RETRY_POLICY_SPEC`` value -> :class:`RetryPolicy`.

    Raises :class:`ParamError` for a malformed ``policyJson`` (``02000008``
    when it is not JSON) or ``noRetryPolicy`` with ``policyType`` 1
    (``02000009``). Whether busiPolicy codes exist is checked by the caller
    against the VDN's definitions (:func:`check_busi_references`).
    """
    entries = _policy_entries(checked["policyJson"])
    no_retry = tuple(checked["noRetryPolicy"] or ())
    if checked["policyType"] == 1 and no_retry:
        raise ParamError(
            COMBINATION, "retryPolicy.noRetryPolicy", "is not allowed with policyType 1"
        )
    if checked["policyType"] == 0 and len(entries) > 1:
        raise ParamError(
            BAD_VALUE, "retryPolicy.policyJson", "holds one entry when policyType is 0"
        )
    busi = parse_busi_policy(checked["busiPolicy"], "retryPolicy.busiPolicy")
    return RetryPolicy(checked["policyType"], entries, no_retry, busi)


def check_busi_references(rules: tuple[BusiRule, ...], definitions: dict[str, set[str]]) -> None:
    """Every rule must name a result defined in the VDN, and a sub-code one of its children.

    ``definitions`` maps each top-level code to the codes of its children.
    """
    for i, rule in enumerate(rules):
        children = definitions.get(rule.code)
        if children is None:
            raise Conflict(
                f"retryPolicy.busiPolicy[{i}].busiResultCode: business result {rule.code!r} "
                "is not defined in this VDN"
            )
        if rule.sub_code and rule.sub_code not in children:
            raise Conflict(
                f"retryPolicy.busiPolicy[{i}].busiResultSubCode: {rule.sub_code!r} is not a "
                f"child of {rule.code!r}"
            )


def rules_from_json(text: str | None) -> tuple[BusiRule, ...]:
    """Stored ``busi_policy`` JSON -> rules (the stored form was checked on the way in)."""
    if not text:
        return ()
    return tuple(
        BusiRule(
            e["busiResultCode"],
            e.get("busiResultSubCode") or None,
            BusiAction(e["busiResultPolicy"]),
            e.get("callInterval"),
        )
        for e in json.loads(text)
    )


def decide_busi(
    rules: tuple[BusiRule, ...], busi_result: str, sub_status: str | None
) -> BusiRule | None:
    """The rule that applies: an exact (code, sub-code) rule wins over a code-only rule."""
    code_only = None
    for rule in rules:
        if rule.code != busi_result:
            continue
        if rule.sub_code is None:
            code_only = code_only or rule
        elif sub_status and rule.sub_code == sub_status:
            return rule
    return code_only
