"""What a write-back writes, declared once, and the locking path that writes it.

:data:`HISTORY`, :data:`RESULT` and :data:`SCHEDULE` map each column a
write-back writes to the :class:`~openisales.domain.writeback.WriteBack` field
(or constant) that fills it. The statements of the locking path below, on
both engines, and the batched statement of ``store.writeback_fast`` are all
derived from them: a column added here reaches every path.

The record is read into a :class:`~openisales.domain.writeback.Target` here,
once: numbers decoded, busiPolicy parsed, dialling order computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.attempt import rotation
from openisales.domain.busi_policy import BusiRule, rules_from_json
from openisales.domain.retry_policy import turns_from_json
from openisales.domain.writeback import LastResult, Target, WriteBack
from openisales.store import citus, outbox, records
from openisales.store.tables import campaign, data, data_result


@dataclass(frozen=True)
class Const:
    """A constant written to a column (instead of a ``WriteBack`` field)."""

    value: object


Source = str | Const  # a WriteBack field name, or a constant


def source_sql(source: Source, field: str) -> str:
    """A declared source as SQL: ``field`` with ``{}`` for the field's name, or the constant.

    Constants are ours (never input): an integer as such, a string quoted.
    """
    if isinstance(source, str):
        return field.format(source)
    value = source.value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"unsupported constant {value!r}")
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


# The write-back's history row (``t_isl_data_result``).
HISTORY: Mapping[str, Source] = {
    "vdn_id": "vdn_id",
    "result_id": "result_id",
    "data_id": "data_id",
    "campaign_id": "campaign_id",
    "kind": Const("busi"),
    "attempt_no": "attempt_no",
    "called": "called",
    "busi_result": "busi_result",
    "sub_status": "sub_status",
    "busi_result_desc": "busi_result_desc",
    "work_no": "work_no",
    "created_at": "now",
}
# The record's result (``t_isl_data``), written by every write-back.
RESULT: Mapping[str, Source] = {
    "busi_result": "busi_result",
    "sub_status": "sub_status",
    "busi_result_desc": "busi_result_desc",
    "work_no": "work_no",
    "busi_write_time": "now",
    "busi_attempt_no": "attempt_no",
    "updated_at": "now",
}
# The record's schedule, written only when ``WriteBack.reschedule``.
SCHEDULE: Mapping[str, Source] = {
    "status": "status",
    "next_index": "next_index",
    "next_call_time": "next_call_time",
    "priority": Const(0),  # a scheduled call goes before first calls
    "reserved_work_no": "reserved_work_no",
    "completed_at": "completed_at",
    "complete_reason": "complete_reason",
}
# The record's key.
KEY = ("vdn_id", "data_id")


@cache  # the declaration is constant; every write-back asks for it
def fields() -> tuple[str, ...]:
    """Every ``WriteBack`` field some column takes, in declaration order, once."""
    named = [s for part in (HISTORY, RESULT, SCHEDULE) for s in part.values()]
    return tuple(dict.fromkeys([*KEY, *(s for s in named if isinstance(s, str))]))


# --- reading the target -------------------------------------------------------

# The columns a write-back reads; the batched read selects the same names.
TARGET_COLUMNS = (
    *records.COLUMNS,
    data.c.busi_attempt_no,
    data.c.busi_result,
    data.c.sub_status,
    data.c.busi_result_desc,
    data.c.work_no,
    campaign.c.busi_policy,
    campaign.c.call_policy,
    campaign.c.call_back_url,
)


@lru_cache(maxsize=4096)
def _rules(busi_policy: str | None) -> tuple[BusiRule, ...]:
    return rules_from_json(busi_policy)


@lru_cache(maxsize=65_536)
def _order(called_nos: str, call_policy: str | None) -> tuple[int, ...]:
    return tuple(rotation(records.numbers(called_nos), turns_from_json(call_policy)))


class TargetRow(records.RecordRow, Protocol):
    """A row with :data:`TARGET_COLUMNS`."""

    @property
    def busi_attempt_no(self) -> int | None: ...
    @property
    def busi_result(self) -> str | None: ...
    @property
    def sub_status(self) -> str | None: ...
    @property
    def busi_result_desc(self) -> str | None: ...
    @property
    def work_no(self) -> str | None: ...
    @property
    def busi_policy(self) -> str | None: ...
    @property
    def call_policy(self) -> str | None: ...
    @property
    def call_back_url(self) -> str | None: ...


def target(row: TargetRow, version: str | None = None) -> Target:
    """The typed :class:`Target` of a row with :data:`TARGET_COLUMNS`."""
    return Target(
        record=records.record(row),
        busi_attempt_no=row.busi_attempt_no,
        last=LastResult(row.busi_result, row.sub_status, row.busi_result_desc, row.work_no),
        rules=_rules(row.busi_policy),
        order=_order(row.called_nos, row.call_policy),
        call_back_url=row.call_back_url,
        version=version,
    )


# --- the locking path ---------------------------------------------------------
# Statements are built once: constructing SQLAlchemy statements per request
# cost more CPU than executing them.

_LOCK = (
    sa.select(*TARGET_COLUMNS)
    .select_from(
        data.join(
            campaign,
            sa.and_(
                campaign.c.vdn_id == data.c.vdn_id,
                campaign.c.campaign_id == data.c.campaign_id,
            ),
        )
    )
    .where(data.c.vdn_id == sa.bindparam("k_vdn"), data.c.data_id == sa.bindparam("k_data"))
    .with_for_update(of=data)
)


async def lock(conn: AsyncConnection, vdn_id: int, data_id: int) -> Target | None:
    """The record and its campaign's busiPolicy, the record locked until commit."""
    row = (await conn.execute(_LOCK, {"k_vdn": vdn_id, "k_data": data_id})).first()
    return target(row) if row is not None else None


def _values(columns: Mapping[str, Source]) -> dict[str, Any]:
    return {
        column: sa.literal(source.value) if isinstance(source, Const) else sa.bindparam(_P + source)
        for column, source in columns.items()
    }


# Parameters are prefixed: SQLAlchemy reserves a column's own name for its VALUES/SET.
_P = "p_"
_WHERE = sa.and_(
    data.c.vdn_id == sa.bindparam(_P + "vdn_id"), data.c.data_id == sa.bindparam(_P + "data_id")
)
_INSERT_HISTORY = sa.insert(data_result).values(_values(HISTORY))
_UPDATE = {
    False: sa.update(data).where(_WHERE).values(_values(RESULT)),
    True: sa.update(data).where(_WHERE).values({**_values(RESULT), **_values(SCHEDULE)}),
}
# ``WITH r AS (INSERT history) UPDATE record``: one round trip on PostgreSQL.
_COMBINED = {
    reschedule: update.add_cte(_INSERT_HISTORY.cte("r")) for reschedule, update in _UPDATE.items()
}


def params(wb: WriteBack) -> dict[str, Any]:
    """The statements' parameters: every declared field of ``wb``."""
    return {_P + name: getattr(wb, name) for name in fields()}


async def record(conn: AsyncConnection, wb: WriteBack) -> None:
    """History row plus the record's new state, in the caller's transaction.

    A write-back that completes the record also queues its result push.
    """
    values = params(wb)
    if conn.dialect.name == "postgresql" and not await citus.distributed(conn):
        await conn.execute(_COMBINED[wb.reschedule], values)
    else:  # SQLite has no data-modifying CTEs; Citus routes no INSERT in a WITH whole
        await conn.execute(_INSERT_HISTORY, values)
        await conn.execute(_UPDATE[wb.reschedule], values)
    if wb.completed:
        await outbox.enqueue_completed(conn, wb.vdn_id, [wb.data_id], wb.now)


_LANDED = sa.select(data_result.c.result_id).where(
    data_result.c.vdn_id == sa.bindparam("vdn_id"),
    data_result.c.result_id == sa.bindparam("result_id"),
)
_SETTLE = (
    sa.select(data.c.data_id)
    .where(data.c.vdn_id == sa.bindparam("vdn_id"), data.c.data_id == sa.bindparam("data_id"))
    .with_for_update()
)
SETTLE_LOCK_TIMEOUT = "6s"  # longer than the batched statement's 5 s timeout


async def landed(conn: AsyncConnection, vdn_id: int, data_id: int, result_id: int) -> bool:
    """Whether the write-back whose history row is ``result_id`` committed.

    Every write-back's history row commits with everything else it writes,
    under a result id taken before the write, so its presence tells whether a
    write whose answer was lost (a broken connection, a cancelled statement)
    was applied. The record is locked first (in the caller's transaction): a
    write still running on a connection the client lost holds that lock until
    it commits or rolls back, after which the answer is final.
    """
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{SETTLE_LOCK_TIMEOUT}'")
    await conn.execute(_SETTLE, {"vdn_id": vdn_id, "data_id": data_id})
    found = await conn.execute(_LANDED, {"vdn_id": vdn_id, "result_id": result_id})
    return found.first() is not None
