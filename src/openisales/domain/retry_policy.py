"""The retry-policy model (spec 2.1) and the business-result retry decision (spec 2.4).

``parse_retry_policy`` checks a ``retryPolicy`` object as the campaign APIs
receive it and returns a normalised :class:`RetryPolicy`;
``policy_from_stored`` reads the same value back from the campaign's stored
columns; ``decide_busi`` picks what follows a written-back business result.
All are pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from openisales.domain.busi_policy import (
    BUSI_POLICY_ENTRY,
    BusiRule,
    busi_rule_to_wire,
    parse_busi_policy,
    rules_from_json,
)
from openisales.errors import ParamError
from openisales.validation import (
    BAD_VALUE,
    COMBINATION,
    CONVERSION,
    EMPTY,
    MAX_DEPTH,
    WRONG_TYPE,
    Any_,
    Int,
    List,
    Obj,
    Str,
    check_depth,
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
            Str("code", max_len=16, description="a display-result code (createObResult)"),
            max_items=100,
            description="display-result codes never retried; not with policyType 1",
        ),
        List(
            "busiPolicy",
            BUSI_POLICY_ENTRY,
            max_items=200,
            description="what follows a written-back business result",
        ),
    ),
    description="the retry policy (v2 create and modify, set retry policy)",
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
class ResultRule:
    """One rule of a result policy: retry ``result`` (see ``attempt.RESULT_TYPES``)."""

    result: int
    retry_number: int  # retries of the same number for that result
    call_interval_s: int  # seconds before each retry


@dataclass(frozen=True)
class CommonRetry:
    """A common policy (``policyJson`` entry of ``type`` 0).

    ``None`` is a key given as null or left out: both are stored as null.
    """

    data_type: str | None
    retry_days: int | None
    retry_times: int | None  # attempts per day


@dataclass(frozen=True)
class ResultRetry:
    """A result policy (``policyJson`` entry of ``type`` 1).

    A ``None`` rule is a null list item: the API accepts it, stores it as
    null, and it matches no result.
    """

    data_type: str | None
    rules: tuple[ResultRule | None, ...]


PolicyEntry = CommonRetry | ResultRetry


@dataclass(frozen=True)
class RetryPolicy:
    """A campaign's retry policy.

    ``turns`` is the number-type order of the campaign's ``callPolicy``
    (``turns[].turnType``); it is stored apart from the retry policy, so it is
    empty in a policy parsed from a ``retryPolicy`` body.
    """

    policy_type: int
    policy_entries: tuple[PolicyEntry, ...]
    no_retry: tuple[str, ...]
    busi: tuple[BusiRule, ...]
    turns: tuple[str, ...] = ()

    def policy_json(self) -> str:
        """The ``policyJson`` text as stored and returned by the query APIs."""
        return json.dumps([entry_to_wire(e) for e in self.policy_entries], separators=(",", ":"))

    def busi_json(self) -> str:
        return json.dumps([busi_rule_to_wire(r) for r in self.busi], separators=(",", ":"))

    def entry_for(self, number_type: str) -> PolicyEntry | None:
        """The entry that applies to a number of ``number_type``; None: no entry applies.

        ``policyType`` 1 picks the first entry for that ``dataType``, else the
        first entry without one; otherwise the first entry applies to all.
        """
        if not self.policy_entries:
            return None
        if self.policy_type != 1:
            return self.policy_entries[0]
        typed = [e for e in self.policy_entries if e.data_type == number_type]
        untyped = [e for e in self.policy_entries if not e.data_type]
        candidates = typed or untyped
        return candidates[0] if candidates else None


def entry_to_wire(entry: PolicyEntry) -> dict[str, object]:
    """A policy entry -> its ``policyJson`` object (``type``, ``policy``, then ``dataType``)."""
    policy: object
    if isinstance(entry, CommonRetry):
        out: dict[str, object] = {"type": 0}
        policy = {"retryDay": entry.retry_days, "retryTimes": entry.retry_times}
    else:
        out = {"type": 1}
        policy = [None if r is None else _rule_to_wire(r) for r in entry.rules]
    out["policy"] = policy
    if entry.data_type:
        out["dataType"] = entry.data_type
    return out


def _rule_to_wire(rule: ResultRule) -> dict[str, object]:
    return {
        "result": rule.result,
        "retryNumber": rule.retry_number,
        "callInterval": rule.call_interval_s,
    }


def load_policy_json(text: str) -> Any:
    """Decode ``policyJson``; the documentation's single-quoted form is accepted.

    JSON inside the body's JSON nests no deeper than the body may (``02000006``).
    """
    path = "retryPolicy.policyJson"
    for candidate in (text, text.replace("'", '"') if '"' not in text else None):
        if candidate is None:
            break
        try:
            value = json.loads(candidate)
        except RecursionError:
            raise ParamError(
                WRONG_TYPE, path, f"must not nest deeper than {MAX_DEPTH} levels"
            ) from None
        except ValueError:
            continue
        check_depth(value, path)
        return value
    raise ParamError(CONVERSION, path, "is not a JSON list")


def _policy_entries(text: str | None) -> tuple[PolicyEntry, ...]:
    if not text:
        return ()
    raw = load_policy_json(text)
    if not isinstance(raw, list):
        raise ParamError(WRONG_TYPE, "retryPolicy.policyJson", "must be a JSON list")
    entries: list[PolicyEntry] = []
    for i, item in enumerate(raw):
        path = f"retryPolicy.policyJson[{i}]"
        entry = _POLICY_ENTRY.check(item, path)
        if entry is None:
            raise ParamError(EMPTY, path, "must not be empty")
        data_type = entry["dataType"]  # "" is None
        if entry["type"] == 0:
            if not isinstance(entry["policy"], dict):
                raise ParamError(WRONG_TYPE, f"{path}.policy", "must be an object for type 0")
            common = _COMMON_POLICY.check(entry["policy"], f"{path}.policy")
            assert common is not None  # a dict
            entries.append(CommonRetry(data_type, common["retryDay"], common["retryTimes"]))
        else:
            if not isinstance(entry["policy"], list):
                raise ParamError(WRONG_TYPE, f"{path}.policy", "must be a list for type 1")
            rules = [
                _RESULT_POLICY.check(p, f"{path}.policy[{j}]")
                for j, p in enumerate(entry["policy"])
            ]
            entries.append(ResultRetry(data_type, tuple(_result_rule(r) for r in rules)))
    return tuple(entries)


def _result_rule(raw: Mapping[str, Any] | None) -> ResultRule | None:
    """A checked (or stored) result rule -> :class:`ResultRule`; a null item stays None."""
    if raw is None:
        return None
    return ResultRule(raw["result"], raw["retryNumber"], raw["callInterval"])


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


def call_policy_turns(call_policy: object) -> tuple[str, ...]:
    """The ``turnType`` of each ``callPolicy.turns`` item, in order.

    Takes the decoded ``callPolicy`` (stored as given, so any JSON value, or
    None); items that are not objects, or whose ``turnType`` is not a string,
    are left out (they match no number type).
    """
    if not isinstance(call_policy, Mapping):
        return ()
    turns = call_policy.get("turns")
    if not isinstance(turns, list):
        return ()
    return tuple(
        t["turnType"] for t in turns if isinstance(t, dict) and isinstance(t.get("turnType"), str)
    )


@lru_cache(maxsize=1024)
def turns_from_json(call_policy: str | None) -> tuple[str, ...]:
    """The stored ``call_policy`` JSON text (or NULL) -> :func:`call_policy_turns`."""
    return call_policy_turns(json.loads(call_policy)) if call_policy else ()


def _stored_entry(raw: Mapping[str, Any]) -> PolicyEntry:
    data_type = raw.get("dataType") or None
    policy = raw.get("policy")
    if raw.get("type") == 0:
        common = policy or {}
        return CommonRetry(data_type, common.get("retryDay"), common.get("retryTimes"))
    return ResultRetry(data_type, tuple(_result_rule(r) for r in policy or ()))


@lru_cache(maxsize=1024)
def policy_from_stored(
    policy_type: int | None,
    policy_json: str | None,
    no_retry: str | None,
    call_policy: str | None,
    busi_json: str | None = None,
) -> RetryPolicy:
    """The campaign's stored columns -> its :class:`RetryPolicy`, ``turns`` included.

    Takes ``policy_type``, the ``policy_json``, ``no_retry_policy``,
    ``call_policy`` and (optionally) ``busi_policy`` column texts, any of them
    NULL. The stored form was checked on the way in, so its shape is trusted.
    A campaign without a policy (NULL columns) reads as policy type 0 with no
    entries, which tries each number once. Null ``noRetryPolicy`` codes match
    no display result and are left out. Cached: it runs for every attempt.
    """
    return RetryPolicy(
        policy_type=policy_type or 0,
        policy_entries=tuple(_stored_entry(e) for e in json.loads(policy_json))
        if policy_json
        else (),
        no_retry=tuple(c for c in json.loads(no_retry) if isinstance(c, str)) if no_retry else (),
        busi=rules_from_json(busi_json),
        turns=turns_from_json(call_policy),
    )
