"""Business-result definitions: a parent code with children one level deep."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openisales.errors import Conflict, ParamError
from openisales.validation import BAD_VALUE, Int, List, Obj, Str, query_params

CODE_CHARS = "0-9A-Za-z-"

_CHILD = Obj(
    "child",
    (
        Str("name", required=True, max_len=50, forbid_special=True, description="the sub-result"),
        Str(
            "code",
            max_len=50,
            allowed=CODE_CHARS,
            description="subStatus of a write-back; generated when omitted",
        ),
        Str("description", max_len=200, forbid_special=True, description="free text"),
    ),
    description="a sub-result",
)

ADD_SPEC = Obj(
    "body",
    (
        Str("name", required=True, max_len=50, forbid_special=True, description="the result"),
        Str(
            "code",
            max_len=50,
            allowed=CODE_CHARS,
            description="busiResult of a write-back, unique in the VDN; generated when omitted",
        ),
        Str("description", max_len=200, forbid_special=True, description="free text"),
        List("children", _CHILD, max_items=100, description="sub-results, one level deep"),
    ),
    required=True,
)

QUERY_SPEC = (
    Int(
        "pageSize",
        required=True,
        minimum=1,
        maximum=50,
        from_text=True,
        description="1 to 50; out of range: 0200005",
    ),
    Int(
        "pageNum",
        required=True,
        minimum=1,
        maximum=1_000_000_000,
        from_text=True,
        description="the page, from 1; out of range: 0200007",
    ),
)

# queryBusinessResults' own codes (Huawei cec_07_0733 lists 0200005 and 0200007,
# both "parameter exception", beside 0200001 and 0200000x): ours, a value out of
# its range; a missing or non-integer value keeps its 0200000x code.
QUERY_RANGE_CODES = {"pageSize": "0200005", "pageNum": "0200007"}


def check_query(params: Mapping[str, str]) -> tuple[int, int]:
    """``(pageSize, pageNum)`` of a queryBusinessResults query string."""
    try:
        checked = query_params(QUERY_SPEC, params)
    except ParamError as exc:
        code = QUERY_RANGE_CODES.get(exc.field) if exc.result_code == BAD_VALUE else None
        if code is None:
            raise
        raise ParamError(code, exc.field, exc.description.removeprefix(f"{exc.field}: ")) from None
    return checked["pageSize"], checked["pageNum"]


@dataclass(frozen=True)
class NewResult:
    name: str
    code: str | None
    description: str


@dataclass(frozen=True)
class NewDefinition:
    parent: NewResult
    children: tuple[NewResult, ...]


@dataclass(frozen=True)
class ResultDef:
    def_id: int
    parent_def_id: int
    code: str
    name: str
    description: str

    @property
    def level(self) -> int:
        return 1 if self.parent_def_id == 0 else 2


def plan_definition(body: dict[str, Any]) -> NewDefinition:
    """Turn a checked ``addBusinessResult`` body into a definition; refuse repeated sub-codes."""
    children = tuple(
        NewResult(c["name"], c["code"], c["description"] or "") for c in body["children"] or []
    )
    codes = [c.code for c in children if c.code]
    if len(codes) != len(set(codes)):
        raise Conflict("children: sub-codes must be unique under their parent")
    return NewDefinition(NewResult(body["name"], body["code"], body["description"] or ""), children)


def sub_status_belongs(children_codes: set[str], sub_status: str | None) -> bool:
    """The write-back rule: an empty subStatus always fits; otherwise it must be a child."""
    return not sub_status or sub_status in children_codes
