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
(:class:`openisales.store.batching.Batcher`): their reads go out as one ``SELECT``
over ``unnest``-ed keys, their writes as one statement over ``unnest``-ed rows,
committed once (the statements are in ``store.writeback_batch``). A
write-back whose row another member of the same batch updated first is
reported as not applied, exactly as when another process won the race.

On a Citus coordinator (decision 9) a batch is split by VDN and each part
runs the statements of ``store.writeback_tenant``, which Citus routes to the
VDN's shard; the sessions there plan every execution with its parameters
(``plan_cache_mode = force_custom_plan``: Citus routes by the VDN's value).

Used only when the write-back writes nothing else (no result push to queue);
otherwise the locking path in ``store.writeback`` applies.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa
from prometheus_client import Counter, Histogram
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.errors import StorageError
from openisales.store.batching import Batcher
from openisales.store.engine import create_engine
from openisales.store.sql import transaction, translated, uncertain
from openisales.store.writeback_batch import (
    Read,
    ReadKey,
    Write,
    driver_of,
    prepare,
    read_many,
    write_many,
)
from openisales.store.writeback_tenant import read_tenant, write_tenant

log = logging.getLogger("openisales.store")
X = TypeVar("X")

# The fast path's own sessions. Its two statements are planned once per
# connection (a generic plan) rather than on most executions (about 0.2 ms of
# PostgreSQL's CPU each, measured); connections are replaced every RECYCLE_S
# seconds, and at once after a statement slower than SLOW_S, so that a plan
# made from stale statistics does not live long. Between batches the fast path
# keeps the connections it used (``_Session``) rather than checking one out of
# the pool for each statement: a checkout, its autocommit setting and its return
# cost about 0.1 ms of the process's CPU, as much as the statement itself, and
# under moderate load most batches are small. Records held by other
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


_PRUNE_SQL = sa.text(
    "DELETE FROM t_isl_auth_nonce WHERE ctid IN ("
    " SELECT ctid FROM t_isl_auth_nonce WHERE expires_at < :now LIMIT :chunk)"
)
# Citus runs no DELETE with a LIMIT over every shard: there each shard deletes
# its expired nonces at once (in parallel; a few minutes' worth, once per
# PRUNE_EVERY write-backs).
_PRUNE_SHARDS_SQL = sa.text("DELETE FROM t_isl_auth_nonce WHERE expires_at < :now")

# ``connection.info`` key: True on a Citus coordinator (set when connecting).
DISTRIBUTED = "openisales.distributed"
_CITUS_SQL = "SELECT 1 FROM pg_extension WHERE extname = 'citus'"


def _on_connect(dbapi_connection: Any, record: Any) -> None:
    """A new session: on a Citus coordinator, custom plans (see the module's docstring)."""
    record.info[DISTRIBUTED] = dbapi_connection.run_async(_citus_session)


async def _citus_session(driver: Any) -> bool:
    if await driver.fetchval(_CITUS_SQL) is None:
        return False
    await driver.execute("SET plan_cache_mode = force_custom_plan")
    return True


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
    (``max_in_flight`` reads and as many writes), one for the background
    nonce clean-up and one for the replacement of a session (``_lease``).
    One flush in flight per kind makes the largest batches under load
    (measured in ``docs/benchmarks.md``).

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
        self._distributed: bool | None = None  # known once a connection was made
        self._pruning: asyncio.Task[None] | None = None
        self._reads: Batcher[ReadKey, Read] = Batcher(
            self._read_batch, max_size=max_batch, max_in_flight=max_in_flight
        )
        self._writes: Batcher[Write, bool] = Batcher(
            self._write_batch, max_size=max_batch, max_in_flight=max_in_flight
        )
        self._idle: list[_Session] = []  # sessions kept between statements, the latest last
        self._fresh: asyncio.Task[_Session] | None = None  # a replacement being made

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
        """A fast path over its own four connections to ``url`` (see ``SESSION``).

        ``batch_sizes``, labelled by statement (``read``, ``write``), observes
        every batch's size; ``left``, labelled by reason, counts the
        write-backs that took the locking path instead (:meth:`leave`).
        """
        engine = create_engine(
            url,
            pool_size=4,
            pool_timeout=timeout,
            server_settings=SESSION,
            pool_recycle=RECYCLE_S,
        )
        event.listen(engine.sync_engine, "checkout", _drop_if_closed)
        event.listen(engine.sync_engine, "connect", _on_connect)
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
        if self._fresh is not None:
            self._fresh.cancel()
            fresh = (await asyncio.gather(self._fresh, return_exceptions=True))[0]
            if isinstance(fresh, _Session):
                self._idle.append(fresh)
            self._fresh = None
        while self._idle:
            await self._give_back(self._idle.pop())
        await self._engine.dispose()

    async def _statement(self, run: Callable[[Any], Awaitable[X]]) -> X:
        """``run`` on a kept session's asyncpg connection.

        The session is kept for the next statement when ``run`` returned in
        time; it goes back to the pool when ``run`` raised, and is closed when
        the connection broke or the statement was slow.
        """
        with translated(self._failure_code):
            session = await self._lease()
            self._distributed = session.distributed
            started = time.monotonic()
            try:
                result = await run(session.driver)
            except BaseException as exc:
                lost = uncertain(exc) or getattr(exc, "sqlstate", None) == "57014"
                await self._give_back(session, close=lost)
                raise
            if time.monotonic() - started > SLOW_S:
                await self._give_back(session, close=True)  # its next statements are planned anew
            else:
                self._idle.append(session)
            return result

    async def _lease(self) -> _Session:
        """The session used last; a new one when it is closed, or RECYCLE_S old and replaced.

        A session RECYCLE_S old serves on while its replacement is made (and
        its statements planned) in the background, so that no batch waits for
        a new PostgreSQL session.
        """
        while self._idle:
            session = self._idle.pop()
            if session.driver.is_closed():
                await self._give_back(session)
            elif time.monotonic() - session.since < RECYCLE_S:
                return session
            elif (fresh := self._replacement()) is not None:
                await self._give_back(session)  # the pool replaces it, being as old
                return fresh
            else:
                return session
        fresh = self._replacement(start=False)
        return fresh if fresh is not None else await self._checkout()

    def _replacement(self, *, start: bool = True) -> _Session | None:
        """The session made in the background, once ready; ``start``: begin one if none is."""
        task = self._fresh
        if task is None:
            if start:
                self._fresh = asyncio.create_task(self._warmed(), context=contextvars.Context())
            return None
        if not task.done():
            return None
        self._fresh = None
        if task.cancelled() or task.exception() is not None:
            log.warning("no replacement write-back session this time: %r", task.exception())
            return None
        return task.result()

    async def _checkout(self) -> _Session:
        conn = await self._engine.connect()
        try:
            return _Session(conn, await driver_of(conn), time.monotonic())
        except BaseException:
            await conn.close()
            raise

    async def _warmed(self) -> _Session:
        """A session from the pool with both statements planned (single PostgreSQL)."""
        session = await self._checkout()
        try:
            if not session.distributed:  # Citus plans every execution anyway
                await prepare(session.driver, timeout=self._timeout)
        except BaseException:
            await self._give_back(session, close=True)
            raise
        return session

    @staticmethod
    async def _give_back(session: _Session, *, close: bool = False) -> None:
        """Return the session's connection to the pool; ``close``: close it instead."""
        if close or session.driver.is_closed():
            await session.conn.invalidate()
        await session.conn.close()

    def _observe(self, statement: str, size: int) -> None:
        if self._batch_sizes is not None:
            self._batch_sizes.labels(statement).observe(size)

    async def _read_batch(self, keys: list[ReadKey]) -> list[Read]:
        self._observe("read", len(keys))

        async def run(driver: Any) -> list[Read]:
            if not self._distributed:
                return await read_many(driver, keys, timeout=self._timeout)
            reads: list[Read | None] = [None] * len(keys)
            for vdn_id, members in _by_tenant(k.vdn_id for k in keys):
                part = [keys[n] for n in members]
                found = await read_tenant(driver, vdn_id, part, timeout=self._timeout)
                for n, read in zip(members, found, strict=True):
                    reads[n] = read
            return reads  # type: ignore[return-value]

        return await self._statement(run)

    async def _write_batch(self, writes: list[Write]) -> list[bool | Exception]:
        self._observe("write", len(writes))
        if self._distributed is None:  # no connection made yet: make one to know
            await self._statement(_nothing)
        if not self._distributed:
            return await self._write_part(writes)
        answers: list[bool | Exception | None] = [None] * len(writes)
        for _, members in _by_tenant(w.wb.vdn_id for w in writes):
            try:
                part = await self._write_part([writes[n] for n in members])
            except StorageError as exc:  # this part's fate is unknown; the others' is not
                part = [exc] * len(members)
            for n, answer in zip(members, part, strict=True):
                answers[n] = answer
        return answers  # type: ignore[return-value]

    async def _write_part(self, writes: list[Write]) -> list[bool | Exception]:
        """The writes of one statement (single PostgreSQL) or one VDN (Citus)."""
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

        async def run(driver: Any) -> list[bool] | asyncpg.PostgresError:
            try:
                if self._distributed:
                    vdn_id = writes[0].wb.vdn_id
                    return await write_tenant(driver, vdn_id, writes, timeout=self._timeout)
                return await write_many(driver, writes, timeout=self._timeout)
            except asyncpg.PostgresError as exc:
                if uncertain(exc) or exc.sqlstate == "57014":
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
            self._pruning = asyncio.create_task(
                self._prune(min(w.wb.now for w in writes)), context=contextvars.Context()
            )

    async def _prune(self, now: datetime) -> None:
        """Delete up to PRUNE_CHUNK expired nonces; never holds up a write-back."""
        try:
            async with transaction(self._engine, failure_code=self._failure_code) as conn:
                if self._distributed:
                    await conn.execute(_PRUNE_SHARDS_SQL, {"now": now})
                else:
                    await conn.execute(_PRUNE_SQL, {"now": now, "chunk": PRUNE_CHUNK})
        except StorageError:
            log.warning("expired nonces not pruned this time")


def _by_tenant(vdn_ids: Iterable[int]) -> list[tuple[int, list[int]]]:
    """The positions of each VDN's items, VDN by VDN in key order."""
    groups: dict[int, list[int]] = {}
    for n, vdn_id in enumerate(vdn_ids):
        groups.setdefault(vdn_id, []).append(n)
    return sorted(groups.items())


async def _nothing(_driver: Any) -> None:
    return None


class _Session:
    """A pooled connection the fast path keeps between statements, with its asyncpg connection."""

    __slots__ = ("conn", "distributed", "driver", "since")

    def __init__(self, conn: AsyncConnection, driver: Any, since: float) -> None:
        self.conn = conn
        self.driver = driver
        self.since = since  # when it was checked out of the pool (time.monotonic)
        self.distributed = bool(conn.info.get(DISTRIBUTED))
