"""The batched write-back statements on PostgreSQL: what a batch applies, and what it refuses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.auth.replay import Nonce
from openisales.domain.calldata import DataStatus
from openisales.domain.writeback import WriteBack
from openisales.errors import StorageError
from openisales.store import writeback_batch as batch, writeback_fast as fast
from openisales.store.engine import create_engine
from openisales.store.tables import auth_nonce, data, data_result
from tests.conftest import Api
from tests.helpers import add_numbers, define, make_campaign

NOW = datetime.now(UTC).replace(microsecond=0)
RETRY_AT = NOW + timedelta(seconds=60)


@pytest.fixture
async def records(api: Api) -> AsyncIterator[list[int]]:
    if api.ctx.engine.dialect.name != "postgresql":
        pytest.skip("the batched write-back runs on PostgreSQL")
    async with api.client() as client:
        await define(client, "X")
        campaign = await make_campaign(client)
        ids = await add_numbers(client, campaign, "111", "222", "333")
    async with api.ctx.engine.begin() as conn:  # the set-up requests' own signatures
        await conn.execute(sa.delete(auth_nonce))
    yield [int(i) for i in ids]


@pytest.fixture
async def other(api: Api) -> AsyncIterator[AsyncEngine]:
    """A second engine, for another transaction (the test pool has one connection)."""
    engine = create_engine(api.ctx.settings.effective_database_url)
    yield engine
    await engine.dispose()


def nonce(key: str, *, expires: datetime = NOW + timedelta(minutes=15)) -> Nonce:
    return Nonce(1, key, expires, NOW)


async def read(api: Api, *keys: batch.ReadKey) -> list[batch.Read]:
    async with api.ctx.engine.connect() as conn:
        return await batch.read_many(await batch.driver_of(conn), list(keys))


def write_of(seen: batch.Read, data_id: int, result_id: int, **changes: object) -> batch.Write:
    """A write-back that schedules a retry of ``data_id`` for agent 2033 in a minute."""
    assert seen.target is not None and seen.target.version is not None
    wb = WriteBack(
        result_id=result_id,
        vdn_id=1,
        data_id=data_id,
        campaign_id=seen.target.record.campaign_id,
        attempt_no=seen.target.record.attempt_no,
        called=None,
        busi_result="X",
        sub_status=None,
        busi_result_desc=None,
        work_no="2033",
        now=NOW,
        reschedule=True,
        completed=False,
        status=int(DataStatus.WAITING),
        next_index=0,
        next_call_time=RETRY_AT,
        reserved_work_no="2033",
        completed_at=None,
        complete_reason=None,
    )
    fields: dict[str, object] = {"version": seen.target.version, "nonce": None}
    fields.update(changes)
    return batch.Write(wb, **fields)  # type: ignore[arg-type]


async def write(api: Api, *writes: batch.Write) -> list[bool]:
    async with api.ctx.engine.connect() as conn:
        return await batch.write_many(await batch.driver_of(conn), list(writes))


async def history(api: Api) -> list[sa.Row]:
    async with api.ctx.engine.connect() as conn:
        query = sa.select(data_result).order_by(data_result.c.result_id)
        return list(await conn.execute(query))


async def nonces(api: Api) -> dict[str, datetime]:
    async with api.ctx.engine.connect() as conn:
        rows = await conn.execute(sa.select(auth_nonce.c.digest, auth_nonce.c.expires_at))
        return {row.digest: row.expires_at for row in rows.all()}


async def test_a_batch_read_answers_each_key_in_order(api: Api, records: list[int]) -> None:
    first, second, _ = records
    async with api.ctx.engine.begin() as conn:
        await conn.execute(
            sa.insert(auth_nonce).values(vdn_id=1, digest="used", expires_at=NOW + timedelta(1))
        )
    seen = await read(
        api,
        batch.ReadKey(1, second, None, NOW),
        batch.ReadKey(1, 999, None, NOW),  # no such record
        batch.ReadKey(2, first, None, NOW),  # in another VDN
        batch.ReadKey(1, first, nonce("used"), NOW),
    )
    assert [s.target is not None for s in seen] == [True, False, False, True]
    assert [s.replayed for s in seen] == [False, False, False, True]
    assert (
        seen[0].target.record.status == DataStatus.WAITING and seen[0].target.record.attempt_no == 0
    )


async def test_a_batch_write_applies_each_fresh_version_once(api: Api, records: list[int]) -> None:
    first, second, third = records
    a, b, c = await read(api, *(batch.ReadKey(1, r, None, NOW) for r in records))
    stale = write_of(c, third, 13, version=str(int(c.target.version) + 1))
    applied = await write(
        api,
        write_of(a, first, 11, nonce=nonce("k1")),
        write_of(b, second, 12),  # no nonce: a NULL digest
        stale,
        write_of(a, first, 14, nonce=nonce("k4")),  # the same record again, same version
    )
    # Two write-backs of one record in one batch: only one of them applies.
    assert applied[1:3] == [True, False] and applied[0] != applied[3]
    rows = await history(api)
    assert sorted(r.data_id for r in rows) == sorted([first, second])
    winner = 11 if applied[0] else 14
    assert {r.result_id for r in rows} == {winner, 12}
    assert set(await nonces(api)) == {"k1" if applied[0] else "k4"}
    async with api.ctx.engine.connect() as conn:
        states = {
            r.data_id: r
            for r in await conn.execute(sa.select(data).where(data.c.data_id.in_(records)))
        }
    assert states[first].busi_result == "X" and states[first].reserved_work_no == "2033"
    assert states[first].next_call_time == RETRY_AT
    assert states[third].busi_result is None  # the stale write changed nothing


async def test_a_live_nonce_refuses_the_write_and_an_expired_one_is_renewed(
    api: Api, records: list[int]
) -> None:
    first, second, _ = records
    async with api.ctx.engine.begin() as conn:
        await conn.execute(
            sa.insert(auth_nonce),
            [
                {"vdn_id": 1, "digest": "live", "expires_at": NOW + timedelta(minutes=5)},
                {"vdn_id": 1, "digest": "old", "expires_at": NOW - timedelta(minutes=5)},
            ],
        )
    a, b = await read(api, batch.ReadKey(1, first, None, NOW), batch.ReadKey(1, second, None, NOW))
    renewed = NOW + timedelta(minutes=15)
    applied = await write(
        api,
        write_of(a, first, 21, nonce=nonce("live")),
        write_of(b, second, 22, nonce=nonce("old", expires=renewed)),
    )
    assert applied == [False, True]
    assert [r.result_id for r in await history(api)] == [22]
    assert (await nonces(api))["old"] == renewed


async def test_a_member_that_breaks_its_batch_fails_alone(api: Api, records: list[int]) -> None:
    first, second, third = records
    a, b, c = await read(api, *(batch.ReadKey(1, r, None, NOW) for r in records))
    path = fast.FastPath.connect(
        api.ctx.settings.effective_database_url, failure_code="0200999", timeout=10
    )
    try:
        blocker = asyncio.create_task(path.write(write_of(a, first, 30)))
        await asyncio.sleep(0)
        # Both wait for the blocker, then go out together with the same history id:
        # the statement fails as a whole and is written again one by one.
        members = [
            asyncio.create_task(path.write(write_of(b, second, 31, nonce=nonce("n2")))),
            asyncio.create_task(path.write(write_of(c, third, 31, nonce=nonce("n3")))),
        ]
        assert await blocker is True
        assert await members[0] is True
        with pytest.raises(StorageError) as raised:
            await members[1]
    finally:
        await path.close()
    assert raised.value.result_code == "0200999"
    assert [(r.result_id, r.data_id) for r in await history(api)] == [(30, first), (31, second)]
    assert set(await nonces(api)) == {"n2"}  # the failed member's signature stays unused
    async with api.ctx.engine.connect() as conn:
        query = sa.select(data.c.busi_result).where(data.c.data_id == third)
        assert await conn.scalar(query) is None


async def test_a_record_another_transaction_holds_is_skipped_not_waited_for(
    api: Api, records: list[int], other: AsyncEngine
) -> None:
    first, second, _ = records
    a, b = await read(api, batch.ReadKey(1, first, None, NOW), batch.ReadKey(1, second, None, NOW))
    lock = sa.select(data.c.data_id).where(data.c.data_id == sa.bindparam("id")).with_for_update()
    async with other.begin() as conn:
        await conn.execute(lock, {"id": first})
        applied = await asyncio.wait_for(
            write(api, write_of(b, second, 41), write_of(a, first, 42)), timeout=5
        )
        # The batch neither waited for A nor kept B: the other transaction takes it.
        await asyncio.wait_for(conn.execute(lock, {"id": second}), timeout=5)
    assert applied == [True, False]  # A's caller reads again, then takes the locking path
    assert [r.result_id for r in await history(api)] == [41]


async def test_a_record_changed_since_it_was_read_is_not_applied_one_only_locked_is(
    api: Api, records: list[int]
) -> None:
    first, second, _ = records
    a, b = await read(api, batch.ReadKey(1, first, None, NOW), batch.ReadKey(1, second, None, NOW))
    async with api.ctx.engine.begin() as other:
        await other.execute(sa.update(data).where(data.c.data_id == first).values(work_no="9"))
    async with api.ctx.engine.begin() as other:  # held, then released unchanged
        await other.execute(
            sa.select(data.c.data_id).where(data.c.data_id == second).with_for_update()
        )
    assert await write(api, write_of(a, first, 43), write_of(b, second, 44)) == [False, True]


async def test_a_held_record_does_not_hold_up_the_others_on_the_fast_paths_own_sessions(
    api: Api, records: list[int], other: AsyncEngine
) -> None:
    first, second, _ = records
    a, b = await read(api, batch.ReadKey(1, first, None, NOW), batch.ReadKey(1, second, None, NOW))
    path = fast.FastPath.connect(
        api.ctx.settings.effective_database_url, failure_code="0200999", timeout=10
    )
    try:
        async with other.begin() as conn:
            query = sa.select(data.c.data_id).where(data.c.data_id == first)
            await conn.execute(query.with_for_update())
            applied = await asyncio.wait_for(
                asyncio.gather(
                    path.write(write_of(a, first, 51)), path.write(write_of(b, second, 52))
                ),
                timeout=5,
            )
        assert applied == [False, True]  # the held record's caller will read again
        assert [r.result_id for r in await history(api)] == [52]
    finally:
        await path.close()


async def test_the_fast_path_recovers_from_lost_connections_at_once(
    api: Api, records: list[int]
) -> None:
    first, second, third = records
    path = fast.FastPath.connect(
        api.ctx.settings.effective_database_url, failure_code="0200999", timeout=10
    )
    try:
        (a,) = await read(api, batch.ReadKey(1, first, None, NOW))
        assert await path.write(write_of(a, first, 71)) is True
        assert (await path.read(batch.ReadKey(1, second, None, NOW))).target is not None
        async with api.ctx.engine.connect() as conn:
            ended = await conn.scalar(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'openisales-writeback' "
                    "AND datname = current_database()"
                )
            )
        assert ended >= 1
        await asyncio.sleep(0.2)  # asyncpg notices the closed sockets
        (c,) = await read(api, batch.ReadKey(1, third, None, NOW))
        assert await path.write(write_of(c, third, 72)) is True
        assert (await path.read(batch.ReadKey(1, second, None, NOW))).target is not None
    finally:
        await path.close()


async def test_the_fast_path_keeps_its_sessions_and_replaces_them_in_the_background(
    api: Api, records: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, _ = records
    path = fast.FastPath.connect(
        api.ctx.settings.effective_database_url, failure_code="0200999", timeout=10
    )
    checkouts: list[int] = []
    event.listen(path._engine.sync_engine, "checkout", lambda *_: checkouts.append(1))
    try:
        for record in (first, second, first, second):
            assert (await path.read(batch.ReadKey(1, record, None, NOW))).target is not None
        (a,) = await read(api, batch.ReadKey(1, first, None, NOW))
        assert await path.write(write_of(a, first, 81)) is True
        assert len(checkouts) == 1  # one session served them all, one after the other
        (old,) = path._idle
        monkeypatch.setattr(fast, "RECYCLE_S", 0)  # the kept session is now too old
        # It serves on while its replacement is made, and planned, in the background...
        assert (await path.read(batch.ReadKey(1, second, None, NOW))).target is not None
        assert path._idle == [old] and path._fresh is not None
        fresh = await path._fresh
        assert len(checkouts) == 2
        cached = {s.query for s in fresh.driver._stmt_cache.iter_statements()}
        assert {batch._READ_SQL, batch._WRITE_SQL} <= cached  # planned before any batch
        # ...and takes over at the next statement; the old one goes back to the pool.
        assert (await path.read(batch.ReadKey(1, first, None, NOW))).target is not None
        assert path._idle == [fresh] and len(checkouts) == 2
    finally:
        await path.close()
    assert path._idle == [] and path._fresh is None  # closing gave the sessions back


async def test_a_replacement_that_fails_leaves_the_old_session_serving(
    api: Api, records: list[int], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = fast.FastPath.connect(
        api.ctx.settings.effective_database_url, failure_code="0200999", timeout=10
    )

    async def refused(*_: object, **__: object) -> None:
        raise ConnectionRefusedError("the database is restarting")

    try:
        assert (await path.read(batch.ReadKey(1, records[0], None, NOW))).target is not None
        (old,) = path._idle
        monkeypatch.setattr(fast, "RECYCLE_S", 0)
        monkeypatch.setattr(fast, "prepare", refused)
        assert (await path.read(batch.ReadKey(1, records[1], None, NOW))).target is not None
        assert path._fresh is not None
        with pytest.raises(ConnectionRefusedError):
            await path._fresh
        assert (await path.read(batch.ReadKey(1, records[2], None, NOW))).target is not None
        assert path._idle == [old]  # still serving; another replacement is under way
        assert "no replacement write-back session" in caplog.text
    finally:
        await path.close()


async def test_a_slow_statement_closes_the_session_it_ran_on(
    api: Api, records: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fast.FastPath.connect(
        api.ctx.settings.effective_database_url, failure_code="0200999", timeout=10
    )
    try:
        assert (await path.read(batch.ReadKey(1, records[0], None, NOW))).target is not None
        (kept,) = path._idle
        monkeypatch.setattr(fast, "SLOW_S", -1.0)  # every statement is now "slow"
        assert (await path.read(batch.ReadKey(1, records[1], None, NOW))).target is not None
        assert path._idle == [] and kept.driver.is_closed()  # its plans are not used again
    finally:
        await path.close()


async def test_expired_nonces_are_pruned_as_write_backs_go_by(
    api: Api, records: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fast, "PRUNE_EVERY", 2)
    monkeypatch.setattr(fast, "PRUNE_CHUNK", 2)
    async with api.ctx.engine.begin() as conn:
        await conn.execute(
            sa.insert(auth_nonce),
            [
                {"vdn_id": 1, "digest": f"old{n}", "expires_at": NOW - timedelta(1)}
                for n in range(3)
            ],
        )
    path = fast.FastPath.connect(
        api.ctx.settings.effective_database_url, failure_code="0200999", timeout=10
    )
    try:
        for n, record in enumerate(records[:2]):
            (seen,) = await read(api, batch.ReadKey(1, record, None, NOW))
            assert await path.write(write_of(seen, record, 60 + n, nonce=nonce(f"k{n}"))) is True
    finally:
        await path.close()  # waits for the clean-up it started in the background
    left = set(await nonces(api))
    assert {"k0", "k1"} <= left and len(left - {"k0", "k1"}) == 1  # one chunk of two went


async def test_the_generic_plans_find_records_by_primary_key(api: Api, records: list[int]) -> None:
    """With statistics, both statements find records and nonces by primary key, nothing wider."""
    async with api.ctx.engine.begin() as conn:
        campaign_id = await conn.scalar(sa.select(data.c.campaign_id).limit(1))
        await conn.execute(
            sa.text(
                "INSERT INTO t_isl_data (vdn_id, data_id, campaign_id, called_nos, next_index, "
                "attempt_index, status, attempt_no, created_at, updated_at) "
                "SELECT 1, (1::bigint << 48) + 1000 + n, :campaign, '[]', 0, 0, 0, 0, now(), now() "
                "FROM generate_series(1, 20000) AS n"
            ),
            {"campaign": campaign_id},
        )
    path = fast.FastPath.connect(
        api.ctx.settings.effective_database_url, failure_code="0200999", timeout=10
    )
    try:
        async with path._engine.connect() as conn:  # the fast path's session settings
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            # Statistics for the records, none for the nonces: a fresh deployment's first plan.
            await driver.execute("ANALYZE t_isl_data, t_isl_campaign")
            plans = []
            for name, sql, params in (
                ("r", batch._READ_SQL, 4),
                ("w", batch._WRITE_SQL, len(batch._COLUMNS)),
            ):
                await driver.execute(f"PREPARE {name} AS {sql}")
                nulls = ", ".join(["NULL"] * params)
                rows = await driver.fetch(f"EXPLAIN EXECUTE {name}({nulls})")
                plans.append("\n".join(r[0] for r in rows))
    finally:
        await path.close()
    for plan in plans:
        assert "using pk_t_isl_data on" in plan and "using pk_t_isl_auth_nonce on" in plan, plan
        assert "ix_t_isl_data_claim" not in plan and "Seq Scan on t_isl_data" not in plan, plan
        assert "ix_t_isl_auth_nonce_expires_at" not in plan, plan
