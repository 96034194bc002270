"""What an operation answers, declared next to it and published in ``/openapi.json``.

A route module declares its success body once, as :class:`Returns`: the
``resultDesc`` it answers and the payload beside the envelope (``returnObject``,
``data``, ``totalCount``, ...), built from the helpers below, which return
JSON Schema (2020-12, as OpenAPI 3.1 uses it). Every object is closed
(``additionalProperties`` false) and lists each of its keys as required unless
declared optional, so that a handler that adds, drops or retypes a field no
longer matches its declaration (``tests/api/test_openapi.py`` checks a real
answer of every operation against it). :func:`error_envelope` is the shape
of every failure.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openisales.errors import SUCCESS

Schema = dict[str, Any]

ID_PATTERN = "^[0-9]{1,19}$"


def _typed(kind: str, description: str, nullable: bool, extra: Mapping[str, Any]) -> Schema:
    out: Schema = {"type": [kind, "null"] if nullable else kind, "description": description}
    for key, value in extra.items():
        if value is not None:
            out[key] = list(value) if key == "enum" else value
    if nullable and "enum" in out:
        out["enum"].append(None)
    return out


def string(
    description: str,
    *,
    nullable: bool = False,
    enum: Sequence[str] | None = None,
    pattern: str | None = None,
) -> Schema:
    return _typed("string", description, nullable, {"enum": enum, "pattern": pattern})


def id_string(description: str, *, nullable: bool = False) -> Schema:
    """A 64-bit id sent as a string (Huawei's ids exceed what a JSON number keeps exactly)."""
    return string(description, nullable=nullable, pattern=ID_PATTERN)


def integer(
    description: str,
    *,
    nullable: bool = False,
    enum: Sequence[int] | None = None,
    minimum: int | None = None,
) -> Schema:
    return _typed("integer", description, nullable, {"enum": enum, "minimum": minimum})


def boolean(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def array(item: Schema, description: str) -> Schema:
    return {"type": "array", "items": item, "description": description}


def obj(
    description: str,
    fields: Mapping[str, Schema],
    *,
    optional: Collection[str] = (),
    nullable: bool = False,
) -> Schema:
    """A closed object: exactly ``fields``, each present unless named in ``optional``."""
    unknown = set(optional) - set(fields)
    if unknown:  # pragma: no cover - programming error
        raise ValueError(f"optional names no field: {sorted(unknown)}")
    return {
        "type": ["object", "null"] if nullable else "object",
        "description": description,
        "properties": dict(fields),
        "required": [name for name in fields if name not in optional],
        "additionalProperties": False,
    }


def mapping(value: Schema, description: str) -> Schema:
    """An object whose keys are data (a failure code, say), each holding ``value``."""
    return {"type": "object", "additionalProperties": value, "description": description}


def one_of(description: str, *choices: Schema) -> Schema:
    return {"oneOf": list(choices), "description": description}


def stored(description: str) -> Schema:
    """A value stored as the client gave it: any JSON (an object, or null when not given)."""
    return {"description": description}


def _envelope(code: Schema, desc: Schema) -> dict[str, Schema]:
    return {"resultCode": code, "resultDesc": desc, "returnCode": code, "returnDesc": desc}


@dataclass(frozen=True)
class Returns:
    """An operation's success body: the envelope with ``0200000`` plus ``payload``.

    ``description``: the ``resultDesc`` (and ``returnDesc``) it answers, or
    the several it may; ``optional``: payload keys that are not always there.
    """

    description: str | tuple[str, ...]
    payload: Mapping[str, Schema] = field(default_factory=dict)
    optional: tuple[str, ...] = ()

    @property
    def descriptions(self) -> tuple[str, ...]:
        return (self.description,) if isinstance(self.description, str) else self.description

    def schema(self) -> Schema:
        fields = _envelope(
            string("0200000: success", enum=[SUCCESS]),
            string("what succeeded", enum=self.descriptions),
        )
        return obj(
            "Success: the envelope (resultCode 0200000) and the operation's payload",
            {**fields, **self.payload},
            optional=self.optional,
        )


def error_envelope(
    description: str,
    codes: Collection[str],
    *,
    request_id: bool = False,
    extra: Mapping[str, Schema] | None = None,
) -> Schema:
    """A failure: the envelope, ``requestId`` (required when ``request_id``: the
    id of the log line of an unexpected failure) and the optional ``extra``."""
    fields = {
        **_envelope(
            string("the result code (docs/result-codes.md)", enum=sorted(codes)),
            string("what failed; for a parameter, its name (dotted path) and the reason"),
        ),
        "requestId": string(
            "the request's id (X-Request-Id), also in the log line of an unexpected failure"
        ),
        **(extra or {}),
    }
    optional = [*(extra or {}), *(() if request_id else ("requestId",))]
    return obj(description, fields, optional=optional)
