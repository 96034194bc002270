"""Entry point for uvicorn workers: the API, and the dialing engine beside it when configured."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette

from openisales.api.app import create_app
from openisales.api.context import AppContext
from openisales.config import Settings
from openisales.dialing.wiring import running


def create_from_env() -> Starlette:
    settings = Settings.from_env()

    def dialing(ctx: AppContext) -> AbstractAsyncContextManager[None]:
        return running(settings, ctx.engine, ctx.ids, ctx.clock, ctx.metrics)

    return create_app(settings, background=dialing if settings.run_worker else None)
