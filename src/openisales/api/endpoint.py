"""Declare an OpenAPI operation once: its route, its checks and its documentation.

A handler receives a :class:`Call` (authenticated VDN and AK, raw body, context) and
returns a :class:`Reply`; every :class:`OpenISalesError` it raises becomes
the envelope with the error's code, a :class:`StorageError` with the
operation's ``failure_code``. Unexpected exceptions are logged (one line, with
the request id and the exception) and answered with HTTP 500, the operation's
``failure_code`` and the request id.

:class:`Guard`, the application's outermost middleware, gives every request
its id (``X-Request-Id``) and answers whatever escapes a route outside the
operations (``/openapi.json``, ``/healthz``, ...) the same way, with
``GUARD_CODE``, and an unknown path or method (Starlette's ``HTTPException``)
with the envelope too (:func:`http_failure`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openisales.api import envelope
from openisales.api.auth import authenticate
from openisales.api.context import AppContext
from openisales.api.responses import Returns
from openisales.auth.replay import Nonce
from openisales.errors import (
    SUCCESS,
    MethodNotAllowed,
    NoSuchPath,
    OpenISalesError,
    ParamError,
    RequestTimeout,
    RequestTooLarge,
    StorageError,
)
from openisales.logs import request_context
from openisales.services.audit import Actor
from openisales.validation import (
    CONVERSION,
    MAX_DEPTH,
    WRONG_TYPE,
    Obj,
    Spec,
    check_depth,
    query_params,
)

log = logging.getLogger("openisales.api")

# What the guard answers for an exception outside any operation (HTTP 500).
GUARD_CODE = "0200999"
REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_KEY = "openisales.request_id"
_REQUEST_ID_RAW = REQUEST_ID_HEADER.encode()
_GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_request_id() -> str:
    """``uuid.uuid4().hex``, the same text from the same 16 random bytes, in fewer steps.

    Version nibble ``4``, variant bits ``10`` (the hex digit after the third group
    is one of ``89ab``), the other 122 bits random.
    """
    text = os.urandom(16).hex()
    return f"{text[:12]}4{text[13:16]}{_VARIANT[text[16]]}{text[17:]}"


def request_id(scope: MutableMapping[str, Any]) -> str:
    """The request's id: the caller's ``X-Request-Id`` if well formed, else a new one."""
    found = scope.get(_REQUEST_ID_KEY)
    if isinstance(found, str):
        return found
    given = next((v for k, v in scope.get("headers", ()) if k == _REQUEST_ID_RAW), b"").decode(
        "latin-1"
    )
    rid = given if _GIVEN_ID.fullmatch(given) else new_request_id()
    scope[_REQUEST_ID_KEY] = rid
    return rid


def log_unexpected(scope: MutableMapping[str, Any], where: str) -> str:
    """Log the exception being handled, once, with the request id; return the id."""
    rid = request_id(scope)
    log.error(
        "unexpected error in %s (request %s)", where, rid, exc_info=True, extra={"requestId": rid}
    )
    return rid


@dataclass(frozen=True)
class Reply:
    description: str
    payload: dict[str, Any] | None = None


@dataclass
class Call:
    request: Request
    ctx: AppContext
    vdn_id: int
    ak: str  # the signature's AK: who the audit log says made a change
    body: bytes
    nonce: Nonce | None = None  # set for operations that record the replay check themselves

    @property
    def actor(self) -> Actor:
        """Who makes the request's changes, for the audit log (``ak:<AK>``)."""
        return Actor("ak", self.ak)

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def id_param(self, name: str) -> int:
        """A 64-bit id from the path; ``02000006`` when it is not a positive integer."""
        raw = self.path_param(name)
        if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) >= 2**63:
            raise ParamError(WRONG_TYPE, name, "must be a 64-bit integer")
        return int(raw)

    def json(self) -> Any:
        """The decoded body; None when it is empty.

        ``02000008`` when it is not JSON (invalid UTF-8 included), ``02000006``
        when it nests deeper than :data:`~openisales.validation.MAX_DEPTH`.
        """
        if not self.body.strip():
            return None
        try:
            value = msgspec.json.decode(self.body)
        except msgspec.DecodeError:
            raise ParamError(CONVERSION, "body", "is not valid JSON") from None
        except RecursionError:  # far deeper than the bound: the decoder gave up first
            raise ParamError(
                WRONG_TYPE, "body", f"must not nest deeper than {MAX_DEPTH} levels"
            ) from None
        check_depth(value, "body")
        return value

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
    # What the operation answers on success (its payload and resultDesc).
    returns: Returns = field(kw_only=True)
    # An example request that succeeds on a VDN holding the ids it names:
    # the body, or for an operation without one, its query parameters.
    example: Mapping[str, Any] | None = field(default=None, kw_only=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The operation as its route's ASGI application.

        Starlette would wrap :meth:`handle` (a method) in its request/response
        adapter, which adds a layer of exception handling per request; ``handle``
        answers every exception itself, so the operation is routed to directly.
        """
        response = await self.handle(Request(scope, receive, send))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        ctx: AppContext = request.app.state.ctx
        try:
            body = await read_body(request, ctx.settings.max_body_bytes)
            vdn_id, ak, nonce = await authenticate(
                ctx,
                request,
                body,
                str(request.path_params["vdnId"]),
                defer_replay=self.replay_in_handler,
                failure_code=self.failure_code,
            )
            reply = await self.handler(Call(request, ctx, vdn_id, ak, body, nonce))
        except StorageError as exc:
            # Wherever the database failed (the id allocator, say), the
            # operation answers its own storage code: 0200999 for the write-back
            # (a more precise code, such as 0200998, stays).
            if exc.result_code == StorageError.result_code != self.failure_code:
                exc = StorageError(exc.description, result_code=self.failure_code)
            self._count(ctx, exc.result_code)
            return envelope.failure(exc)
        except OpenISalesError as exc:
            self._count(ctx, exc.result_code)
            return envelope.failure(exc)
        except Exception:
            rid = log_unexpected(request.scope, f"{self.method} {self.path}")
            self._count(ctx, self.failure_code)
            return envelope.failure(_internal(self.failure_code), request_id=rid)
        self._count(ctx, SUCCESS)
        return envelope.success(reply.description, reply.payload)

    def _count(self, ctx: AppContext, code: str) -> None:
        ctx.metrics.api_result(self.handler.__name__, code).inc()


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
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestTooLarge(f"request body exceeds {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # nobody is left to answer: not an unexpected error to log
        raise RequestTimeout("the client closed the connection before its body arrived") from None
    return b"".join(chunks)


class Guard:
    """The outermost middleware: a request id for every request, the envelope for any failure.

    An exception that escapes the application (a route outside the
    operations; the operations catch their own) is logged once with the
    request id and answered with HTTP 500 and the ``GUARD_CODE`` envelope,
    never the server's plain-text page. Every response carries ``X-Request-Id``,
    and every line logged while the request is served its ``requestId`` (``logs.py``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        with request_context(rid):  # every line logged while serving it carries the id
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                if isinstance(exc, HTTPException) and not started:
                    # no route for the path or method, no such static file
                    response = http_failure(str(scope.get("method", "")), exc)
                else:
                    path = str(scope.get("path", ""))[:200]  # the client's text: quoted, bounded
                    log_unexpected(scope, f"{scope.get('method')} {path!r}")
                    if started:  # too late for an answer: the server ends the response
                        return
                    response = envelope.failure(_internal(GUARD_CODE), request_id=rid)
                await response(scope, receive, send_with_id)


def http_failure(method: str, exc: HTTPException) -> Response:
    """No route for the path (HTTP 404) or the method (HTTP 405): the envelope, not plain text."""
    error: OpenISalesError
    if exc.status_code == 405:
        error = MethodNotAllowed(f"{method} is not an operation of this path")
    elif exc.status_code == 404:
        error = NoSuchPath("no operation at this path")
    else:
        error = OpenISalesError(str(exc.detail))
        error.http_status = exc.status_code
    return envelope.failure(error, headers=exc.headers)
