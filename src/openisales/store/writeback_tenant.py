"""The batched write-back's statements for one tenant, as Citus routes them (decision 9).

On a Citus coordinator the statements of ``store.writeback_batch`` are
refused: they read and write records of several VDNs through ``unnest``-ed
key arrays, and Citus can route a statement to one shard only when the
statement names the shard key's value. :class:`store.writeback_fast.FastPath`
therefore splits a batch by VDN there and runs these instead, each with the
VDN as a parameter of its own (``$1``), so that every statement is
router-executable (one shard, planned with the parameters' values):

* :func:`read_tenant`: the same ``SELECT`` as ``writeback_batch.read_many``
  (records with their version ``xmin``, whether each nonce is used), one VDN.
* :func:`write_tenant`: one transaction of three statements on the VDN's
  node: the records' ``UPDATE … WHERE xmin = version`` (locking them ``SKIP
  LOCKED``, as the single statement does), then the history rows and the
  nonces of the writes it applied, each one multi-row ``INSERT``. Citus plans
  no ``INSERT`` inside a ``WITH`` on one shard, so the single statement of
  ``writeback_batch`` cannot be kept; the transaction keeps its atomicity.

The columns come from the same declaration (``store.writeback``) as every
other write-back path. On single PostgreSQL the statements of
``writeback_batch`` stay in use (one statement for a batch of many VDNs).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from openisales.store import writeback as wb_store
from openisales.store.writeback_batch import (
    _COLUMNS,
    _SET,
    _TARGET,
    Read,
    ReadKey,
    Write,
    _sql,
    reads_of,
)

_READ_SQL = f"""
    SELECT k.i,
           COALESCE((SELECT n.expires_at FROM t_isl_auth_nonce n
                     WHERE n.vdn_id = $1 AND n.digest = k.digest) >= k.now, false)
               AS replayed,
           d.*
    FROM unnest($2::bigint[], $3::varchar[], $4::timestamptz[])
         WITH ORDINALITY AS k(data, digest, now, i)
    LEFT JOIN LATERAL (
        SELECT CAST(t.xmin AS text) AS version, {_TARGET}
        FROM t_isl_data t
        JOIN t_isl_campaign c ON c.vdn_id = t.vdn_id AND c.campaign_id = t.campaign_id
        WHERE t.vdn_id = $1 AND t.data_id = k.data
    ) AS d ON true
    """

# The update's array parameters: every column of the batched statement but the VDN ($1).
_UPDATE_COLUMNS = tuple((name, kind) for name, kind in _COLUMNS if name != "vdn_id")
_DATA_PARAM = 2 + [name for name, _ in _UPDATE_COLUMNS].index("data_id")
_ARRAYS = ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(_UPDATE_COLUMNS, start=2))
_NAMES = ", ".join(name for name, _ in _UPDATE_COLUMNS)

_UPDATE_SQL = f"""
    UPDATE t_isl_data t SET
        {_SET}
    FROM unnest({_ARRAYS}) WITH ORDINALITY AS v({_NAMES}, i)
    WHERE t.vdn_id = $1 AND t.data_id = v.data_id AND CAST(t.xmin AS text) = v.version
      -- A record another transaction holds is skipped, not waited for (as in
      -- writeback_batch); key order keeps the locks in the dispatcher's order.
      AND t.data_id IN (
            SELECT l.data_id FROM t_isl_data l
            WHERE l.vdn_id = $1 AND l.data_id = ANY(${_DATA_PARAM}::bigint[])
            ORDER BY l.data_id
            FOR UPDATE SKIP LOCKED)
      AND (v.digest IS NULL OR NOT COALESCE((
            SELECT n.expires_at FROM t_isl_auth_nonce n
            WHERE n.vdn_id = $1 AND n.digest = v.digest) >= v.now, false))
    RETURNING v.i
    """

_HISTORY_COLUMNS = ", ".join(wb_store.HISTORY)
_HISTORY_FIELDS = tuple(s for s in wb_store.HISTORY.values() if isinstance(s, str))


def _values(rows: int, per_row: Sequence[str | None]) -> str:
    """``($1, $2, 'const'), ($3, $4, 'const'), …``: ``None`` in ``per_row`` is a parameter."""
    out: list[str] = []
    n = 0
    for _ in range(rows):
        items: list[str] = []
        for literal in per_row:
            if literal is None:
                n += 1
                items.append(f"${n}")
            else:
                items.append(literal)
        out.append(f"({', '.join(items)})")
    return ", ".join(out)


@lru_cache(maxsize=128)
def _history_sql(rows: int) -> str:
    per_row = [None if isinstance(s, str) else _sql(s) for s in wb_store.HISTORY.values()]
    return f"INSERT INTO t_isl_data_result ({_HISTORY_COLUMNS}) VALUES {_values(rows, per_row)}"


@lru_cache(maxsize=128)
def _nonce_sql(rows: int) -> str:
    # The update found no live nonce for the row: an existing one has expired
    # (and a racing copy of the same signature carries the same expiry).
    return (
        "INSERT INTO t_isl_auth_nonce (vdn_id, digest, expires_at) "
        f"VALUES {_values(rows, [None, None, None])} "
        "ON CONFLICT (vdn_id, digest) DO UPDATE SET expires_at = EXCLUDED.expires_at"
    )


async def read_tenant(
    driver: Any, vdn_id: int, keys: list[ReadKey], *, timeout: float | None = None
) -> list[Read]:
    """:func:`writeback_batch.read_many` for keys of one VDN, in one routed statement."""
    found = await driver.fetch(
        _READ_SQL,
        vdn_id,
        [k.data_id for k in keys],
        [k.nonce.key if k.nonce else "" for k in keys],
        [k.now for k in keys],
        timeout=timeout,
    )
    return reads_of(found, len(keys))


async def write_tenant(
    driver: Any, vdn_id: int, writes: list[Write], *, timeout: float | None = None
) -> list[bool]:
    """:func:`writeback_batch.write_many` for writes of one VDN, in one transaction on its node.

    All or nothing: a statement that fails rolls the whole transaction back.
    """
    rows = [w.values() for w in writes]
    if any(row["vdn_id"] != vdn_id for row in rows):
        raise ValueError("every write must be of the VDN given")
    arrays = [[row[name] for row in rows] for name, _ in _UPDATE_COLUMNS]
    async with driver.transaction():
        found = await driver.fetch(_UPDATE_SQL, vdn_id, *arrays, timeout=timeout)
        applied = sorted(r["i"] - 1 for r in found)
        if applied:
            history: list[Any] = []
            for n in applied:
                history += [rows[n][field] for field in _HISTORY_FIELDS]
            await driver.execute(_history_sql(len(applied)), *history, timeout=timeout)
        nonces: list[Any] = []
        for n in applied:
            if rows[n]["digest"] is not None:
                nonces += [vdn_id, rows[n]["digest"], rows[n]["expires"]]
        if nonces:
            await driver.execute(_nonce_sql(len(nonces) // 3), *nonces, timeout=timeout)
    done = set(applied)
    return [n in done for n in range(len(writes))]
