"""Every write path writes exactly what ``store.writeback`` declares, on both engines.

The declaration (``HISTORY``, ``RESULT``, ``SCHEDULE``) is walked column by
column, so a column added to it is checked on the locking path (SQLite and
PostgreSQL), on the batched statement (PostgreSQL) and on the group commit's
statements (SQLite) without a test edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from openisales.domain.calldata import DataStatus
from openisales.domain.writeback import WriteBack
from openisales.store import (
    writeback as declared,
    writeback_batch as batch,
    writeback_group as grouped,
)
from openisales.store.tables import data, data_result
from tests.conftest import Api
from tests.helpers import add_numbers, define, make_campaign

NOW = datetime.now(UTC).replace(microsecond=0)


def written(data_id: int, campaign_id: int, result_id: int, *, reschedule: bool) -> WriteBack:
    """A write-back whose every field differs from what a fresh record holds."""
    return WriteBack(
        result_id=result_id,
        vdn_id=1,
        data_id=data_id,
        campaign_id=campaign_id,
        attempt_no=0,
        called="111",
        busi_result="X",
        sub_status="X1",
        busi_result_desc="a description",
        work_no="2033",
        now=NOW,
        reschedule=reschedule,
        completed=False,
        status=int(DataStatus.WAITING),
        next_index=1,
        next_call_time=NOW + timedelta(seconds=90),
        reserved_work_no="2033",
        completed_at=NOW,
        complete_reason="business-result",
    )


def expected(columns: Mapping[str, declared.Source], wb: WriteBack) -> dict[str, Any]:
    return {
        column: source.value if isinstance(source, declared.Const) else getattr(wb, source)
        for column, source in columns.items()
    }


async def rows(api: Api, data_id: int, result_id: int) -> tuple[Any, Any]:
    async with api.ctx.engine.connect() as conn:
        record = (
            await conn.execute(sa.select(data).where(data.c.vdn_id == 1, data.c.data_id == data_id))
        ).one()
        history = (
            await conn.execute(
                sa.select(data_result).where(
                    data_result.c.vdn_id == 1, data_result.c.result_id == result_id
                )
            )
        ).one()
    return record, history


def check(record: Any, history: Any, before: Any, wb: WriteBack) -> None:
    for column, value in expected(declared.HISTORY, wb).items():
        assert getattr(history, column) == value, column
    for column, value in expected(declared.RESULT, wb).items():
        assert getattr(record, column) == value, column
    schedule = expected(declared.SCHEDULE, wb)
    changed = {**expected(declared.RESULT, wb), **(schedule if wb.reschedule else {})}
    same = [c for c, value in changed.items() if getattr(before, c) == value]
    assert same == [], f"the test's write-back must change every column it checks: {same}"
    for column, value in schedule.items():
        # Rescheduled: the declared value; otherwise the record keeps its own.
        want = value if wb.reschedule else getattr(before, column)
        assert getattr(record, column) == want, column


async def setup(api: Api) -> tuple[int, list[int]]:
    """Two records, answered and awaiting their result (every declared value differs)."""
    async with api.client() as client:
        await define(client, "X", "X1")
        campaign = await make_campaign(client)
        ids = await add_numbers(client, campaign, ["111", "222"], ["333", "444"])
    async with api.ctx.engine.begin() as conn:
        await conn.execute(sa.update(data).values(status=int(DataStatus.AWAITING_RESULT)))
    return campaign, [int(i) for i in ids]


@pytest.mark.parametrize("reschedule", [True, False])
async def test_the_locking_path_writes_every_declared_column(api: Api, reschedule: bool) -> None:
    campaign, (record_id, _) = await setup(api)
    before, _ = await rows_before(api, record_id)
    wb = written(record_id, campaign, 9001, reschedule=reschedule)
    async with api.ctx.engine.begin() as conn:
        await declared.record(conn, wb)
    record, history = await rows(api, record_id, 9001)
    check(record, history, before, wb)


@pytest.mark.parametrize("reschedule", [True, False])
async def test_the_batched_statement_writes_every_declared_column(
    api: Api, reschedule: bool
) -> None:
    if api.ctx.engine.dialect.name != "postgresql":
        pytest.skip("the batched write-back runs on PostgreSQL")
    campaign, (record_id, _) = await setup(api)
    before, _ = await rows_before(api, record_id)
    async with api.ctx.engine.connect() as conn:
        (seen,) = await batch.read_many(
            await batch.driver_of(conn), [batch.ReadKey(1, record_id, None, NOW)]
        )
    assert seen.target is not None and seen.target.version is not None
    wb = written(record_id, campaign, 9002, reschedule=reschedule)
    async with api.ctx.engine.connect() as conn:
        assert await batch.write_many(
            await batch.driver_of(conn), [batch.Write(wb, seen.target.version, None)]
        ) == [True]
    record, history = await rows(api, record_id, 9002)
    check(record, history, before, wb)


def _sqlite_only(api: Api) -> None:
    if api.ctx.engine.dialect.name != "sqlite":
        pytest.skip("the group commit runs on SQLite")


@pytest.mark.parametrize("reschedule", [True, False])
async def test_the_group_commit_writes_every_declared_column(api: Api, reschedule: bool) -> None:
    _sqlite_only(api)
    campaign, (record_id, _) = await setup(api)
    before, _ = await rows_before(api, record_id)
    wb = written(record_id, campaign, 9003, reschedule=reschedule)
    async with api.ctx.engine.begin() as conn:
        await grouped.write((await conn.get_raw_connection()).driver_connection, [wb])
    record, history = await rows(api, record_id, 9003)
    check(record, history, before, wb)


async def test_the_group_commit_stores_exactly_what_the_locking_path_stores(api: Api) -> None:
    """Byte for byte: SQLite compares stored times as text."""
    _sqlite_only(api)
    campaign, (one, two) = await setup(api)
    async with api.ctx.engine.begin() as conn:
        await declared.record(conn, written(one, campaign, 9004, reschedule=True))
    async with api.ctx.engine.begin() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        await grouped.write(driver, [written(two, campaign, 9005, reschedule=True)])
    record_columns = ", ".join([*declared.RESULT, *declared.SCHEDULE])
    history_columns = ", ".join(c for c in declared.HISTORY if c not in ("result_id", "data_id"))
    async with api.ctx.engine.connect() as conn:
        records = await conn.exec_driver_sql(
            f"SELECT {record_columns}, typeof(next_call_time) FROM t_isl_data"
            " WHERE data_id IN (?, ?) ORDER BY data_id",
            (one, two),
        )
        histories = await conn.exec_driver_sql(
            f"SELECT {history_columns}, typeof(created_at) FROM t_isl_data_result"
            " WHERE result_id IN (9004, 9005) ORDER BY result_id"
        )
        by_locking, by_group = [tuple(r) for r in records]
        history_by_locking, history_by_group = [tuple(r) for r in histories]
    assert by_group == by_locking and by_group[-1] == "text"
    assert history_by_group == history_by_locking


async def test_the_target_is_read_typed_alike_on_both_paths(api: Api) -> None:
    _, (record_id, _) = await setup(api)
    async with api.ctx.engine.begin() as conn:
        locked = await declared.lock(conn, 1, record_id)
    assert locked is not None
    assert [n.called_no for n in locked.record.numbers] == ["111", "222"]
    assert locked.order == (0, 1) and locked.record.status == DataStatus.AWAITING_RESULT
    assert locked.record.called == "111" and locked.version is None
    assert (locked.record.vdn_id, locked.record.data_id) == (1, record_id)
    if api.ctx.engine.dialect.name == "postgresql":
        async with api.ctx.engine.connect() as conn:
            (seen,) = await batch.read_many(
                await batch.driver_of(conn), [batch.ReadKey(1, record_id, None, NOW)]
            )
        assert seen.target is not None and seen.target.version is not None
        assert {**vars_of(seen.target), "version": None} == vars_of(locked)
    else:
        async with api.ctx.engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            found = await grouped.read_targets(driver, [(1, record_id), (1, record_id + 999)])
        assert list(found) == [(1, record_id)]
        assert vars_of(found[(1, record_id)]) == vars_of(locked)


def vars_of(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__}


async def rows_before(api: Api, data_id: int) -> tuple[Any, None]:
    async with api.ctx.engine.connect() as conn:
        record = (
            await conn.execute(sa.select(data).where(data.c.vdn_id == 1, data.c.data_id == data_id))
        ).one()
    return record, None
