"""Declare an OpenAPI operation once: its route, its checks and its documentation.

A handler receives a :class:`Call` (authenticated VDN, raw body, context) and
returns a :class:`Reply`; every :class:`OpenISalesError` it raises becomes
the envelope with the error's code. Unexpected exceptions are logged and
answered with HTTP 500 and the operation's ``failure_code``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from openisales.api import envelope
from openisales.api.auth import authenticate
from openisales.api.context import AppContext
from openisales.auth.replay import Nonce
from openisales.errors import (
    SUCCESS,
    OpenISalesError,
    ParamError,
    RequestTooLarge,
    StorageError,
)
from openisales.validation import CONVERSION, WRONG_TYPE, Obj, Spec, query_params

log = logging.getLogger("openisales.api")


@dataclass(frozen=True)
class Reply:
    description: str
    payload: dict[str, Any] | None = None


@dataclass
class Call:
    request: Request
    ctx: AppContext
    vdn_id: int
    body: bytes
    nonce: Nonce | None = None  # set for operations that record the replay check themselves

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def id_param(self, name: str) -> int:
        """A 64-bit id from the path; ``02000006`` when it is not a positive integer."""
        raw = self.path_param(name)
        if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) >= 2**63:
            raise ParamError(WRONG_TYPE, name, "must be a 64-bit integer")
        return int(raw)

    def json(self) -> Any:
        """The decoded body; ``02000008`` when it is not JSON, None when it is empty."""
        if not self.body.strip():
            return None
        try:
            return msgspec.json.decode(self.body)
        except msgspec.DecodeError:
            raise ParamError(CONVERSION, "body", "is not valid JSON") from None

    def checked_body(self, spec: Obj) -> dict[str, Any]:
        checked = spec.check(self.json(), "")
        assert checked is not None  # spec.required
        return checked

    def checked_query(self, specs: tuple[Spec, ...]) -> dict[str, Any]:
        return query_params(specs, self.request.query_params)


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    handler: Handler
    tag: str
    body: Obj | None = None
    query: tuple[Spec, ...] = ()
    failure_code: str = "0200006"
    replay_in_handler: bool = False  # the handler records the single use of Call.nonce
    response: dict[str, Any] = field(default_factory=dict)

    async def handle(self, request: Request) -> Response:
        ctx: AppContext = request.app.state.ctx
        try:
            body = await read_body(request, ctx.settings.max_body_bytes)
            vdn_id, nonce = await authenticate(
                ctx,
                request,
                body,
                str(request.path_params["vdnId"]),
                defer_replay=self.replay_in_handler,
            )
            reply = await self.handler(Call(request, ctx, vdn_id, body, nonce))
        except OpenISalesError as exc:
            self._count(ctx, exc.result_code)
            return envelope.failure(exc)
        except Exception:
            log.exception("unexpected error in %s %s", self.method, self.path)
            self._count(ctx, self.failure_code)
            return envelope.failure(_internal(self.failure_code))
        self._count(ctx, SUCCESS)
        return envelope.success(reply.description, reply.payload)

    def _count(self, ctx: AppContext, code: str) -> None:
        ctx.metrics.api_results.labels(self.handler.__name__, code).inc()


def _internal(code: str) -> StorageError:
    error = StorageError("internal error; the request was not applied", result_code=code)
    error.http_status = 500
    return error


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes before reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"request body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
