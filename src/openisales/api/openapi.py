"""The OpenAPI 3.1 document, built from the declared operations and their specs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from openisales import __version__
from openisales.api.endpoint import Operation
from openisales.errors import CATALOGUE

_ENVELOPE = {
    "type": "object",
    "properties": {
        "resultCode": {"type": "string", "enum": sorted(CATALOGUE)},
        "resultDesc": {"type": "string"},
        "returnCode": {"type": "string"},
        "returnDesc": {"type": "string"},
    },
    "required": ["resultCode", "resultDesc", "returnCode", "returnDesc"],
}


def _params(op: Operation) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in re.findall(r"{(\w+)}", op.path):
        kind = (
            {"type": "integer", "minimum": 1, "maximum": 9999}
            if name == "vdnId"
            else {"type": "string"}
        )
        out.append({"name": name, "in": "path", "required": True, "schema": kind})
    for spec in op.query:
        out.append(
            {"name": spec.name, "in": "query", "required": spec.required, "schema": spec.schema()}
        )
    return out


def build(operations: Iterable[Operation]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        item: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": op.handler.__name__,
            "parameters": _params(op),
            "security": [{"c2": []}],
            "responses": {
                "200": {
                    "description": "Business outcome; resultCode says success or which error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}
                    },
                },
                "401": {"description": "C2 authentication failed (resultCode 0200401)"},
                "413": {"description": "Request body too large (resultCode 0200413)"},
            },
        }
        if op.body is not None:
            item["requestBody"] = {
                "required": op.body.required,
                "content": {"application/json": {"schema": op.body.schema()}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "openisales",
            "version": __version__,
            "description": "CC-iSales compatible outbound-campaign OpenAPI. Every operation "
            "needs a C2 AK/SK signature (Authorization: auth-v2/AK/timestamp/headers/signature).",
        },
        "paths": paths,
        "components": {
            "schemas": {"Envelope": _ENVELOPE},
            "securitySchemes": {"c2": {"type": "apiKey", "in": "header", "name": "Authorization"}},
        },
    }
