"""SQL of attempt outcomes: lock the records a batch of outcomes is about, write what they did.

The records are read into :class:`AttemptTarget` values here, once: numbers
decoded, counters parsed, the campaign's retry policy parsed into the typed
:class:`~openisales.domain.retry_policy.RetryPolicy`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.attempt import Counters
from openisales.domain.calldata import DataStatus, Record
from openisales.domain.retry_policy import RetryPolicy, policy_from_stored
from openisales.store import citus, dispatch, records
from openisales.store.tables import campaign, data, data_campaign_vdn, data_result, vdn


@dataclass(frozen=True, slots=True)
class AttemptTarget:
    """A record an outcome is about, locked, with what the attempt decision needs."""

    record: Record
    counters: Counters
    policy: RetryPolicy
    tz: ZoneInfo


_LOCK_COLUMNS = (
    *records.COLUMNS,
    data.c.day_attempts,
    data.c.attempt_day,
    data.c.first_attempt_day,
    data.c.result_retries,
    campaign.c.policy_type,
    campaign.c.policy_json,
    campaign.c.no_retry_policy,
    campaign.c.call_policy,
    vdn.c.time_zone,
)


_ID_ARRAY = postgresql.ARRAY(sa.BigInteger)
_LockRow = dispatch.row_tuple("_LockRow", _LOCK_COLUMNS)


def _target(row: Any) -> AttemptTarget:
    return AttemptTarget(
        record=records.record(row),
        counters=Counters(
            day_attempts=row.day_attempts,
            attempt_day=row.attempt_day,
            first_attempt_day=row.first_attempt_day,
            result_retries=json.loads(row.result_retries) if row.result_retries else {},
        ),
        policy=policy_from_stored(
            row.policy_type, row.policy_json, row.no_retry_policy, row.call_policy
        ),
        tz=_zone(row.time_zone),
    )


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


async def lock(
    conn: AsyncConnection, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], AttemptTarget]:
    """The records of ``keys`` (vdn_id, data_id) that exist, locked until commit.

    Locks are taken in key order, the order every other writer of records uses.
    """
    by_vdn: dict[int, set[int]] = {}
    for vdn_id, data_id in keys:
        by_vdn.setdefault(vdn_id, set()).add(data_id)
    found: dict[tuple[int, int], AttemptTarget] = {}
    pg = conn.dialect.name == "postgresql"
    for vdn_id, ids in sorted(by_vdn.items()):
        chosen = (  # one array parameter on PostgreSQL, whatever the number of records
            data.c.data_id == sa.any_(sa.bindparam("ids", sorted(ids), type_=_ID_ARRAY))
            if pg
            else data.c.data_id.in_(sorted(ids))
        )
        stmt = (
            sa.select(*_LOCK_COLUMNS)
            .select_from(data_campaign_vdn())
            .where(data.c.vdn_id == vdn_id, chosen)
            .order_by(data.c.data_id)
            .with_for_update(of=data)
        )
        rows = (await conn.execute(stmt)).all()
        for start in range(0, len(rows), _CHUNK):
            if start:
                await asyncio.sleep(0)  # let other tasks (a claim holding its campaign) go on
            for row in map(_LockRow._make, rows[start : start + _CHUNK]):
                found[(row.vdn_id, row.data_id)] = _target(row)
    return found


_CHUNK = 100  # rows mapped between two chances for other tasks to run


_WAITING = int(DataStatus.WAITING)

# What an outcome writes into its record: column -> the key of the update's value.
_WRITTEN = {
    "status": "v_status",
    "next_index": "v_next_index",
    "next_call_time": "v_next_call_time",
    "last_fail_code": "v_fail_code",
    "last_call_status": "v_call_status",
    "last_result_code": "v_result_code",
    "last_call_id": "v_call_id",
    "result_retries": "v_result_retries",
    "complete_reason": "v_reason",
    "completed_at": "v_completed_at",
    "updated_at": "v_now",
}
# ...and the columns every outcome resets (the lease ends; the record is scheduled).
_RESET = {"priority": 0, "lease_owner": None, "lease_expires_at": None}

_UPDATE = (
    sa.update(data)
    .where(data.c.vdn_id == sa.bindparam("k_vdn"), data.c.data_id == sa.bindparam("k_data"))
    .values(
        **{column: sa.bindparam(key) for column, key in _WRITTEN.items()},
        **_RESET,
        reserved_work_no=sa.case(
            (sa.bindparam("v_keep_reservation"), data.c.reserved_work_no), else_=None
        ),
    )
)

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def _pg_type(column: sa.Column[Any]) -> str:
    return column.type.compile(dialect=_PG).lower()


def _update_fields() -> str:
    """The column list of the updates' JSON records (``json_to_recordset``)."""
    keys = {"k_vdn": data.c.vdn_id, "k_data": data.c.data_id}
    keys |= {key: data.c[column] for column, key in _WRITTEN.items()}
    fields = [f"{key} {_pg_type(column)}" for key, column in keys.items()]
    fields.append("v_keep_reservation boolean")
    return ", ".join(fields)


def _set_clause() -> str:
    sets = [f"{column} = v.{key}" for column, key in _WRITTEN.items()]
    sets += [f"{column} = {'NULL' if value is None else value}" for column, value in _RESET.items()]
    sets.append("reserved_work_no = CASE WHEN v.v_keep_reservation THEN t.reserved_work_no END")
    return ", ".join(sets)


@lru_cache(maxsize=8)
def _batched_sql(history_keys: tuple[str, ...]) -> str:
    """One PostgreSQL statement for a batch: the records' updates, then the history rows.

    Both read their rows from a JSON array parameter (``json_to_recordset``):
    one value to encode per batch, where arrays of values would cost the
    driver a check per element (measured: two thirds of the statement's
    client time).
    """
    history = ", ".join(f"{name} {_pg_type(data_result.c[name])}" for name in history_keys)
    columns = ", ".join(history_keys)
    return f"""
    WITH v AS (SELECT * FROM json_to_recordset(CAST(:updates AS json)) AS v({_update_fields()})),
    upd AS (
        UPDATE t_isl_data t SET {_set_clause()}
        FROM v WHERE t.vdn_id = v.k_vdn AND t.data_id = v.k_data
    )
    INSERT INTO t_isl_data_result ({columns})
    SELECT {columns} FROM json_to_recordset(CAST(:history AS json)) AS h({history})
    """


# History rows in one statement on Citus: their values are bound one by one
# there, within PostgreSQL's 32767 parameters.
_TENANT_ROWS = 500


@lru_cache(maxsize=1)
def _tenant_update() -> sa.TextClause:
    """The update of :func:`_batched_sql` for the records of one VDN, as Citus routes it.

    Citus sends a statement to one shard (a router statement) when it names
    the shard key's value: ``t.vdn_id = :vdn``, the rows read from the JSON
    parameter in place.
    """
    return sa.text(
        f"""
        UPDATE t_isl_data t SET {_set_clause()}
        FROM json_to_recordset(CAST(:updates AS json)) AS v({_update_fields()})
        WHERE t.vdn_id = :vdn AND t.data_id = v.k_data
        """
    ).bindparams(sa.bindparam("vdn", type_=sa.Integer))


@lru_cache(maxsize=64)
def _tenant_history(history_keys: tuple[str, ...], rows: int) -> sa.TextClause:
    """The history rows of one VDN as one multi-row ``INSERT … VALUES`` (a router statement).

    Neither an ``INSERT … SELECT`` from a function (pulled through the
    coordinator) nor an ``INSERT`` in a ``WITH`` (planned apart, as an
    intermediate result) is routed whole by Citus.
    """
    values = []
    binds = []
    for n in range(rows):
        values.append(", ".join(f":h{n}_{name}" for name in history_keys))
        binds += [sa.bindparam(f"h{n}_{k}", type_=data_result.c[k].type) for k in history_keys]
    return sa.text(
        f"INSERT INTO t_isl_data_result ({', '.join(history_keys)}) VALUES ({'), ('.join(values)})"
    ).bindparams(*binds)


async def _record_per_vdn(
    conn: AsyncConnection, history: Sequence[dict[str, Any]], updates: Sequence[dict[str, Any]]
) -> None:
    """:func:`record` on Citus: per VDN, the update and the history rows, each on its shard."""
    keys = tuple(history[0])
    by_vdn: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for row in history:
        by_vdn.setdefault(row["vdn_id"], ([], []))[0].append(row)
    for row in updates:
        by_vdn.setdefault(row["k_vdn"], ([], []))[1].append(row)
    for vdn_id, (rows, changes) in sorted(by_vdn.items()):
        if changes:
            await conn.execute(_tenant_update(), {"vdn": vdn_id, "updates": _to_json(changes)})
        for start in range(0, len(rows), _TENANT_ROWS):
            part = rows[start : start + _TENANT_ROWS]
            params = {f"h{n}_{k}": row[k] for n, row in enumerate(part) for k in keys}
            await conn.execute(_tenant_history(keys, len(part)), params)


_ENCODER = msgspec.json.Encoder()


def _to_json(rows: Sequence[dict[str, Any]]) -> str:
    """``rows`` as a JSON array; datetimes in RFC 3339, which PostgreSQL reads as timestamps."""
    return _ENCODER.encode(rows).decode()


async def record(
    conn: AsyncConnection, history: Sequence[dict[str, Any]], updates: Sequence[dict[str, Any]]
) -> None:
    """Insert the attempts' history rows and apply the records' new states (``v_``/``k_`` keys).

    On PostgreSQL a batch is one statement (:func:`_batched_sql`); on Citus
    one statement per VDN (:func:`_record_per_vdn`), routed to its shard. A record
    scheduled to be called again soon is announced to the dispatchers
    (``dispatch.notice_in``), delivered when the transaction commits.
    """
    if conn.dialect.name == "postgresql" and history and updates:
        if await citus.distributed(conn):
            await _record_per_vdn(conn, history, updates)
        else:
            params = {"updates": _to_json(updates), "history": _to_json(history)}
            await conn.execute(sa.text(_batched_sql(tuple(history[0]))), params)
    else:
        if history:
            await conn.execute(sa.insert(data_result), list(history))
        if updates:
            await conn.execute(_UPDATE, list(updates))
    retries = [
        u for u in updates if u["v_status"] == _WAITING and u["v_next_call_time"] is not None
    ]
    if retries:
        soonest = min(retries, key=lambda u: u["v_next_call_time"])
        await dispatch.notice_in(conn, soonest["v_next_call_time"], soonest["v_now"])
