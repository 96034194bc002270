"""``create_app``: the only place that wires the HTTP application."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from openisales.api.context import AppContext
from openisales.api.endpoint import Guard, Operation
from openisales.api.health import PROBES
from openisales.api.openapi import build
from openisales.api.routes import (
    appointments,
    attempts,
    blocklist,
    business_results,
    calldata,
    calldata_delete,
    caller_numbers,
    campaigns,
    holidays,
    obs_results,
    results,
    statistics,
    writeback,
)
from openisales.auth.replay import MemoryReplayGuard, ReplayGuard
from openisales.auth.vault import Vault, master_key
from openisales.clock import Clock, SystemClock
from openisales.config import Settings
from openisales.metrics import Metrics
from openisales.services.writeback import WRITE_FAILED, Definitions
from openisales.store.credentials import CredentialCache
from openisales.store.engine import create_engine, pooled_engine
from openisales.store.ids import IdAllocator
from openisales.store.nonces import SqlReplayGuard
from openisales.store.writeback_fast import FastPath
from openisales.store.writeback_group import GroupCommit

_DOCS_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>openisales API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});</script>
</body></html>"""


# Work that runs beside the API for as long as it serves (the dialing
# engine's dispatcher and pusher, wired by ``openisales.dialing.wiring``): it
# receives the application's context and leaves when the context manager exits.
Background = Callable[[AppContext], AbstractAsyncContextManager[None]]

# The shared replay guard's own connections: one short statement per request
# (the write-back records its nonce in its own statement instead).
REPLAY_POOL_SIZE = 5


def all_operations() -> list[Operation]:
    # Order matters: campaigns/{vdnId}/{campaignId} routes come last. The
    # router tries the routes in this order, so the write-back, called once
    # per answered call, comes first: its literal ``callBusiResult`` segment
    # is no other route's.
    return [
        *writeback.OPERATIONS,
        *business_results.OPERATIONS,
        *calldata_delete.OPERATIONS,
        *calldata.OPERATIONS,
        *results.OPERATIONS,
        *statistics.OPERATIONS,
        *blocklist.OPERATIONS,
        *appointments.OPERATIONS,
        *obs_results.OPERATIONS,
        *holidays.OPERATIONS,
        *attempts.OPERATIONS,
        *caller_numbers.OPERATIONS,
        *campaigns.OPERATIONS,
    ]


def build_context(
    settings: Settings,
    *,
    clock: Clock | None = None,
    replay: ReplayGuard | None = None,
) -> AppContext:
    engine = pooled_engine(settings)
    vault = Vault(master_key(settings))
    if replay is None:
        if settings.effective_replay_guard == "memory":
            replay = MemoryReplayGuard()
        elif settings.embedded:
            replay = SqlReplayGuard(engine)  # SQLite's one connection serves both
        else:
            replay = SqlReplayGuard(
                create_engine(
                    settings.effective_database_url,
                    pool_size=REPLAY_POOL_SIZE,
                    pool_timeout=settings.db_pool_timeout_s,
                    durable=False,
                ),
                owned=True,
            )
    metrics = Metrics()
    return AppContext(
        settings=settings,
        engine=engine,
        ids=IdAllocator(engine),
        credentials=CredentialCache(
            engine,
            vault,
            settings.credential_cache_s,
            unknown_entries=settings.unknown_ak_cache_entries,
            unknown_bytes=settings.unknown_ak_cache_bytes,
        ),
        replay=replay,
        clock=clock or SystemClock(),
        definitions=Definitions(),
        metrics=metrics,
        writeback_fast=(
            FastPath.connect(
                settings.effective_database_url,
                failure_code=WRITE_FAILED,
                timeout=settings.db_pool_timeout_s,
                batch_sizes=metrics.writeback_batch,
                left=metrics.writeback_locking,
            )
            if engine.dialect.name == "postgresql"
            else None
        ),
        writeback_group=(
            GroupCommit(engine, failure_code=WRITE_FAILED, batch_sizes=metrics.writeback_batch)
            if engine.dialect.name == "sqlite"
            else None
        ),
    )


class Application(Starlette):
    """Starlette with :class:`~openisales.api.endpoint.Guard` as its whole middleware stack.

    Starlette wraps its router in ``ServerErrorMiddleware`` (an escaped
    exception becomes a plain-text 500) and ``ExceptionMiddleware`` (an
    ``HTTPException`` goes to its handler). The guard does both, with the
    envelope, so the two layers would only add their cost to every request:
    two more coroutines and two more wrappers of ``send``. Middleware added
    with ``add_middleware`` runs inside the guard; exception handlers,
    ``max_body_size`` and ``debug``, which only those two layers honour, are
    refused instead of ignored (the body limit is ``read_body``'s).
    """

    def build_middleware_stack(self) -> ASGIApp:
        if self.exception_handlers or self.max_body_size is not None or self.debug:
            # the layers that would honour them are the ones left out
            raise TypeError("Application: the guard answers every exception; no handlers")
        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(self.user_middleware):  # none of ours; kept working
            app = cls(app, *args, **kwargs)
        return Guard(app)


def _swagger_static() -> Path | None:
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "static"
    return path if path.is_dir() else None


def create_app(
    settings: Settings,
    *,
    context: AppContext | None = None,
    clock: Clock | None = None,
    background: Background | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Application:
    """The ASGI application. Nothing connects until the lifespan starts.

    ``context`` replaces the one the lifespan would build (and is not closed
    by it); ``background`` runs beside the API while it serves;
    ``extra_routes`` are served beside the operations (the operator console).
    """
    operations = all_operations()
    document = build(operations, PROBES)

    async def openapi(_request: Request) -> Response:
        return JSONResponse(document)

    async def docs(_request: Request) -> Response:
        return HTMLResponse(_DOCS_HTML)

    routes: list[BaseRoute] = [
        Route(op.path, op, methods=[op.method], name=op.handler.__name__) for op in operations
    ]
    routes += [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        *(Route(p.path, p.handler, methods=["GET"]) for p in PROBES),
        *extra_routes,
    ]
    static = _swagger_static()
    if static is not None:
        routes.append(Mount("/docs/static", StaticFiles(directory=static), name="docs-static"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ctx = context or build_context(settings, clock=clock)
        app.state.ctx = ctx
        try:
            if background is None:
                yield
            else:
                async with background(ctx):
                    yield
        finally:
            if context is None:
                await ctx.close()

    # Every answer is the envelope: an unknown path or method, and any
    # exception that escapes a route (logged once, with the request id).
    app = Application(routes=routes, lifespan=lifespan)
    # A path with a trailing slash is no operation's: 404 with the envelope, not
    # Starlette's redirect to the path without it, which the client would have
    # to sign anew (docs/compatibility.md).
    app.router.redirect_slashes = False
    if context is not None:
        app.state.ctx = context  # usable without running the lifespan (tests)
    return app
