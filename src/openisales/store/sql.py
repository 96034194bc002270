"""Transactions with driver errors translated to our result codes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.errors import OpenISalesError, StorageError

log = logging.getLogger("openisales.store")


class DuplicateError(Exception):
    """A unique key was violated."""


@asynccontextmanager
async def transaction(
    engine: AsyncEngine, *, failure_code: str = "0200006"
) -> AsyncIterator[AsyncConnection]:
    """One database transaction; commit on success, roll back on any exception.

    Unique-key violations become :class:`DuplicateError`; other driver errors
    become :class:`StorageError` with ``failure_code``.
    """
    try:
        async with engine.begin() as conn:
            yield conn
    except IntegrityError as exc:
        raise DuplicateError(str(exc.orig)) from exc
    except OpenISalesError:
        raise
    except (DBAPIError, OSError) as exc:
        log.error("database operation failed: %s", type(exc).__name__, exc_info=True)
        raise StorageError("database operation failed", result_code=failure_code) from exc


@asynccontextmanager
async def reading(
    engine: AsyncEngine, *, failure_code: str = "0200006"
) -> AsyncIterator[AsyncConnection]:
    """A connection outside an explicit transaction; driver errors as in :func:`transaction`."""
    try:
        async with engine.connect() as conn:
            yield conn
    except OpenISalesError:
        raise
    except (DBAPIError, OSError) as exc:
        log.error("database operation failed: %s", type(exc).__name__, exc_info=True)
        raise StorageError("database operation failed", result_code=failure_code) from exc
