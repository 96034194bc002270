"""The unsigned probes: ``/healthz`` (the process is up) and ``/readyz`` (the database answers).

Both answer the envelope, like every other path; ``status`` says the same in
one word for a probe that reads only that. Each is declared once, with what it
answers, and listed in ``/openapi.json`` beside the operations.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from openisales.api import envelope
from openisales.api.context import AppContext
from openisales.api.responses import Returns, Schema, error_envelope, string

DATABASE_DOWN = "0200006"  # the database operation error, with HTTP 503 here


@dataclass(frozen=True)
class Probe:
    """An unsigned GET outside the VDNs; ``unavailable`` is its HTTP 503 answer, if any."""

    path: str
    summary: str
    handler: Callable[[Request], Awaitable[Response]]
    returns: Returns
    unavailable: Schema | None = None


async def healthz(_request: Request) -> Response:
    return envelope.success("ok", {"status": "ok"})


async def readyz(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    try:
        async with ctx.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception:
        down = "database unavailable"
        body = envelope.envelope(DATABASE_DOWN, down, {"status": down})
        return envelope.json_response(body, 503)
    return envelope.success("ready", {"status": "ready"})


PROBES = (
    Probe(
        "/healthz",
        "The process is up (unsigned)",
        healthz,
        Returns("ok", {"status": string("always ok", enum=["ok"])}),
    ),
    Probe(
        "/readyz",
        "The process is up and its database answers (unsigned)",
        readyz,
        Returns("ready", {"status": string("always ready", enum=["ready"])}),
        unavailable=error_envelope(
            "The database does not answer (resultCode 0200006, status "
            '"database unavailable"), or the server\'s connection limit is reached (0200503)',
            [DATABASE_DOWN, "0200503"],
            extra={"status": string("why", enum=["database unavailable"])},
        ),
    ),
)
