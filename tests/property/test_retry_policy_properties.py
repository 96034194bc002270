"""The stored retry policy reads back as parsed, and the typed turns order numbers as documented."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from hypothesis import given, strategies as st

from openisales.domain.attempt import CalledNumber, rotation
from openisales.domain.retry_policy import (
    RETRY_POLICY_SPEC,
    RetryPolicy,
    parse_retry_policy,
    policy_from_stored,
    turns_from_json,
)

TEXT = st.text(st.characters(exclude_characters="\x00"), max_size=8)
NUMBER_TYPES = st.sampled_from(["", "SI", "HOME", "MOBILE", "WORK", "é"])
COUNTS = st.one_of(st.none(), st.just(""), st.integers(0, 100))  # "" counts as not given


def _maybe(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects holding any subset of ``fields``."""
    return st.fixed_dictionaries({}, optional=fields)


RESULT_RULES = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "result": st.integers(0, 9),
            "retryNumber": st.integers(0, 100),
            "callInterval": st.integers(0, 86_400),
        }
    ),
)
ENTRIES = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just(0), "policy": _maybe(retryDay=COUNTS, retryTimes=COUNTS)},
        optional={"dataType": st.one_of(st.none(), NUMBER_TYPES, TEXT)},
    ),
    st.fixed_dictionaries(
        {"type": st.just(1), "policy": st.lists(RESULT_RULES, max_size=4)},
        optional={"dataType": st.one_of(st.none(), NUMBER_TYPES, TEXT)},
    ),
)


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid ``retryPolicy`` body."""
    policy_type = draw(st.sampled_from([0, 1]))
    entries = draw(st.lists(ENTRIES, max_size=1 if policy_type == 0 else 4))
    body: dict[str, Any] = {"policyType": policy_type}
    if draw(st.booleans()):
        body["policyJson"] = json.dumps(entries, ensure_ascii=draw(st.booleans()))
    if policy_type == 0 and draw(st.booleans()):
        codes = st.text(st.characters(exclude_characters="\x00"), min_size=1, max_size=16)
        body["noRetryPolicy"] = draw(st.lists(codes, max_size=4))
    return body


def _dump(value: object) -> str:
    """As ``store.campaigns`` writes a JSON column."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@given(
    bodies(),
    st.one_of(st.none(), st.just({}), _maybe(turns=st.lists(_maybe(turnType=NUMBER_TYPES)))),
)
def test_the_stored_policy_reads_back_as_parsed(
    body: dict[str, Any], call_policy: dict[str, Any] | None
) -> None:
    parsed = parse_retry_policy(RETRY_POLICY_SPEC.check(body, "retryPolicy"))
    stored_json = parsed.policy_json()
    stored = policy_from_stored(
        parsed.policy_type,
        stored_json,
        _dump(list(parsed.no_retry)),
        None if call_policy is None else _dump(call_policy),
        parsed.busi_json(),
    )
    turns = tuple(t["turnType"] for t in (call_policy or {}).get("turns", []) if "turnType" in t)
    assert stored == replace(parsed, turns=turns)
    assert stored.policy_json() == stored_json  # the stored text is a fixed point
    assert isinstance(stored, RetryPolicy)


def _reference_rotation(numbers: list[CalledNumber], turns: tuple[str, ...]) -> list[int]:
    """The rule as documented, spelt out: each listed type in turn, then the rest as given."""
    order: list[int] = []
    for turn in turns:
        order += [i for i, n in enumerate(numbers) if n.type == turn and i not in order]
    return order + [i for i in range(len(numbers)) if i not in order]


@given(
    st.lists(NUMBER_TYPES.map(lambda t: CalledNumber("1", t)), max_size=8),
    st.lists(NUMBER_TYPES, max_size=6).map(tuple),
)
def test_rotation_follows_the_turn_order(
    numbers: list[CalledNumber], turns: tuple[str, ...]
) -> None:
    order = rotation(numbers, turns)
    assert order == _reference_rotation(numbers, turns)
    assert sorted(order) == list(range(len(numbers)))
    stored = json.dumps({"turns": [{"turnType": t} for t in turns]})
    assert rotation(numbers, turns_from_json(stored)) == order  # as stored, as given
