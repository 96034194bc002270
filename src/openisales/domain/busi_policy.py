"""Business-result policies (spec 2.4): what follows a written-back result. Pure.

A campaign's ``busiPolicy`` is a list of rules, each naming a business result
(optionally a sub-result) and an action: stop, call the next number, or call
the same number again after ``callInterval`` seconds. :func:`parse_busi_policy`
checks the rules as the campaign APIs receive them, :func:`rules_from_json`
reads their stored form, :func:`decide_busi` picks the rule that applies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from openisales.errors import Conflict, ParamError
from openisales.validation import COMBINATION, EMPTY, Int, Obj, Str


class BusiAction(IntEnum):
    STOP = 0
    NEXT_NUMBER = 1
    SAME_NUMBER = 2


BUSI_POLICY_ENTRY = Obj(
    "busiPolicy",
    (
        Str("busiResultCode", required=True, max_len=50, description="a business result's code"),
        Str("busiResultSubCode", max_len=50, description="one of its sub-results' codes"),
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
    description="the policy for one business result (or one of its sub-results)",
)


@dataclass(frozen=True)
class BusiRule:
    code: str
    sub_code: str | None
    action: BusiAction
    interval_s: int | None


def busi_rule_to_wire(rule: BusiRule) -> dict[str, Any]:
    out: dict[str, Any] = {"busiResultCode": rule.code, "busiResultPolicy": int(rule.action)}
    if rule.sub_code:
        out["busiResultSubCode"] = rule.sub_code
    if rule.interval_s is not None:
        out["callInterval"] = rule.interval_s
    return out


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
