"""COPY of an import's rows into ``t_isl_data`` on PostgreSQL.

The rows go through asyncpg's ``copy_records_to_table`` on the import
transaction's own connection, as records built straight from the checked rows:
``called_nos`` as ``store.calldata.insert`` writes it (:func:`called_json`),
timestamps in asyncpg's tuple format (:func:`pg_time`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.calldata import DataStatus
from openisales.domain.import_rows import Row
from openisales.errors import StorageError
from openisales.importing.stream import RowStream
from openisales.store.sql import RAW_DRIVER_ERRORS
from openisales.store.tables import data

# The columns COPY fills, in order; the others take their server defaults (NULL for most).
# The values are those ``store.calldata.insert`` writes (a test keeps the two equal).
COPY_COLUMNS = (
    "vdn_id",
    "data_id",
    "campaign_id",
    "session_id",
    "custom_field",
    "caller",
    "call_data",
    "recycle_time",
    "called_nos",
    "next_index",
    "attempt_index",
    "status",
    "attempt_no",
    "next_call_time",
    "created_at",
    "updated_at",
)
_WAITING = int(DataStatus.WAITING)
T = TypeVar("T")


async def copy_rows(
    conn: AsyncConnection, vdn_id: int, campaign_id: int, rows: RowStream, now: datetime
) -> int:
    """COPY ``rows`` into t_isl_data on the transaction's own asyncpg connection; how many.

    asyncpg's binary timestamptz encoder costs about a microsecond a value, four
    values a row: for the COPY the connection exchanges timestamptz as
    ``(microseconds since 2000-01-01,)`` instead (asyncpg's documented "tuple"
    codec format), computed once for ``now`` and once per distinct recycle time.
    The codec is local to the connection, needs no query to set or reset, and is
    reset before anything else runs on it.
    """
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if not driver.is_in_transaction():  # pragma: no cover - count_unfinished began it
        raise RuntimeError("COPY must run inside the import's transaction")
    stamp = pg_time(now)
    times: dict[datetime, tuple[int]] = {}

    def make(data_id: int, r: Row) -> tuple[Any, ...]:
        numbers, session_id, caller, custom_field, call_data, recycle_time = r
        recycle: tuple[int] | None = None
        if recycle_time is not None:
            recycle = times.get(recycle_time)
            if recycle is None:
                recycle = times[recycle_time] = pg_time(recycle_time)
        return (
            vdn_id,
            data_id,
            campaign_id,
            session_id,
            custom_field,
            caller,
            call_data,
            recycle,
            called_json(numbers),
            0,
            0,
            _WAITING,
            0,
            stamp,
            stamp,
            stamp,
        )

    await driver.set_type_codec(
        "timestamptz", schema="pg_catalog", encoder=_same, decoder=_same, format="tuple"
    )
    try:
        status: str = await driver.copy_records_to_table(
            data.name, columns=COPY_COLUMNS, records=rows.load(make)
        )
    except RAW_DRIVER_ERRORS as exc:
        raise StorageError(f"database operation failed: {exc}") from exc
    finally:
        try:
            await driver.reset_type_codec("timestamptz", schema="pg_catalog")
        except Exception:  # pragma: no cover - an asyncpg that queries in an aborted transaction
            await conn.invalidate()  # the pool must not hand the codec to anyone else
            raise
    return int(status.rsplit(" ", 1)[-1])


def _same(value: T) -> T:
    return value


_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def pg_time(moment: datetime) -> tuple[int]:
    """A timestamptz in asyncpg's tuple format: microseconds since 2000-01-01 UTC."""
    return ((moment - _PG_EPOCH) // _MICROSECOND,)


_TYPE_JSON: dict[str | None, str] = {}


def called_json(numbers: Sequence[tuple[str, str | None]]) -> str:
    """``called_nos`` exactly as ``store.calldata.insert`` writes it (``json.dumps``).

    Numbers passed the ``[0-9*#]`` rule and need no escaping; a type's JSON is
    computed once.
    """
    if len(numbers) == 1:  # most records
        number, kind = numbers[0]
        quoted = _TYPE_JSON.get(kind) or _type_json(kind)
        return '[{"calledNo":"' + number + '","type":' + quoted + "}]"
    parts = []
    for number, kind in numbers:
        parts.append('{"calledNo":"' + number + '","type":' + _type_json(kind) + "}")
    return "[" + ",".join(parts) + "]"


def _type_json(kind: str | None) -> str:
    quoted = _TYPE_JSON.get(kind)
    if quoted is None:
        quoted = json.dumps(kind or "")
        if len(_TYPE_JSON) < 1_024:
            _TYPE_JSON[kind] = quoted
    return quoted
