"""Entry point for uvicorn workers: the API, and what runs beside it in each worker process.

uvicorn calls :func:`create_from_env` once in every worker process (``serve
--workers N`` spawns fresh interpreters that inherit no logging set-up), so
this is where each worker configures its logging. Beside the API run the
metrics listener (one worker only: with several, ``serve`` itself runs it over
all of them) and the dialing engine when configured; while the worker serves,
its garbage collector is :func:`openisales.collector.tuned`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from openisales import collector
from openisales.api.context import AppContext
from openisales.api.limits import ASGIApp, BodyTimeouts
from openisales.config import Settings
from openisales.console.app import create
from openisales.dialing.wiring import running
from openisales.logs import configure
from openisales.metrics import listening


def create_from_env() -> ASGIApp:
    settings = Settings.from_env()
    configure(settings.log_level, settings.log_format)

    def beside(ctx: AppContext) -> AbstractAsyncContextManager[None]:
        return _beside_api(settings, ctx)

    return BodyTimeouts(create(settings, background=beside))


@asynccontextmanager
async def _beside_api(settings: Settings, ctx: AppContext) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        stack.enter_context(collector.tuned())  # what the worker loaded is frozen
        if settings.metrics_port and settings.workers == 1:
            stack.enter_context(
                listening(ctx.metrics.exposed(), settings.metrics_host, settings.metrics_port)
            )
        if settings.run_worker:
            await stack.enter_async_context(
                running(settings, ctx.engine, ctx.ids, ctx.clock, ctx.metrics)
            )
        yield
