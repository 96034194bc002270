"""Transactions with driver errors translated to our result codes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import DBAPIError, IntegrityError, TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.errors import OpenISalesError, StorageError

log = logging.getLogger("openisales.store")


class DuplicateError(Exception):
    """A unique key was violated."""


# What asyncpg raises when it is used directly, under SQLAlchemy's connection
# (COPY in the importer, the write-back's two statements); SQLAlchemy wraps the
# same errors in DBAPIError when they pass through its execution layer.
RAW_DRIVER_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
_FAILURES: tuple[type[Exception], ...] = (
    DBAPIError,
    OSError,
    PoolTimeout,
    *RAW_DRIVER_ERRORS,
)


# The server ended the session, or the connection failed: whatever was in
# flight may or may not have committed.
_GONE = {"57P01", "57P02", "57P03", "08000", "08003", "08006"}


def uncertain(exc: BaseException) -> bool:
    """Whether ``exc`` leaves the fate of the statement in flight unknown.

    True for a lost connection (SQLAlchemy marks it ``connection_invalidated``;
    raw: asyncpg's connection errors, an ``OSError``, a client-side timeout)
    and a session the server ended; False for a statement PostgreSQL refused
    (rolled back) and for a pool timeout (nothing was sent).
    """
    if isinstance(exc, PoolTimeout):
        return False
    if isinstance(exc, DBAPIError):  # the driver's error is the cause of the adapted one
        cause = exc.orig.__cause__ if exc.orig is not None else None
        return bool(exc.connection_invalidated) or (cause is not None and uncertain(cause))
    lost = (
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.InternalClientError,  # the connection's protocol state broke
    )
    if isinstance(exc, lost):
        return True
    return isinstance(exc, asyncpg.PostgresError) and exc.sqlstate in _GONE


def _storage_error(exc: Exception, failure_code: str) -> StorageError:
    if isinstance(exc, PoolTimeout):
        log.error("no database connection became free in time (pool exhausted)")
    else:
        log.error("database operation failed: %s", type(exc).__name__, exc_info=True)
    return StorageError(
        "database operation failed", result_code=failure_code, uncertain=uncertain(exc)
    )


@asynccontextmanager
async def transaction(
    engine: AsyncEngine, *, failure_code: str = "0200006"
) -> AsyncIterator[AsyncConnection]:
    """One database transaction; commit on success, roll back on any exception.

    Unique-key violations become :class:`DuplicateError`; other driver errors,
    and waiting too long for a pooled connection, become :class:`StorageError`
    with ``failure_code``.
    """
    with translated(failure_code):  # DuplicateError is neither, so it passes through
        try:
            async with engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise DuplicateError(str(exc.orig)) from exc


@asynccontextmanager
async def reading(
    engine: AsyncEngine, *, failure_code: str = "0200006"
) -> AsyncIterator[AsyncConnection]:
    """A connection outside an explicit transaction; driver errors as in :func:`transaction`."""
    with translated(failure_code):
        async with engine.connect() as conn:
            yield conn


@contextmanager
def translated(failure_code: str = "0200006") -> Iterator[None]:
    """Driver errors (and a pool timeout) raised in the block, as :class:`StorageError`."""
    try:
        yield
    except OpenISalesError:
        raise
    except _FAILURES as exc:
        raise _storage_error(exc, failure_code) from exc
