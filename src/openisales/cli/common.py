"""Helpers shared by the command modules: running a job with an engine, parsing paths."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from openisales.config import Settings
from openisales.files import private_dir
from openisales.services import admin
from openisales.store import schema
from openisales.store.engine import create_engine, pooled_engine

T = TypeVar("T")


def run_job(
    settings: Settings,
    job: Callable[[Any], Awaitable[T]],
    *,
    long_running: bool = False,
    migrate: bool = True,
) -> T:
    """Run ``job`` with an engine: a small one, or the configured pool for a long-running one.

    The embedded database is migrated first unless ``migrate`` is False.
    """

    async def main() -> T:
        engine = (
            pooled_engine(settings)
            if long_running
            else create_engine(settings.effective_database_url, pool_size=2, max_overflow=2)
        )
        try:
            if settings.embedded:
                private_dir(settings.data_dir)
                if migrate:
                    await schema.migrate(engine)
            return await job(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except (admin.AdminError, schema.SchemaError) as exc:
        raise click.ClickException(str(exc)) from None


def as_path(value: str) -> Any:
    from pathlib import Path

    return Path(value)
