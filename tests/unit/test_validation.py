from __future__ import annotations

import re

import pytest
from hypothesis import given, strategies as st

from openisales.errors import ParamError
from openisales.validation import (
    INT64_MAX,
    INT64_MIN,
    MAX_DEPTH,
    Int,
    List,
    Obj,
    Str,
    check_depth,
)

SPEC = Obj(
    "body",
    (
        Str("name", required=True, max_len=5, min_len=2),
        Str("digits", allowed="0-9*#"),
        Int("size", minimum=1, maximum=10),
        List("items", Str("item", max_len=2), max_items=2, too_many_code="0200029"),
    ),
    required=True,
)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (None, "02000001", "body"),
        ("text", "02000006", "body"),
        ({}, "02000001", "name"),
        ({"name": "abcdef"}, "02000003", "name"),
        ({"name": "a"}, "02000004", "name"),
        ({"name": "ab", "digits": "12a"}, "02000002", "digits"),
        ({"name": "ab", "size": True}, "02000006", "size"),
        ({"name": "ab", "size": "3"}, "02000006", "size"),
        ({"name": "ab", "size": 11}, "02000007", "size"),
        ({"name": "ab", "items": ["a", "b", "c"]}, "0200029", "items"),
        ({"name": "ab", "items": ["abc"]}, "02000003", "items[0]"),
    ],
)
def test_each_bad_field_gets_its_code(body, code, field) -> None:
    with pytest.raises(ParamError) as info:
        SPEC.check(body, "")
    assert info.value.result_code == code
    assert info.value.field == field


def test_a_good_body_is_returned_with_absent_fields_as_none() -> None:
    assert SPEC.check({"name": "ab", "digits": "1*#", "extra": 1}, "") == {
        "name": "ab",
        "digits": "1*#",
        "size": None,
        "items": None,
    }


def test_schema_mirrors_the_rules() -> None:
    schema = SPEC.schema()
    assert schema["required"] == ["name"]
    assert schema["properties"]["name"] == {"type": "string", "maxLength": 5, "minLength": 2}
    assert schema["properties"]["items"]["maxItems"] == 2
    assert schema["properties"]["digits"]["pattern"] == "^[0-9*#]*$"


def test_query_integers_accept_text() -> None:
    assert Int("n", from_text=True).check("42", "n") == 42
    with pytest.raises(ParamError):
        Int("n", from_text=True).check("4.2", "n")


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        (List("items", Str("item")), "items[1]"),
        (List("items", Str("item", required=True)), "items[1]"),
        (List("items", Obj("item", (Str("a"),))), "items[1]"),
        (List("items", Int("n")), "items[1]"),
    ],
)
def test_a_null_list_item_is_empty_whatever_the_item_spec(spec: List, path: str) -> None:
    valid = "1" if isinstance(spec.item, Str) else 1 if isinstance(spec.item, Int) else {}
    with pytest.raises(ParamError) as info:
        spec.check([valid, None], "items")
    assert (info.value.result_code, info.value.field) == ("02000001", path)


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        (Int("n"), INT64_MAX + 1),
        (Int("n"), INT64_MIN - 1),
        (Int("n"), 10**40),
        (Int("n", minimum=1), 2**64),
        (Int("n", maximum=2**70), 2**63),  # a field's maximum never reaches past int64
        (Int("n", from_text=True), str(INT64_MAX + 1)),
        (Int("n", from_text=True), "-" + "9" * 30),
    ],
)
def test_no_integer_past_int64_gets_through(spec: Int, value: object) -> None:
    with pytest.raises(ParamError) as info:
        spec.check(value, "n")
    assert info.value.result_code == "02000007"


def test_int64_itself_gets_through() -> None:
    assert Int("n").check(INT64_MAX, "n") == INT64_MAX
    assert Int("n").check(INT64_MIN, "n") == INT64_MIN
    assert Int("n", from_text=True).check(str(INT64_MAX), "n") == INT64_MAX
    assert Int("n").schema()["format"] == "int64"


def test_query_text_too_long_to_be_a_number_is_a_wrong_type() -> None:
    with pytest.raises(ParamError) as info:
        Int("n", from_text=True).check("9" * 41, "n")
    assert info.value.result_code == "02000006"


def _nested(depth: int) -> object:
    value: object = 1
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


def test_nesting_up_to_the_bound_passes_and_one_more_level_does_not() -> None:
    check_depth(_nested(MAX_DEPTH))
    check_depth({"a": [1, "x", None, {}], "b": []})
    with pytest.raises(ParamError) as info:
        check_depth(_nested(MAX_DEPTH + 1))
    assert (info.value.result_code, info.value.field) == ("02000006", "body")


def test_the_depth_check_does_not_recurse() -> None:
    with pytest.raises(ParamError):
        check_depth(_nested(100_000), "retryPolicy.policyJson")


# Checks build a nested field's path only when it fails (a second run): the error
# is the same as one built on the way down, and chained to nothing.

NESTED = Obj(
    "body",
    (
        List(
            "records",
            Obj(
                "record",
                (
                    List("called", Obj("number", (Str("no", required=True, allowed="0-9"),))),
                    Str("note", max_len=3),
                ),
            ),
        ),
    ),
)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"records": [{}, {"note": "long"}]}, "02000003", "records[1].note"),
        (
            {"records": [{"called": [{"no": "1"}, {"no": "x"}]}]},
            "02000002",
            "records[0].called[1].no",
        ),
        ({"records": [{"called": [{"no": "1"}, {}]}]}, "02000001", "records[0].called[1].no"),
        ({"records": [{"called": [None]}]}, "02000001", "records[0].called[0]"),
        ({"records": [{"called": "1"}]}, "02000006", "records[0].called"),
        ({"records": ["x"]}, "02000006", "records[0]"),
    ],
)
def test_a_nested_field_is_named_by_its_full_path(body: object, code: str, field: str) -> None:
    with pytest.raises(ParamError) as info:
        NESTED.check(body, "")
    assert (info.value.result_code, info.value.field) == (code, field)
    assert info.value.description.startswith(f"{field}: ")
    assert info.value.__suppress_context__ or info.value.__context__ is None


@pytest.mark.parametrize(
    "allowed", ["0-9*#", "0-9", "01", "0-9A-Za-z-", "a-c^", r"\d", "^0-9", r"a\-c"]
)
@given(text=st.text(max_size=12) | st.text(alphabet="0123456789*#-^abcXYZ[]\\:\u0660", max_size=12))
def test_the_allowed_characters_are_the_character_class(allowed: str, text: str) -> None:
    """Plain ASCII classes are checked without the regular expression: same verdicts."""
    spec = Str("s", allowed=allowed)
    expected = not text or re.fullmatch(f"[{allowed}]*", text) is not None
    if "\x00" in text:
        return  # refused before the class is looked at
    try:
        assert spec.check(text, "s") == (text or None)
        passed = True
    except ParamError as exc:
        assert exc.result_code == "02000002"
        passed = False
    assert passed == expected
