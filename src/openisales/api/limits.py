"""The HTTP limits, seen from ASGI: the body deadline's answer and the limits' envelopes.

The server's protocol (``openisales.cli.protocol``) enforces every limit of
the connection: the request head's size, field count and time, the body's
time, the keep-alive time and the connection cap; no ASGI application sees a
request before its head is complete. When a body does not arrive in time the
protocol answers 408 with the envelope, closes the connection, and wakes the
application waiting for the body with ``http.disconnect``, marked in the
request's scope (``scope["extensions"][BODY_TIMED_OUT]``). :class:`BodyTimeouts`
turns that disconnect into :class:`~openisales.errors.RequestTimeout`, so the
operation ends as for any other error of its request (counted under
``0200408``) instead of as an unexpected one. See ``docs/security.md`` and
decision 0006.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any

import msgspec

from openisales.api import envelope
from openisales.errors import OpenISalesError, RequestTimeout

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BODY_TIMED_OUT = "openisales.body_timed_out"


class BodyTimeouts:
    """A disconnect the server caused because the body was late becomes ``RequestTimeout``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def checked_receive() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect" and scope.get("extensions", {}).get(
                BODY_TIMED_OUT
            ):
                raise RequestTimeout("the request body did not arrive in time")
            return message

        await self.app(scope, checked_receive, send)


def raw_response(error: OpenISalesError) -> bytes:
    """A complete HTTP/1.1 response carrying ``error``'s envelope, then closing the connection.

    For the answers the protocol writes itself, before or instead of an application.
    """
    body = msgspec.json.encode(envelope.envelope(error.result_code, error.description))
    status = HTTPStatus(error.http_status)
    return b"".join(
        [
            f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode("ascii"),
            b"content-type: " + envelope.MEDIA_TYPE.encode("ascii") + b"\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )
