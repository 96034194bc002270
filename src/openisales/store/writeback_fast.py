"""The write-back in two batched round trips on PostgreSQL, without an explicit transaction.

Read the record without a lock (with its row version, ``xmin``), decide in
Python, then write with one statement that applies only if the row is still
the version that was read and the request's signature is still unused:
``UPDATE … WHERE xmin = version`` followed, in the same statement, by the
history row and the replay nonce (data-modifying CTEs). One statement is one
atomic transaction: the write-back's history row, the record's new state and
its nonce commit together or not at all. If another writer got there first
the row is not updated and the caller reads again.

Concurrent write-backs of one process share these round trips
(:class:`openisales.batching.Batcher`): their reads go out as one ``SELECT``
over ``unnest``-ed keys, their writes as one statement over ``unnest``-ed rows,
committed once. A write-back whose row another member of the same batch
updated first is reported as not applied, exactly as when another process won
the race. Both statements run on the asyncpg connection itself (SQLAlchemy's
execution layer costs more than the statements on this hot path).

Used only when the write-back writes nothing else (no result push to queue);
otherwise the transactional path in ``store.calldata`` applies.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa
from prometheus_client import Counter, Histogram
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.auth.replay import Nonce
from openisales.batching import Batcher
from openisales.domain.writeback import Target, WriteBack
from openisales.errors import StorageError
from openisales.store import writeback as wb_store
from openisales.store.engine import create_engine
from openisales.store.sql import reading, transaction
from openisales.store.tables import data, data_result

log = logging.getLogger("openisales.store")
X = TypeVar("X")

# Both statements run with generic plans (planned once per connection, see
# ``SESSION``), made from whatever statistics the tables have at the time.
# Every lookup in them is an equality on a primary key, and a nonce's expiry
# is compared after the nonce is found, never used to search: searching
# ``expires_at >= now`` let a plan made while the nonce table was empty walk
# the expiry index over every live nonce. An index that merely starts with the
# same column can still win in a plan made from stale statistics; connections
# are therefore replaced every ``RECYCLE_S`` seconds, and the importer analyses
# the call-data table after loading it.
_TARGET = ", ".join(
    f"{'t' if column.table is data else 'c'}.{column.name}" for column in wb_store.TARGET_COLUMNS
)
_READ_SQL = f"""
    SELECT k.i,
           COALESCE((SELECT n.expires_at FROM t_isl_auth_nonce n
                     WHERE n.vdn_id = k.vdn AND n.digest = k.digest) >= k.now, false)
               AS replayed,
           d.*
    FROM unnest($1::integer[], $2::bigint[], $3::varchar[], $4::timestamptz[])
         WITH ORDINALITY AS k(vdn, data, digest, now, i)
    LEFT JOIN LATERAL (
        SELECT CAST(t.xmin AS text) AS version, {_TARGET}
        FROM t_isl_data t
        JOIN t_isl_campaign c ON c.vdn_id = t.vdn_id AND c.campaign_id = t.campaign_id
        WHERE t.vdn_id = k.vdn AND t.data_id = k.data
    ) AS d ON true
    """


_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def _array_type(column: sa.Column[Any]) -> str:
    """The PostgreSQL type of an array parameter filling ``column`` (lengths dropped)."""
    name = column.type.compile(dialect=_PG).lower()
    return re.sub(r"\(\d+\)", "", name).replace("timestamp with time zone", "timestamptz")


def _columns() -> tuple[tuple[str, str], ...]:
    """The statement's array parameters, in order: each declared field, then the write's own."""
    types: dict[str, str] = {}
    for table, declared in (
        (data_result, wb_store.HISTORY),
        (data, wb_store.RESULT),
        (data, wb_store.SCHEDULE),
    ):
        for column, source in declared.items():
            if isinstance(source, str):
                types.setdefault(source, _array_type(table.c[column]))
    return (
        *((name, types[name]) for name in wb_store.fields()),
        ("reschedule", "boolean"),
        ("version", "text"),
        ("digest", "varchar"),
        ("expires", "timestamptz"),
    )


def _sql(source: wb_store.Source) -> str:
    """A declared source as SQL: ``v.<field>``, or the constant (ours, never input)."""
    if isinstance(source, str):
        return f"v.{source}"
    value = source.value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"unsupported constant {value!r}")
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


# One row per write-back; the order of these columns is the order of the
# statement's array parameters ($1, $2, …).
_COLUMNS = _columns()
_ARRAYS = ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(_COLUMNS, start=1))
_NAMES = ", ".join(name for name, _ in _COLUMNS)
_SET = ",\n            ".join(
    [f"{column} = {_sql(source)}" for column, source in wb_store.RESULT.items()]
    + [
        f"{column} = CASE WHEN v.reschedule THEN {_sql(source)} ELSE t.{column} END"
        for column, source in wb_store.SCHEDULE.items()
    ]
)
_HISTORY_COLUMNS = ", ".join(wb_store.HISTORY)
_HISTORY_VALUES = ", ".join(_sql(source) for source in wb_store.HISTORY.values())

_WRITE_SQL = f"""
    WITH v AS (
        SELECT * FROM unnest({_ARRAYS}) WITH ORDINALITY AS v({_NAMES}, i)
    ),
    locked AS (
        -- A record another transaction holds is skipped, not waited for: its
        -- write-back is "not applied", reads again and at last takes the
        -- locking path, while the rest of the batch goes on. Key order keeps
        -- the locks this statement does take in the dispatcher's order.
        SELECT t.vdn_id, t.data_id FROM t_isl_data t
        WHERE (t.vdn_id, t.data_id) IN (SELECT v.vdn_id, v.data_id FROM v)
        ORDER BY t.vdn_id, t.data_id
        FOR UPDATE OF t SKIP LOCKED
    ),
    upd AS (
        UPDATE t_isl_data t SET
            {_SET}
        FROM v JOIN locked l ON l.vdn_id = v.vdn_id AND l.data_id = v.data_id
        WHERE t.vdn_id = l.vdn_id AND t.data_id = l.data_id AND CAST(t.xmin AS text) = v.version
          AND (v.digest IS NULL OR NOT COALESCE((
                SELECT n.expires_at FROM t_isl_auth_nonce n
                WHERE n.vdn_id = v.vdn_id AND n.digest = v.digest) >= v.now, false))
        RETURNING v.i
    ),
    ins AS (
        INSERT INTO t_isl_data_result ({_HISTORY_COLUMNS})
        SELECT {_HISTORY_VALUES}
        FROM v JOIN upd ON upd.i = v.i
    ),
    nonce AS (
        INSERT INTO t_isl_auth_nonce (vdn_id, digest, expires_at)
        SELECT v.vdn_id, v.digest, v.expires
        FROM v JOIN upd ON upd.i = v.i
        WHERE v.digest IS NOT NULL
        -- The update above found no live nonce for the row: an existing one has
        -- expired (and a racing copy of the same signature carries the same expiry).
        ON CONFLICT (vdn_id, digest) DO UPDATE SET expires_at = EXCLUDED.expires_at
    )
    SELECT i FROM upd
    """


@dataclass(frozen=True)
class ReadKey:
    vdn_id: int
    data_id: int
    nonce: Nonce | None
    now: datetime


@dataclass(frozen=True)
class Read:
    replayed: bool
    target: Target | None  # None when the record is not in the VDN


@dataclass(frozen=True)
class Write:
    """A write-back to apply if its record is still at ``version`` and its nonce unused."""

    wb: WriteBack
    version: str
    nonce: Nonce | None

    def values(self) -> dict[str, Any]:
        """The write's row of the statement's arrays, by ``_COLUMNS`` name."""
        return {
            **{name: getattr(self.wb, name) for name in wb_store.fields()},
            "reschedule": self.wb.reschedule,
            "version": self.version,
            "digest": self.nonce.key if self.nonce else None,
            "expires": self.nonce.expires_at if self.nonce else None,
        }


class _Row:
    """Attribute access to an asyncpg record (what ``store.writeback.target`` reads)."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        return self._record[name]


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn`` (statements on it skip SQLAlchemy's layer)."""
    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def read_many(
    conn: AsyncConnection, keys: list[ReadKey], *, timeout: float | None = None
) -> list[Read]:
    """Each key's record (with its version and campaign policy) and whether its nonce is used."""
    found = await (await _driver(conn)).fetch(
        _READ_SQL,
        [k.vdn_id for k in keys],
        [k.data_id for k in keys],
        [k.nonce.key if k.nonce else "" for k in keys],
        [k.now for k in keys],
        timeout=timeout,
    )
    reads: list[Read | None] = [None] * len(keys)
    for row in found:
        version = row["version"]
        seen = wb_store.target(_Row(row), version) if version is not None else None
        reads[row["i"] - 1] = Read(bool(row["replayed"]), seen)
    assert all(r is not None for r in reads)
    return reads  # type: ignore[return-value]


async def write_many(
    conn: AsyncConnection, writes: list[Write], *, timeout: float | None = None
) -> list[bool]:
    """Apply each write whose record is still at its version; True for those applied."""
    rows = [w.values() for w in writes]
    columns = [[row[name] for row in rows] for name, _ in _COLUMNS]
    found = await (await _driver(conn)).fetch(_WRITE_SQL, *columns, timeout=timeout)
    applied = {r["i"] for r in found}
    return [n in applied for n in range(1, len(writes) + 1)]


# The fast path's own sessions. Its two statements are planned once per
# connection (a generic plan) rather than on most executions (about 0.2 ms of
# PostgreSQL's CPU each, measured); connections are replaced every RECYCLE_S
# seconds, and at once after a statement slower than SLOW_S, so that a plan
# made from stale statistics does not live long. Records held by other
# transactions are skipped (SKIP LOCKED); lock_timeout only bounds the rare
# wait for a nonce being inserted by a racing copy of the same request.
SESSION = {
    "application_name": "openisales-writeback",  # as pg_stat_activity shows them
    "plan_cache_mode": "force_generic_plan",
    "enable_seqscan": "off",
    "lock_timeout": "200ms",
    "statement_timeout": "5s",
}
RECYCLE_S = 60
SLOW_S = 1.0
PRUNE_EVERY = 1000  # expired nonces are deleted once per this many write-backs...
PRUNE_CHUNK = 10_000  # ...at most this many at a time, in the background
_GIVE_WAY = {"40P01", "55P03", "40001"}  # deadlock, lock timeout, serialization failure
# Errors one member's values can cause (data exceptions, integrity violations):
# only these make a batch worth writing again one member at a time.
_MEMBER_CLASSES = ("22", "23")
_GONE = {"57P01", "57P02", "57P03"}  # the server ended the session


def _connection_lost(exc: BaseException) -> bool:
    return isinstance(exc, (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)) or (
        isinstance(exc, asyncpg.PostgresError) and exc.sqlstate in _GONE
    )


_PRUNE_SQL = sa.text(
    "DELETE FROM t_isl_auth_nonce WHERE ctid IN ("
    " SELECT ctid FROM t_isl_auth_nonce WHERE expires_at < :now LIMIT :chunk)"
)


def _drop_if_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout: a connection whose server went away is replaced, without a round trip.

    The fast path talks to asyncpg directly, so SQLAlchemy never sees a
    disconnect and would otherwise hand the dead connection out again.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the connection was closed")


class FastPath:
    """One process's batched reads and writes of the optimistic write-back.

    It owns ``engine``, whose pool needs a connection per flush in flight
    (``max_in_flight`` reads and as many writes) and one for the background
    nonce clean-up. One flush in flight per kind makes the largest batches
    under load (measured in ``docs/benchmarks.md``).

    A batch statement that PostgreSQL refuses is rolled back whole. When one
    member's values can be the cause (a data exception, an integrity
    violation) the members are written again one at a time, so that the bad
    one fails alone; when they only had to give way (deadlock, lock timeout)
    they are all "not applied" and read again. Anything else — a lost
    connection (nobody can tell whether the batch committed), a statement
    timeout, a server-side failure — answers every member with the storage
    failure, and the connection is replaced.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        failure_code: str,
        max_batch: int = 64,
        max_in_flight: int = 1,
        timeout: float | None = None,
        batch_sizes: Histogram | None = None,
        left: Counter | None = None,
    ) -> None:
        self._engine = engine
        self._batch_sizes = batch_sizes
        self._left = left
        self._failure_code = failure_code
        self._timeout = timeout
        self._written = 0
        self._pruning: asyncio.Task[None] | None = None
        self._reads: Batcher[ReadKey, Read] = Batcher(
            self._read_batch, max_size=max_batch, max_in_flight=max_in_flight
        )
        self._writes: Batcher[Write, bool] = Batcher(
            self._write_batch, max_size=max_batch, max_in_flight=max_in_flight
        )

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        failure_code: str,
        timeout: float,
        batch_sizes: Histogram | None = None,
        left: Counter | None = None,
    ) -> FastPath:
        """A fast path over its own three connections to ``url`` (see ``SESSION``).

        ``batch_sizes``, labelled by statement (``read``, ``write``), observes
        every batch's size; ``left``, labelled by reason, counts the
        write-backs that took the locking path instead (:meth:`leave`).
        """
        engine = create_engine(
            url,
            pool_size=3,
            pool_timeout=timeout,
            server_settings=SESSION,
            pool_recycle=RECYCLE_S,
        )
        event.listen(engine.sync_engine, "checkout", _drop_if_closed)
        return cls(
            engine,
            failure_code=failure_code,
            timeout=timeout,
            batch_sizes=batch_sizes,
            left=left,
        )

    async def read(self, key: ReadKey) -> Read:
        return await self._reads.submit(key)

    async def write(self, write: Write) -> bool:
        """True when applied; False when the record changed (or was busy) since it was read."""
        return await self._writes.submit(write)

    def leave(self, reason: str) -> None:
        """Count a write-back that takes the locking path (``push``, ``contention``)."""
        if self._left is not None:
            self._left.labels(reason).inc()

    async def close(self) -> None:
        if self._pruning is not None:
            await asyncio.gather(self._pruning, return_exceptions=True)
        await self._engine.dispose()

    async def _statement(self, run: Callable[[AsyncConnection], Awaitable[X]]) -> X:
        """``run`` on a pooled connection, which is replaced when it broke or was slow."""
        async with reading(self._engine, failure_code=self._failure_code) as conn:
            started = time.monotonic()
            try:
                return await run(conn)
            except BaseException as exc:
                if _connection_lost(exc) or getattr(exc, "sqlstate", None) == "57014":
                    await conn.invalidate()
                raise
            finally:
                if not conn.invalidated and time.monotonic() - started > SLOW_S:
                    await conn.invalidate()  # its next statements are planned anew

    def _observe(self, statement: str, size: int) -> None:
        if self._batch_sizes is not None:
            self._batch_sizes.labels(statement).observe(size)

    async def _read_batch(self, keys: list[ReadKey]) -> list[Read]:
        self._observe("read", len(keys))

        async def run(conn: AsyncConnection) -> list[Read]:
            return await read_many(conn, keys, timeout=self._timeout)

        return await self._statement(run)

    async def _write_batch(self, writes: list[Write]) -> list[bool | Exception]:
        self._observe("write", len(writes))
        outcome = await self._write_once(writes)
        if (
            isinstance(outcome, asyncpg.PostgresError)
            and len(writes) > 1
            and outcome.sqlstate[:2] in _MEMBER_CLASSES
        ):
            return [await self._write_alone(write) for write in writes]
        return self._answers(writes, outcome)

    async def _write_alone(self, write: Write) -> bool | Exception:
        try:
            outcome = await self._write_once([write])
        except StorageError as exc:
            return exc
        return self._answers([write], outcome)[0]

    def _answers(
        self, writes: list[Write], outcome: list[bool] | asyncpg.PostgresError
    ) -> list[bool | Exception]:
        """Each write's answer: applied or not, or the statement's refusal."""
        if not isinstance(outcome, asyncpg.PostgresError):
            self._count(writes)
            return list(outcome)
        if outcome.sqlstate in _GIVE_WAY:
            return [False] * len(writes)
        return [self._refusal(outcome)] * len(writes)

    async def _write_once(self, writes: list[Write]) -> list[bool] | asyncpg.PostgresError:
        """The statement's answer, or the error PostgreSQL refused it with (nothing written).

        A lost connection or a statement timeout raises instead (``StorageError``).
        """

        async def run(conn: AsyncConnection) -> list[bool] | asyncpg.PostgresError:
            try:
                return await write_many(conn, writes, timeout=self._timeout)
            except asyncpg.PostgresError as exc:
                if _connection_lost(exc) or exc.sqlstate == "57014":
                    raise
                return exc

        return await self._statement(run)

    def _refusal(self, exc: asyncpg.PostgresError) -> StorageError:
        log.error("write-back statement refused: %s (%s)", type(exc).__name__, exc.sqlstate)
        return StorageError("database operation failed", result_code=self._failure_code)

    def _count(self, writes: list[Write]) -> None:
        """Start a clean-up of expired nonces once per PRUNE_EVERY write-backs."""
        before, self._written = self._written, self._written + len(writes)
        if before // PRUNE_EVERY == self._written // PRUNE_EVERY:
            return
        if self._pruning is None or self._pruning.done():
            self._pruning = asyncio.create_task(self._prune(min(w.wb.now for w in writes)))

    async def _prune(self, now: datetime) -> None:
        """Delete up to PRUNE_CHUNK expired nonces; never holds up a write-back."""
        try:
            async with transaction(self._engine, failure_code=self._failure_code) as conn:
                await conn.execute(_PRUNE_SQL, {"now": now, "chunk": PRUNE_CHUNK})
        except StorageError:
            log.warning("expired nonces not pruned this time")
