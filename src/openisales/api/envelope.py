"""The response envelope ``{resultCode, resultDesc, returnCode, returnDesc, ...}``."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
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


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        _encoder.encode(body), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def success(description: str, payload: dict[str, Any] | None = None) -> Response:
    if payload:
        return json_response(envelope(SUCCESS, description, payload))
    return Response(_bare_success(description), media_type=MEDIA_TYPE)


@lru_cache(maxsize=256)
def _bare_success(description: str) -> bytes:
    """A success without payload (a write-back's, say): the same bytes for the same description."""
    return _encoder.encode(envelope(SUCCESS, description))


def failure(
    error: OpenISalesError,
    *,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The error's envelope; ``requestId`` (unexpected failures) ties it to the log line."""
    payload = {"requestId": request_id} if request_id else None
    body = envelope(error.result_code, error.description, payload)
    return json_response(body, error.http_status, headers)
