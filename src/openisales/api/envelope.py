"""The response envelope ``{resultCode, resultDesc, returnCode, returnDesc, ...}``."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

from openisales.errors import SUCCESS, OpenISalesError

MEDIA_TYPE = "application/json;charset=UTF-8"
_encoder = msgspec.json.Encoder()


def envelope(code: str, description: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resultCode": code,
        "resultDesc": description,
        "returnCode": code,
        "returnDesc": description,
    }
    if payload:
        body.update(payload)
    return body


def json_response(body: Any, status: int = 200) -> Response:
    return Response(_encoder.encode(body), status_code=status, media_type=MEDIA_TYPE)


def success(description: str, payload: dict[str, Any] | None = None) -> Response:
    return json_response(envelope(SUCCESS, description, payload))


def failure(error: OpenISalesError) -> Response:
    return json_response(envelope(error.result_code, error.description), error.http_status)
