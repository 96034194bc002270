"""The transport alone: ``openisales serve`` with an application that only answers.

    python bench/writeback/nullapp.py serve --host 127.0.0.1 --port 8443 --workers 2

runs the ``openisales`` command line with one change: the application factory
that ``serve`` hands to uvicorn (``openisales.cli.asgi:create_from_env``)
becomes :func:`create` of this module. Everything else is ``serve``'s own:
its checks (database, master key), the TLS certificate, the protocol class
with its limits, the event loop, the workers, the backlog, the keep-alive
time. The workers import this module by name: it is found on ``sys.path``,
whose first entry is this script's directory (uvicorn's worker processes
are spawned with the parent's ``sys.path``).

The application reads each request's body and answers HTTP 200 with the bytes
a successful write-back is answered with (the envelope of
``callBusiResult`` and the headers the real application sets: content
length and type, a request id of the same length), whatever the path: no
signature check, no database, nothing logged. Like the real application it
wraps itself in ``BodyTimeouts`` (the ASGI side of the protocol's limits) and
runs with the tuned garbage collector (``openisales.collector``) while it
serves. What such a server costs per request is what the HTTP stack costs:
no application on it can cost less.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import msgspec

from openisales import collector
from openisales.api import envelope
from openisales.api.endpoint import REQUEST_ID_HEADER
from openisales.api.limits import ASGIApp, BodyTimeouts, Message, Receive, Scope, Send
from openisales.api.routes.writeback import SUCCESS_DESC
from openisales.errors import SUCCESS

SERVED = "openisales.cli.asgi:create_from_env"  # what serve runs (checked, not assumed)
NULL = f"{Path(__file__).stem}:create"

BODY = msgspec.json.encode(envelope.envelope(SUCCESS, SUCCESS_DESC))
START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-length", str(len(BODY)).encode()),
        (b"content-type", envelope.MEDIA_TYPE.encode()),
        (REQUEST_ID_HEADER.encode(), b"0" * 32),  # the length of a uuid4().hex
    ],
}
RESPONSE: Message = {"type": "http.response.body", "body": BODY}


async def answer(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    more = True
    while more:  # the body, as the real endpoint reads it
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        more = message.get("more_body", False)
    await send(START)
    await send(RESPONSE)


async def lifespan(receive: Receive, send: Send) -> None:
    with ExitStack() as stack:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                stack.enter_context(collector.tuned())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def create() -> ASGIApp:
    return BodyTimeouts(answer)


def main() -> None:
    """``openisales`` with ``serve``'s application factory swapped for :func:`create`."""
    import uvicorn

    from openisales.cli import main as openisales

    real_run = uvicorn.run

    def run_null(app: Any, **options: Any) -> None:
        if app != SERVED:
            sys.exit(f"serve runs {app!r}, not {SERVED!r}: update {__file__}")
        real_run(NULL, **options)

    uvicorn.run = run_null
    openisales()


if __name__ == "__main__":
    main()
