"""The write-back's group commit on SQLite: concurrent write-backs share one transaction.

The embedded engine has one connection (``store.engine``). Each statement
sent through SQLAlchemy's async layer to it costs several round trips to
aiosqlite's thread (cursor, execute, fetch, close) and about a quarter of a
millisecond of CPU, several times what SQLite spends on the statement; a
transaction per write-back (``BEGIN IMMEDIATE``, read, history row, record,
``COMMIT``) cost about 1.9 ms of the server's CPU (``docs/benchmarks.md``).

Here the write-backs that arrive while a transaction runs are gathered
(:class:`~openisales.store.batching.Batcher`) and applied together in the
next one, on the aiosqlite connection under the pool's SQLAlchemy connection
(one round trip per statement): ``BEGIN IMMEDIATE``, every record of the
group read in one ``SELECT``, each member decided in arrival order by its own
``decide`` (pure: whatever it needs is read before), then every history row
in one ``executemany`` and the records in one per kind of update, ``COMMIT``.
The statements are derived from the declaration in ``store.writeback``.

A member is decided against its record as the members before it left it: a
record written earlier in the group is written out and read again first.
A member that ``decide`` refuses (an :class:`~openisales.errors.OpenISalesError`
such as "no such record") writes nothing and gets its error; one it sends
away (None: its write must also queue a result push, which only the locking
path does) writes nothing and gets None; the others go on. When a statement
of the group fails, the transaction is rolled back whole and each member is
applied again in a transaction of its own, so that the failure reaches only
the member that causes it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import Histogram
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.domain.writeback import Outcome, Target, WriteBack
from openisales.errors import OpenISalesError, StorageError
from openisales.store import writeback as wb_store
from openisales.store.batching import Batcher
from openisales.store.sql import DuplicateError, reading
from openisales.store.tables import campaign, data, data_result

log = logging.getLogger("openisales.store")

# A member's decision, given its record (None: not in the VDN): the outcome
# and what is written for it (None: nothing), or None when the member must take
# the locking path instead. It raises OpenISalesError to refuse the request.
Decide = Callable[[Target | None], tuple[Outcome, WriteBack | None] | None]

_Key = tuple[int, int]  # (vdn_id, data_id)


@dataclass(frozen=True)
class Member:
    vdn_id: int
    data_id: int
    decide: Decide


# --- the statements, from the declaration in store.writeback ------------------

_SQLITE = sqlite.dialect()


def _sql(source: wb_store.Source) -> str:
    """A declared source as SQL: ``:<field>`` (a named parameter), or the constant."""
    return wb_store.source_sql(source, ":{}")


def _assignments(columns: Iterable[tuple[str, wb_store.Source]]) -> str:
    return ", ".join(f"{column} = {_sql(source)}" for column, source in columns)


def _converters() -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """Each written field and how SQLAlchemy would bind it on SQLite (times as text)."""
    types: dict[str, Any] = {}
    for table, declared in (
        (data_result, wb_store.HISTORY),
        (data, wb_store.RESULT),
        (data, wb_store.SCHEDULE),
    ):
        for column, source in declared.items():
            if isinstance(source, str):
                types.setdefault(source, table.c[column].type)
    return tuple(
        (name, types[name].dialect_impl(_SQLITE).bind_processor(_SQLITE) if name in types else None)
        for name in wb_store.fields()
    )


_CONVERTERS = _converters()
_INSERT_SQL = (
    f"INSERT INTO {data_result.name} ({', '.join(wb_store.HISTORY)}) "
    f"VALUES ({', '.join(_sql(s) for s in wb_store.HISTORY.values())})"
)
_WHERE = " AND ".join(f"{column} = :{column}" for column in wb_store.KEY)
_UPDATE_SQL = {
    reschedule: f"UPDATE {data.name} SET "
    + _assignments([*wb_store.RESULT.items(), *(wb_store.SCHEDULE.items() if reschedule else ())])
    + f" WHERE {_WHERE}"
    for reschedule in (False, True)
}
_TARGET = ", ".join(
    f"{'t' if column.table is data else 'c'}.{column.name}" for column in wb_store.TARGET_COLUMNS
)
_READ_SQL = (
    f"SELECT {_TARGET} FROM {data.name} t"
    f" JOIN {campaign.name} c ON c.vdn_id = t.vdn_id AND c.campaign_id = t.campaign_id"
    " WHERE t.vdn_id = ? AND t.data_id IN ({})"
)


def _row_class() -> Any:
    """A read row's class: its fields by column name (what ``store.writeback.target`` reads)."""
    return namedtuple("_Row", [column.name for column in wb_store.TARGET_COLUMNS])


_Row = _row_class()


def _values(wb: WriteBack) -> dict[str, Any]:
    """``wb``'s fields as the statements' named parameters, converted as SQLAlchemy would."""
    values = {}
    for name, convert in _CONVERTERS:
        value = getattr(wb, name)
        values[name] = convert(value) if convert is not None and value is not None else value
    return values


async def read_targets(driver: Any, keys: Iterable[_Key]) -> dict[_Key, Target]:
    """The records of ``keys`` that exist, one ``SELECT`` per VDN among them.

    ``driver`` is the aiosqlite connection under a SQLAlchemy connection.
    """
    by_vdn: dict[int, list[int]] = {}
    for vdn_id, data_id in keys:
        by_vdn.setdefault(vdn_id, []).append(data_id)
    found: dict[_Key, Target] = {}
    for vdn_id, ids in by_vdn.items():
        sql = _READ_SQL.format(", ".join("?" * len(ids)))
        for raw in await driver.execute_fetchall(sql, [vdn_id, *ids]):
            row = _Row(*raw)
            found[(row.vdn_id, row.data_id)] = wb_store.target(row)
    return found


async def write(driver: Any, wbs: list[WriteBack]) -> None:
    """What ``store.writeback.record`` writes for write-backs of distinct records, but pushes.

    The history rows in one ``executemany``, the records in one per kind of
    update (with or without the schedule). A completed record's result push is
    not queued here: such a write-back takes the locking path.
    """
    if not wbs:
        return
    values = [_values(wb) for wb in wbs]
    await driver.executemany(_INSERT_SQL, values)
    for reschedule, sql in _UPDATE_SQL.items():
        same = [v for wb, v in zip(wbs, values, strict=True) if wb.reschedule is reschedule]
        if same:
            await driver.executemany(sql, same)


# --- the group commit ---------------------------------------------------------


class GroupCommit:
    """One process's write-backs on SQLite, applied in shared transactions.

    One transaction at a time (there is one connection to run it on); the
    write-backs that arrive meanwhile, up to ``max_batch``, go into the next.
    ``batch_sizes`` (labelled ``transaction``) observes every group's size.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        failure_code: str,
        max_batch: int = 64,
        batch_sizes: Histogram | None = None,
    ) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("the group commit is SQLite's")
        self._engine = engine
        self._failure_code = failure_code
        self._batch_sizes = batch_sizes
        self._members: Batcher[Member, Outcome | None] = Batcher(
            self._flush, max_size=max_batch, max_in_flight=1
        )

    async def apply(self, member: Member) -> Outcome | None:
        """``member``'s outcome once its group committed (None: sent away, nothing written).

        Raises its refusal, or the failure of its transaction.
        """
        return await self._members.submit(member)

    async def _flush(self, members: list[Member]) -> Sequence[Outcome | Exception | None]:
        if self._batch_sizes is not None:
            self._batch_sizes.labels("transaction").observe(len(members))
        try:
            return await self._together(members)
        except (StorageError, DuplicateError) as exc:
            if len(members) == 1 or (isinstance(exc, StorageError) and exc.uncertain):
                raise
        return [await self._alone(member) for member in members]

    async def _alone(self, member: Member) -> Outcome | Exception | None:
        try:
            return (await self._together([member]))[0]
        except (StorageError, DuplicateError) as exc:
            return exc

    async def _together(self, members: list[Member]) -> list[Outcome | Exception | None]:
        async with reading(self._engine, failure_code=self._failure_code) as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            try:
                await driver.execute("BEGIN IMMEDIATE")
                try:
                    answers = await _decide_and_write(driver, members)
                    await driver.commit()
                except BaseException:
                    await driver.rollback()
                    raise
            except sqlite3.Error as exc:
                log.error("database operation failed: %s", type(exc).__name__, exc_info=True)
                if driver.in_transaction:  # not even the rollback went through
                    await conn.invalidate()
                raise StorageError(
                    "database operation failed", result_code=self._failure_code
                ) from exc
        return answers


async def _decide_and_write(driver: Any, members: list[Member]) -> list[Outcome | Exception | None]:
    targets = await read_targets(driver, {(m.vdn_id, m.data_id) for m in members})
    answers: list[Outcome | Exception | None] = []
    pending: list[WriteBack] = []
    stale: set[_Key] = set()  # records written since ``targets`` read them
    for member in members:
        key = (member.vdn_id, member.data_id)
        if key in stale:
            await write(driver, pending)
            pending = []
            targets.update(await read_targets(driver, [key]))
            stale.discard(key)
        try:
            decided = member.decide(targets.get(key))
        except OpenISalesError as exc:
            answers.append(exc)
            continue
        if decided is None:
            answers.append(None)
            continue
        outcome, written = decided
        if written is not None:
            pending.append(written)
            stale.add(key)
        answers.append(outcome)
    await write(driver, pending)
    return answers
