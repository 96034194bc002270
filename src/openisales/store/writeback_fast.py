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

import logging
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.batching import Batcher
from openisales.domain.writeback import Outcome
from openisales.errors import StorageError
from openisales.replay import Nonce, prune_expired
from openisales.store.calldata import WriteBack, schedule_values
from openisales.store.engine import create_engine
from openisales.store.sql import reading, transaction

log = logging.getLogger("openisales.store")

# Both statements run with generic plans (planned once per connection, see
# ``SESSION``), made from whatever statistics the tables have at the time.
# Every lookup in them is an equality on a primary key, and a nonce's expiry
# is compared after the nonce is found, never used to search: searching
# ``expires_at >= now`` let a plan made while the nonce table was empty walk
# the expiry index over every live nonce. An index that merely starts with the
# same column can still win in a plan made from stale statistics; connections
# are therefore replaced every ``RECYCLE_S`` seconds, and the importer analyses
# the call-data table after loading it.
_READ_SQL = """
    SELECT k.i,
           COALESCE((SELECT n.expires_at FROM t_isl_auth_nonce n
                     WHERE n.vdn_id = k.vdn AND n.digest = k.digest) >= k.now, false)
               AS replayed,
           d.*
    FROM unnest($1::integer[], $2::bigint[], $3::varchar[], $4::timestamptz[])
         WITH ORDINALITY AS k(vdn, data, digest, now, i)
    LEFT JOIN LATERAL (
        SELECT CAST(t.xmin AS text) AS version, t.campaign_id, t.status, t.attempt_no,
               t.attempt_index, t.called_nos, t.busi_attempt_no,
               c.busi_policy, c.call_policy, c.call_back_url
        FROM t_isl_data t
        JOIN t_isl_campaign c ON c.vdn_id = t.vdn_id AND c.campaign_id = t.campaign_id
        WHERE t.vdn_id = k.vdn AND t.data_id = k.data
    ) AS d ON true
    """

# One row per write-back; the order of these columns is the order of the
# statement's array parameters ($1 … $21).
_COLUMNS = (
    ("vdn", "integer"),
    ("data", "bigint"),
    ("version", "text"),
    ("result_id", "bigint"),
    ("campaign_id", "bigint"),
    ("attempt_no", "integer"),
    ("called", "varchar"),
    ("busi_result", "varchar"),
    ("sub_status", "varchar"),
    ("busi_result_desc", "text"),
    ("work_no", "varchar"),
    ("now", "timestamptz"),
    ("resched", "boolean"),
    ("status", "smallint"),
    ("next_index", "integer"),
    ("next_call_time", "timestamptz"),
    ("reserved_work_no", "varchar"),
    ("completed_at", "timestamptz"),
    ("complete_reason", "varchar"),
    ("digest", "varchar"),
    ("expires", "timestamptz"),
)
_ARRAYS = ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(_COLUMNS, start=1))
_NAMES = ", ".join(name for name, _ in _COLUMNS)

_WRITE_SQL = f"""
    WITH v AS (
        SELECT * FROM unnest({_ARRAYS}) WITH ORDINALITY AS v({_NAMES}, i)
    ),
    locked AS (
        -- Rows locked in key order, as every other multi-row writer locks them,
        -- so that two batches (or a batch and a dispatcher) cannot deadlock.
        SELECT t.vdn_id, t.data_id FROM t_isl_data t
        WHERE (t.vdn_id, t.data_id) IN (SELECT v.vdn, v.data FROM v)
        ORDER BY t.vdn_id, t.data_id
        FOR UPDATE OF t
    ),
    upd AS (
        UPDATE t_isl_data t SET
            busi_result = v.busi_result, sub_status = v.sub_status,
            busi_result_desc = v.busi_result_desc, work_no = v.work_no,
            busi_write_time = v.now, busi_attempt_no = v.attempt_no, updated_at = v.now,
            status = CASE WHEN v.resched THEN v.status ELSE t.status END,
            next_index = CASE WHEN v.resched THEN v.next_index ELSE t.next_index END,
            next_call_time = CASE WHEN v.resched THEN v.next_call_time
                                  ELSE t.next_call_time END,
            priority = CASE WHEN v.resched THEN 0 ELSE t.priority END,
            reserved_work_no = CASE WHEN v.resched THEN v.reserved_work_no
                                    ELSE t.reserved_work_no END,
            completed_at = CASE WHEN v.resched THEN v.completed_at ELSE t.completed_at END,
            complete_reason = CASE WHEN v.resched THEN v.complete_reason
                                   ELSE t.complete_reason END
        FROM v JOIN locked l ON l.vdn_id = v.vdn AND l.data_id = v.data
        WHERE t.vdn_id = l.vdn_id AND t.data_id = l.data_id AND CAST(t.xmin AS text) = v.version
          AND (v.digest IS NULL OR NOT COALESCE((
                SELECT n.expires_at FROM t_isl_auth_nonce n
                WHERE n.vdn_id = v.vdn AND n.digest = v.digest) >= v.now, false))
        RETURNING v.i
    ),
    ins AS (
        INSERT INTO t_isl_data_result (vdn_id, result_id, data_id, campaign_id, kind,
            attempt_no, called, busi_result, sub_status, busi_result_desc, work_no, created_at)
        SELECT v.vdn, v.result_id, v.data, v.campaign_id, 'busi', v.attempt_no, v.called,
               v.busi_result, v.sub_status, v.busi_result_desc, v.work_no, v.now
        FROM v JOIN upd ON upd.i = v.i
    ),
    nonce AS (
        INSERT INTO t_isl_auth_nonce (vdn_id, digest, expires_at)
        SELECT v.vdn, v.digest, v.expires
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
    row: Any  # None when the record is not in the VDN


@dataclass(frozen=True)
class Write:
    wb: WriteBack
    outcome: Outcome
    version: str
    nonce: Nonce | None
    now: datetime

    def values(self) -> dict[str, Any]:
        wb, nonce = self.wb, self.nonce
        return {
            "vdn": wb.vdn_id,
            "data": wb.data_id,
            "version": self.version,
            "result_id": wb.result_id,
            "campaign_id": wb.campaign_id,
            "attempt_no": wb.attempt_no,
            "called": wb.called,
            "busi_result": wb.busi_result,
            "sub_status": wb.sub_status,
            "busi_result_desc": wb.busi_result_desc,
            "work_no": wb.work_no,
            "now": self.now,
            "resched": self.outcome.reschedule,
            **schedule_values(self.outcome, self.now),
            "digest": nonce.key if nonce else None,
            "expires": nonce.expires_at if nonce else None,
        }


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
    for record in found:
        row = SimpleNamespace(**dict(record))
        reads[row.i - 1] = Read(bool(row.replayed), row if row.version is not None else None)
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
# PostgreSQL's CPU each, measured); connections are replaced every
# RECYCLE_S seconds, so a plan made from stale statistics does not outlive
# them for long. A write waiting for a row lock longer than lock_timeout gives
# way (the write-back reads again, then takes the locking path) instead of
# holding up every write-back queued behind it.
SESSION = {
    "plan_cache_mode": "force_generic_plan",
    "enable_seqscan": "off",
    "lock_timeout": "200ms",
    "statement_timeout": "5s",
}
RECYCLE_S = 60
PRUNE_EVERY = 1000  # expired nonces are deleted once per this many write-backs
_GIVE_WAY = {"40P01", "55P03", "40001"}  # deadlock, lock timeout, serialization failure


class FastPath:
    """One process's batched reads and writes of the optimistic write-back.

    It owns ``engine``, whose pool needs a connection per flush in flight:
    ``max_in_flight`` reads and as many writes. One flush in flight per kind
    makes the largest batches under load (measured in ``docs/benchmarks.md``).

    A batch whose statement fails in PostgreSQL (rolled back as a whole) is
    written again one write-back at a time, so that one bad member fails
    alone; a member that only had to give way to another writer (deadlock,
    lock timeout) is reported as not applied, and its caller reads again. When
    the connection itself fails, nobody can tell whether the batch committed:
    every member gets the storage failure.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        failure_code: str,
        max_batch: int = 64,
        max_in_flight: int = 1,
        timeout: float | None = None,
    ) -> None:
        self._engine = engine
        self._failure_code = failure_code
        self._timeout = timeout
        self._written = 0
        self._reads: Batcher[ReadKey, Read] = Batcher(
            self._read_batch, max_size=max_batch, max_in_flight=max_in_flight
        )
        self._writes: Batcher[Write, bool] = Batcher(
            self._write_batch, max_size=max_batch, max_in_flight=max_in_flight
        )

    @classmethod
    def connect(cls, url: str, *, failure_code: str, timeout: float) -> FastPath:
        """A fast path over its own two connections to ``url`` (see ``SESSION``)."""
        engine = create_engine(
            url,
            pool_size=2,
            pool_timeout=timeout,
            server_settings=SESSION,
            pool_recycle=RECYCLE_S,
        )
        return cls(engine, failure_code=failure_code, timeout=timeout)

    async def read(self, key: ReadKey) -> Read:
        return await self._reads.submit(key)

    async def write(self, write: Write) -> bool:
        """True when applied; False when the record changed since it was read."""
        return await self._writes.submit(write)

    async def close(self) -> None:
        await self._engine.dispose()

    async def _read_batch(self, keys: list[ReadKey]) -> list[Read]:
        async with reading(self._engine, failure_code=self._failure_code) as conn:
            return await read_many(conn, keys, timeout=self._timeout)

    async def _write_batch(self, writes: list[Write]) -> list[bool | Exception]:
        outcome = await self._write_once(writes)
        if not isinstance(outcome, asyncpg.PostgresError):
            await self._count(writes)
            return list(outcome)
        if len(writes) == 1:
            return [self._refusal(outcome)]
        return [await self._write_alone(write) for write in writes]

    async def _write_alone(self, write: Write) -> bool | Exception:
        try:
            outcome = await self._write_once([write])
        except StorageError as exc:
            return exc
        if isinstance(outcome, asyncpg.PostgresError):
            return self._refusal(outcome)
        await self._count([write])
        return outcome[0]

    async def _write_once(self, writes: list[Write]) -> list[bool] | asyncpg.PostgresError:
        """The statement's answer, or the error PostgreSQL refused it with (nothing written)."""
        async with reading(self._engine, failure_code=self._failure_code) as conn:
            try:
                return await write_many(conn, writes, timeout=self._timeout)
            except asyncpg.PostgresError as exc:  # the connection is still usable
                return exc

    def _refusal(self, exc: asyncpg.PostgresError) -> bool | Exception:
        if exc.sqlstate in _GIVE_WAY:
            return False
        log.error("write-back statement refused: %s (%s)", type(exc).__name__, exc.sqlstate)
        return StorageError("database operation failed", result_code=self._failure_code)

    async def _count(self, writes: list[Write]) -> None:
        """Delete expired nonces once per PRUNE_EVERY write-backs."""
        before, self._written = self._written, self._written + len(writes)
        if before // PRUNE_EVERY == self._written // PRUNE_EVERY:
            return
        try:  # the write-backs are committed: a failed clean-up must not fail them
            async with transaction(self._engine, failure_code=self._failure_code) as conn:
                await prune_expired(conn, min(w.now for w in writes))
        except StorageError:
            log.warning("expired nonces not pruned this time")
