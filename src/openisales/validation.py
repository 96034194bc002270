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

A null list item is an empty value (``02000001``, the item named ``list[i]``).
Every integer has bounds: the field's own, and never beyond a signed 64-bit
integer (``02000007``), so no number the database cannot hold gets past a
check. A request body nested deeper than :data:`MAX_DEPTH` is refused as a
whole (``02000006``, see :func:`check_depth`).

Checks run per field of every request and per row of a bulk import, so the
good path is kept short: a character class is compiled once per spec, and the
dotted path of a nested field is built only when its check fails (the check is
then run again with it: checks are pure, so the second run fails the same way).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

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

# The deepest JSON a request body may nest (objects and lists; the body itself
# is level 1). Our bodies are at most four deep; the values stored as given
# (skillParam, ivrParam, callPolicy, a gateway's config) get the rest.
MAX_DEPTH = 32
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# The characters Huawei's create-campaign page forbids in a description:
# ``"[]=;<>``. Its other pages say "no special characters" (business-result
# names and descriptions, v2 customField, display results) without a list; the
# same set applies there (docs/compatibility.md). ``'``, ``&`` and ``\`` are
# allowed: "Mother's day", "Q&A follow-up".
SPECIAL = '"[]=;<>'
SPECIAL_CHARS = frozenset(SPECIAL)


@dataclass(frozen=True)
class Str:
    name: str
    required: bool = False
    max_len: int | None = None
    min_len: int | None = None
    allowed: str | None = None  # regex character class body, e.g. "0-9*#"
    forbid_special: bool = False
    description: str = ""
    # ``allowed`` prepared once: re.fullmatch would look the pattern up in re's cache per check
    _chars: str | None = field(init=False, repr=False, compare=False, default=None)
    _pattern: Any = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self.allowed is not None:
            object.__setattr__(self, "_chars", _spelled_out(self.allowed))
            object.__setattr__(self, "_pattern", re.compile(f"[{self.allowed}]*"))

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
        if self.allowed is not None and (
            value.strip(self._chars)
            if self._chars is not None
            else self._pattern.fullmatch(value) is None
        ):
            raise ParamError(ILLEGAL, path, f"may contain only [{self.allowed}]")
        if self.forbid_special and any(c in SPECIAL_CHARS for c in value):
            raise ParamError(ILLEGAL, path, "must not contain any of " + SPECIAL)
        return value

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.max_len is not None:
            out["maxLength"] = self.max_len
        if self.min_len is not None:
            out["minLength"] = self.min_len
        if self.allowed is not None:
            out["pattern"] = f"^[{self.allowed}]*$"
        elif self.forbid_special:
            out["pattern"] = "^[^" + re.escape(SPECIAL) + "]*$"
        if self.description:
            out["description"] = self.description
        return out


def _spelled_out(allowed: str) -> str | None:
    """The characters of the class ``[allowed]`` when it is plain ASCII, else ``None``.

    A class of printable ASCII characters and ranges (``0-9*#``, ``0-9A-Za-z-``)
    matches ASCII characters only, so it can be spelled out; a text is then
    made of them when stripping them from both ends leaves nothing, several
    times quicker than a regular expression. Escapes, negation and brackets
    are left to the regular expression.
    """
    plain = allowed.isascii() and allowed.isprintable() and not allowed.startswith("^")
    if not plain or any(c in allowed for c in "\\[]"):
        return None
    pattern = re.compile(f"[{allowed}]")
    return "".join(c for c in map(chr, range(128)) if pattern.fullmatch(c))


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
            # Digits beyond int64's 19 are a number out of range, not a wrong type.
            if not re.fullmatch(r"[+-]?\d{1,40}", value.strip()):
                raise ParamError(WRONG_TYPE, path, "must be an integer")
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamError(WRONG_TYPE, path, "must be an integer")
        if self.choices is not None and value not in self.choices:
            raise ParamError(BAD_VALUE, path, f"must be one of {list(self.choices)}")
        low = INT64_MIN if self.minimum is None else max(self.minimum, INT64_MIN)
        high = INT64_MAX if self.maximum is None else min(self.maximum, INT64_MAX)
        if value < low:
            raise ParamError(BAD_VALUE, path, f"must be at least {low}")
        if value > high:
            raise ParamError(BAD_VALUE, path, f"must be at most {high}")
        return int(value)

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer", "format": "int64"}
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
        if type(value) is not dict and not isinstance(value, Mapping):
            raise ParamError(WRONG_TYPE, path or "body", "must be a JSON object")
        out: dict[str, Any] = {}
        for spec in self.fields:
            name = spec.name
            item = value.get(name)
            try:
                out[name] = spec.check(item, name)
            except ParamError:  # again, named by its full path
                _fail(spec, item, f"{path}.{name}" if path else name)
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
        if value is None or (self.required and isinstance(value, Sequence) and len(value) == 0):
            if self.required:
                raise ParamError(EMPTY, path, "must not be empty")
            return None
        if not isinstance(value, list):
            raise ParamError(WRONG_TYPE, path, "must be a list")
        if self.max_items is not None and len(value) > self.max_items:
            raise ParamError(self.too_many_code, path, f"must hold at most {self.max_items} items")
        out: list[Any] = []
        item = self.item
        for i, v in enumerate(value):
            if v is None:  # an item is never optional, whatever its spec says of a field
                raise ParamError(EMPTY, f"{path}[{i}]", "must not be null")
            try:
                out.append(item.check(v, path))
            except ParamError:  # again, named by its full path
                _fail(item, v, f"{path}[{i}]")
        return out

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.item.schema()}
        if self.max_items is not None:
            out["maxItems"] = self.max_items
        if self.description:
            out["description"] = self.description
        return out


Spec = Str | Int | Obj | List | Any_


def _fail(spec: Spec, value: Any, path: str) -> NoReturn:
    """Check again a value whose check failed under a provisional path: the error under ``path``."""
    try:
        spec.check(value, path)
    except ParamError as exc:
        raise exc from None  # not chained to the provisional one
    raise AssertionError(f"{path}: a check failed once and then passed")  # pragma: no cover


def check_depth(value: Any, path: str = "body", limit: int = MAX_DEPTH) -> None:
    """Refuse ``value`` (decoded JSON) when its objects and lists nest deeper than ``limit``.

    ``02000006`` naming ``path``. Iterative, so that no depth reaches Python's
    recursion limit here, and it stops at the first container past the limit.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            raise ParamError(WRONG_TYPE, path, f"must not nest deeper than {limit} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def query_params(specs: tuple[Spec, ...], params: Mapping[str, str]) -> dict[str, Any]:
    """Check query-string parameters (all text) against ``specs``."""
    return Obj("query", specs).check(dict(params), "") or {}
