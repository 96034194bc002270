"""The OpenAPI 3.1 document, built from the declared operations: specs, replies, examples.

Each operation answers HTTP 200 with its declared success body
(``Operation.returns``, schema ``<OperationId>Success``) or, for a business
error, the envelope alone (``BusinessError``), as Huawei documents. The other
statuses the server can answer carry the envelope with their own code
(``components/responses``): 401 (C2), 404 and 405 (no such path or method; a
path with a trailing slash is not an operation's), 413 (body size), 408, 431
and 503 (the server's limits, docs/security.md) and 500 (an unexpected
failure, with the request id). The unsigned probes are listed too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from openisales import __version__
from openisales.api.endpoint import GUARD_CODE, Operation
from openisales.api.health import Probe
from openisales.api.responses import ID_PATTERN, Schema, error_envelope
from openisales.errors import (
    CATALOGUE,
    SUCCESS,
    AuthError,
    HeadersTooLarge,
    MethodNotAllowed,
    NoSuchPath,
    OpenISalesError,
    RequestTimeout,
    RequestTooLarge,
    Unavailable,
)

# The statuses that carry one code each: (component name, when, error class).
_HTTP_ERRORS: list[tuple[str, str, type[OpenISalesError]]] = [
    ("Unauthorized", "C2 authentication failed; resultDesc says which check", AuthError),
    (
        "NoSuchPath",
        "No operation at this path (a path with a trailing slash included)",
        NoSuchPath,
    ),
    ("MethodNotAllowed", "The path has no operation for this HTTP method", MethodNotAllowed),
    (
        "RequestTimeout",
        "The request head or body did not arrive in time; the connection is closed",
        RequestTimeout,
    ),
    ("PayloadTooLarge", "The body exceeds OPENISALES_MAX_BODY_BYTES", RequestTooLarge),
    (
        "HeadersTooLarge",
        "The request head exceeds its size or header-count limit; the connection is closed",
        HeadersTooLarge,
    ),
    ("Unavailable", "The process serves as many connections as it may; retry later", Unavailable),
]
_STATUS = {name: cls.http_status for name, _, cls in _HTTP_ERRORS}
# The codes that travel with their own HTTP status, never with 200.
_HTTP_ONLY = {cls.result_code for _, _, cls in _HTTP_ERRORS}
_INTERNAL_CODES = sorted({"0200006", "0200999", GUARD_CODE})
_OPERATION_ERRORS = [
    "Unauthorized",
    "NoSuchPath",
    "MethodNotAllowed",
    "RequestTimeout",
    "PayloadTooLarge",
    "HeadersTooLarge",
    "Unavailable",
]
_PROBE_ERRORS = ["NoSuchPath", "MethodNotAllowed", "RequestTimeout", "HeadersTooLarge"]

_PATH_PARAMS: dict[str, tuple[Schema, str, Any]] = {
    "vdnId": (
        {"type": "integer", "minimum": 1, "maximum": 9999},
        "The tenant (VDN), 1 to 9999; the signing key must be one of its keys",
        1,
    ),
    "campaignId": (
        {"type": "string", "pattern": ID_PATTERN},
        "The campaign: returnObject.id of the create operation (a 64-bit integer)",
        "3",
    ),
    "dataId": (
        {"type": "string", "pattern": ID_PATTERN},
        "The call-data record: dataIdList[].dataId of add call data (a 64-bit integer)",
        "1803096731904991234",
    ),
    "defId": (
        {"type": "string", "pattern": ID_PATTERN},
        "The display result: defId of createObResult (a 64-bit integer)",
        "1645244637",
    ),
}


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _params(op: Operation) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in re.findall(r"{(\w+)}", op.path):
        schema, description, example = _PATH_PARAMS[name]
        out.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": description,
                "schema": schema,
                "examples": {"example": {"value": example}},
            }
        )
    given = op.example if op.body is None and op.example is not None else {}
    for spec in op.query:
        param: dict[str, Any] = {
            "name": spec.name,
            "in": "query",
            "required": spec.required,
            "description": spec.description,
            "schema": spec.schema(),
        }
        if spec.name in given:
            param["examples"] = {"example": {"value": given[spec.name]}}
        out.append(param)
    return out


def _success(name: str) -> dict[str, Any]:
    return {
        "description": "Success (resultCode 0200000, with the payload) or a business error "
        "(another resultCode, the envelope alone): both travel with HTTP 200, as Huawei "
        "documents",
        "content": _json({"oneOf": [_ref("schemas", name), _ref("schemas", "BusinessError")]}),
    }


def _operation(op: Operation, name: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": op.handler.__name__,
        "parameters": _params(op),
        "security": [{"c2": []}],
        "responses": {
            "200": _success(name),
            **{str(_STATUS[e]): _ref("responses", e) for e in _OPERATION_ERRORS},
            "500": _ref("responses", "InternalError"),
        },
    }
    if op.body is not None:
        content: dict[str, Any] = {"schema": op.body.schema()}
        if op.example is not None:
            content["examples"] = {"example": {"summary": op.summary, "value": op.example}}
        item["requestBody"] = {
            "required": op.body.required,
            "content": {"application/json": content},
        }
    return item


def _probe(probe: Probe, name: str) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {"description": probe.summary, "content": _json(_ref("schemas", name))},
        **{str(_STATUS[e]): _ref("responses", e) for e in _PROBE_ERRORS},
        "500": _ref("responses", "InternalError"),
        "503": (
            _ref("responses", "Unavailable")
            if probe.unavailable is None
            else {"description": "Not ready", "content": _json(probe.unavailable)}
        ),
    }
    return {
        "summary": probe.summary,
        "tags": ["health"],
        "operationId": probe.handler.__name__,
        "security": [],
        "responses": responses,
    }


def _error_responses() -> dict[str, Any]:
    out = {
        name: {
            "description": f"{when} (resultCode {cls.result_code})",
            "content": _json(error_envelope(f"{when} (HTTP {cls.http_status})", [cls.result_code])),
        }
        for name, when, cls in _HTTP_ERRORS
    }
    out["InternalError"] = {
        "description": "An unexpected failure: logged with the request id, not applied",
        "content": _json(
            error_envelope(
                "An unexpected failure (HTTP 500): the operation's storage code (0200999 for "
                "the write-back and outside the operations, 0200006 otherwise) and the "
                "request id of its log line",
                _INTERNAL_CODES,
                request_id=True,
            )
        ),
    }
    return out


def build(operations: Iterable[Operation], probes: Iterable[Probe] = ()) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {
        "BusinessError": error_envelope(
            "A business error (HTTP 200): the envelope with the error's result code",
            sorted(c for c in CATALOGUE if c != SUCCESS and c not in _HTTP_ONLY),
        ),
    }
    for op in operations:
        name = _camel(op.handler.__name__) + "Success"
        schemas[name] = op.returns.schema()
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, name)
    for probe in probes:
        name = _camel(probe.handler.__name__) + "Success"
        schemas[name] = probe.returns.schema()
        paths.setdefault(probe.path, {})["get"] = _probe(probe, name)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "openisales",
            "version": __version__,
            "description": "CC-iSales compatible outbound-campaign OpenAPI. Every operation "
            "needs a C2 AK/SK signature (Authorization: auth-v2/AK/timestamp/headers/signature; "
            "docs/signing.md). Every answer is the envelope {resultCode, resultDesc, "
            "returnCode, returnDesc} with the operation's payload beside it; business errors "
            "travel with HTTP 200 (docs/result-codes.md). What differs from Huawei's "
            "documentation: docs/compatibility.md.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": _error_responses(),
            "securitySchemes": {"c2": {"type": "apiKey", "in": "header", "name": "Authorization"}},
        },
    }
