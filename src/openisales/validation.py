"""Declarative field rules that yield Huawei's parameter result codes, and JSON Schema.

One spec per request shape is the single source for both checking a request
(``check``) and describing it in the OpenAPI document (``schema``). Checks are
pure and stop at the first bad field, whose name (dotted path) and the reason
go into ``resultDesc``:

* missing or empty mandatory value    -> ``02000001``
* characters outside the allowed set  -> ``02000002``
* longer than allowed                 -> ``02000003``
* shorter than allowed                -> ``02000004``
* wrong JSON type                     -> ``02000006``
* number out of range / not allowed   -> ``02000007``
* too many list items                 -> ``02000011`` (or an endpoint's own code)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openisales.errors import ParamError

EMPTY = "02000001"
ILLEGAL = "02000002"
TOO_LONG = "02000003"
TOO_SHORT = "02000004"
WRONG_TYPE = "02000006"
BAD_VALUE = "02000007"
CONVERSION = "02000008"
COMBINATION = "02000009"
TOO_MANY = "02000011"

# Characters Huawei's pages call "special": refused in names and descriptions.
SPECIAL_CHARS = frozenset("\"'[]=;<>&\\")


@dataclass(frozen=True)
class Str:
    name: str
    required: bool = False
    max_len: int | None = None
    min_len: int | None = None
    allowed: str | None = None  # regex character class body, e.g. "0-9*#"
    forbid_special: bool = False
    description: str = ""

    def check(self, value: Any, path: str) -> str | None:
        if value is None or value == "":
            if self.required:
                raise ParamError(EMPTY, path, "must not be empty")
            return None
        if not isinstance(value, str):
            raise ParamError(WRONG_TYPE, path, "must be a string")
        if "\x00" in value:  # no database stores it in text, and no client means it
            raise ParamError(ILLEGAL, path, "must not contain the NUL character")
        if self.max_len is not None and len(value) > self.max_len:
            raise ParamError(TOO_LONG, path, f"must be at most {self.max_len} characters")
        if self.min_len is not None and len(value) < self.min_len:
            raise ParamError(TOO_SHORT, path, f"must be at least {self.min_len} characters")
        if self.allowed is not None and not re.fullmatch(f"[{self.allowed}]*", value):
            raise ParamError(ILLEGAL, path, f"may contain only [{self.allowed}]")
        if self.forbid_special and any(c in SPECIAL_CHARS for c in value):
            raise ParamError(ILLEGAL, path, "must not contain any of " + "".join(SPECIAL_CHARS))
        return value

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.max_len is not None:
            out["maxLength"] = self.max_len
        if self.min_len is not None:
            out["minLength"] = self.min_len
        if self.allowed is not None:
            out["pattern"] = f"^[{self.allowed}]*$"
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Int:
    name: str
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[int, ...] | None = None
    from_text: bool = False  # query-string values arrive as text
    description: str = ""

    def check(self, value: Any, path: str) -> int | None:
        if value is None or value == "":
            if self.required:
                raise ParamError(EMPTY, path, "must not be empty")
            return None
        if self.from_text and isinstance(value, str):
            if not re.fullmatch(r"[+-]?\d{1,18}", value.strip()):
                raise ParamError(WRONG_TYPE, path, "must be an integer")
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamError(WRONG_TYPE, path, "must be an integer")
        if self.choices is not None and value not in self.choices:
            raise ParamError(BAD_VALUE, path, f"must be one of {list(self.choices)}")
        if self.minimum is not None and value < self.minimum:
            raise ParamError(BAD_VALUE, path, f"must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ParamError(BAD_VALUE, path, f"must be at most {self.maximum}")
        return int(value)

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.choices is not None:
            out["enum"] = list(self.choices)
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Any_:
    """A value stored as given (an object, say), checked only for its JSON type."""

    name: str
    required: bool = False
    json_type: type | tuple[type, ...] = dict
    description: str = ""

    def check(self, value: Any, path: str) -> Any:
        if value is None:
            if self.required:
                raise ParamError(EMPTY, path, "must not be empty")
            return None
        if not isinstance(value, self.json_type):
            raise ParamError(WRONG_TYPE, path, "has the wrong type")
        return value

    def schema(self) -> dict[str, Any]:
        kind = "object" if self.json_type is dict else "array" if self.json_type is list else None
        out: dict[str, Any] = {"type": kind} if kind else {}
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Obj:
    name: str
    fields: tuple[Spec, ...]
    required: bool = False
    description: str = ""

    def check(self, value: Any, path: str = "") -> dict[str, Any] | None:
        if value is None:
            if self.required:
                raise ParamError(EMPTY, path or "body", "must not be empty")
            return None
        if not isinstance(value, Mapping):
            raise ParamError(WRONG_TYPE, path or "body", "must be a JSON object")
        out: dict[str, Any] = {}
        for spec in self.fields:
            sub = f"{path}.{spec.name}" if path else spec.name
            out[spec.name] = spec.check(value.get(spec.name), sub)
        return out

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "object",
            "properties": {f.name: f.schema() for f in self.fields},
        }
        required = [f.name for f in self.fields if f.required]
        if required:
            out["required"] = required
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class List:
    name: str
    item: Spec
    required: bool = False
    max_items: int | None = None
    too_many_code: str = TOO_MANY
    description: str = ""
    min_items: int = field(default=0)

    def check(self, value: Any, path: str) -> list[Any] | None:
        if value is None or (isinstance(value, Sequence) and len(value) == 0 and self.required):
            if self.required:
                raise ParamError(EMPTY, path, "must not be empty")
            return None
        if not isinstance(value, list):
            raise ParamError(WRONG_TYPE, path, "must be a list")
        if self.max_items is not None and len(value) > self.max_items:
            raise ParamError(self.too_many_code, path, f"must hold at most {self.max_items} items")
        return [self.item.check(v, f"{path}[{i}]") for i, v in enumerate(value)]

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.item.schema()}
        if self.max_items is not None:
            out["maxItems"] = self.max_items
        if self.description:
            out["description"] = self.description
        return out


Spec = Str | Int | Obj | List | Any_


def query_params(specs: tuple[Spec, ...], params: Mapping[str, str]) -> dict[str, Any]:
    """Check query-string parameters (all text) against ``specs``."""
    return Obj("query", specs).check(dict(params), "") or {}
