"""The batched write-back's two statements on PostgreSQL, derived from ``store.writeback``.

:func:`read_many` reads many records (each with its row version ``xmin`` and
whether its request's nonce is already used) in one ``SELECT`` over
``unnest``-ed keys; :func:`write_many` applies many write-backs in one
statement over ``unnest``-ed rows: ``UPDATE … WHERE xmin = version`` followed,
in the same statement, by the history rows and the replay nonces
(data-modifying CTEs). One statement is one atomic transaction. The columns
written come from the declaration in ``store.writeback``. Both run on the
asyncpg connection itself (SQLAlchemy's execution layer costs more than the
statements on this hot path); :class:`store.writeback_fast.FastPath` batches
them and runs them on the asyncpg connections it keeps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.auth.replay import Nonce
from openisales.domain.writeback import Target, WriteBack
from openisales.store import writeback as wb_store
from openisales.store.tables import data, data_result

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
    """A declared source as SQL: ``v.<field>`` (the batch's row), or the constant."""
    return wb_store.source_sql(source, "v.{}")


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


async def driver_of(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``, in autocommit (statements on it skip SQLAlchemy)."""
    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def prepare(driver: Any, *, timeout: float | None = None) -> None:
    """Plan both statements on ``driver`` now (with no rows), before a batch needs them."""
    await driver.fetch(_READ_SQL, [], [], [], [], timeout=timeout)
    await driver.fetch(_WRITE_SQL, *([] for _ in _COLUMNS), timeout=timeout)


async def read_many(
    driver: Any, keys: list[ReadKey], *, timeout: float | None = None
) -> list[Read]:
    """Each key's record (with its version and campaign policy) and whether its nonce is used.

    ``driver``: an asyncpg connection outside a transaction (:func:`driver_of`).
    """
    found = await driver.fetch(
        _READ_SQL,
        [k.vdn_id for k in keys],
        [k.data_id for k in keys],
        [k.nonce.key if k.nonce else "" for k in keys],
        [k.now for k in keys],
        timeout=timeout,
    )
    return reads_of(found, len(keys))


def reads_of(found: Sequence[Any], count: int) -> list[Read]:
    """The rows of a batched read (``i``: the key's position from 1) as reads in key order."""
    reads: list[Read | None] = [None] * count
    for row in found:
        version = row["version"]
        seen = wb_store.target(_Row(row), version) if version is not None else None
        reads[row["i"] - 1] = Read(bool(row["replayed"]), seen)
    assert all(r is not None for r in reads)
    return reads  # type: ignore[return-value]


async def write_many(
    driver: Any, writes: list[Write], *, timeout: float | None = None
) -> list[bool]:
    """Apply each write whose record is still at its version; True for those applied.

    ``driver``: an asyncpg connection outside a transaction (:func:`driver_of`).
    """
    rows = [w.values() for w in writes]
    columns = [[row[name] for row in rows] for name, _ in _COLUMNS]
    found = await driver.fetch(_WRITE_SQL, *columns, timeout=timeout)
    applied = {r["i"] for r in found}
    return [n in applied for n in range(1, len(writes) + 1)]
