from __future__ import annotations

import pytest

from openisales.errors import ParamError
from openisales.validation import Int, List, Obj, Str

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
