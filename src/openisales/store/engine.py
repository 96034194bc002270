"""Build the async engine for SQLite (WAL, single writer) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, PoolResetState

from openisales.config import Settings
from openisales.files import create_private_file, private_file


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 0,
    pool_timeout: float = 30.0,
    echo: bool = False,
    durable: bool = True,
    server_settings: Mapping[str, str] | None = None,
    pool_recycle: int = -1,
) -> AsyncEngine:
    """An engine for ``url``; importing this module connects to nothing.

    On PostgreSQL the pool opens connections as they are needed and keeps up to
    ``pool_size`` of them; ``max_overflow`` more are opened under bursts and
    closed again when returned. Opening a PostgreSQL session costs the server a
    process and the client a handshake, so a busy process should not churn
    them: the default is a fixed pool in which a caller waits up to
    ``pool_timeout`` seconds for a free connection (``sqlalchemy.exc.TimeoutError``
    after that, which ``store.sql`` reports as a storage failure). Connections
    are handed out most recently used first, so that a light load keeps using
    the same few PostgreSQL backends instead of cycling through all of them.

    SQLite connections run in WAL mode with a busy timeout, and every
    transaction starts with ``BEGIN IMMEDIATE`` so that writers queue instead
    of failing to upgrade a read lock. Every commit waits for the WAL to reach
    the disk (``synchronous=FULL``): an answered write survives a power loss
    (docs/decisions/0011-sqlite-group-commit.md).
    ``durable=False`` (PostgreSQL only)
    commits without waiting for the WAL flush (``synchronous_commit=off``): a
    crash may lose the last fraction of a second of commits, never corrupt
    data. Only the replay guard uses it. ``server_settings`` (PostgreSQL only)
    are set on every session of the pool; ``pool_recycle`` replaces a
    connection older than that many seconds (-1: never).
    """
    if url.startswith("sqlite"):
        if ":memory:" in url:
            engine = create_async_engine(
                url,
                echo=echo,
                poolclass=NullPool,
                hide_parameters=True,
                pool_reset_on_return=None,  # _configure_sqlite's reset instead
            )
        else:
            _private_database(url)
            # One connection, whatever pool_size says: every SQLite transaction
            # here is a writer (BEGIN IMMEDIATE), so a second connection could
            # only wait in SQLite's busy handler, which sleeps and retries; the
            # pool's queue hands the one connection over in arrival order.
            engine = create_async_engine(
                url,
                echo=echo,
                pool_size=1,
                max_overflow=0,
                pool_timeout=pool_timeout,
                hide_parameters=True,  # errors are logged; values are customers' data
                pool_reset_on_return=None,  # _configure_sqlite's reset instead
            )
        _configure_sqlite(engine)
        return engine
    settings = dict(server_settings or {})
    if not durable:
        settings["synchronous_commit"] = "off"
    return create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,  # errors are logged; values are customers' data
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_use_lifo=True,
        pool_pre_ping=False,
        pool_recycle=pool_recycle,
        connect_args={"server_settings": settings} if settings else {},
    )


def pooled_engine(settings: Settings) -> AsyncEngine:
    """The engine of a long-running process (API or worker), pooled as configured."""
    return create_engine(
        settings.effective_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_overflow,
        pool_timeout=settings.db_pool_timeout_s,
    )


def _private_database(url: str) -> None:
    """Create the SQLite file owner-only (0600) and narrow an existing one with its WAL files.

    SQLite creates ``-wal`` and ``-shm`` with the database file's mode, so a
    0600 database keeps them 0600 too; the chmod covers files made earlier.
    """
    database = make_url(url).database
    if not database or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists() and path.parent.is_dir():
        try:
            os.close(create_private_file(path, exclusive=True))
        except FileExistsError:  # another process made it meanwhile
            pass
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        private_file(name)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine.sync_engine, "reset")
    def on_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
        """A connection back in the pool: roll back only a transaction still open.

        The pool would roll back every connection it gets back that SQLAlchemy
        did not see end a transaction: each one a trip to aiosqlite's thread.
        The write-back's group commit runs ``BEGIN IMMEDIATE`` … ``COMMIT``
        on the driver itself, once per group, so that trip was one more per
        group for nothing; SQLite knows whether a transaction is open.
        """
        if state.terminate_only or not state.asyncio_safe:
            return  # the connection is being discarded: no I/O here
        try:
            open_transaction = bool(dbapi_connection.driver_connection.in_transaction)
        except (AttributeError, ValueError):  # aiosqlite's connection is closed already
            return
        if open_transaction:
            dbapi_connection.rollback()
