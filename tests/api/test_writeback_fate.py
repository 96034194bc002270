"""Repeated write-backs change nothing; a write-back whose answer was lost is answered truly.

Both on SQLite (write-backs sharing a transaction, or the locking path) and PostgreSQL
(the batched path first).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.errors import StorageError
from openisales.services import writeback as service
from openisales.store import sql, writeback as store, writeback_fast
from openisales.store.batching import FlushCancelled
from openisales.store.tables import data, data_result, push_outbox
from tests.api.faults import history_table_missing, spy_look_up
from tests.conftest import Api
from tests.helpers import add_numbers, campaign_body, define

CRM = "http://crm.invalid/push"


async def _setup(api: Api, *, push: bool = False) -> str:
    async with api.client() as client:
        await define(client, "SOLD")
        await define(client, "LATER")
        body = campaign_body(
            retryPolicy={
                "policyType": 0,
                "busiPolicy": [
                    {"busiResultCode": "SOLD", "busiResultPolicy": 0},
                    {"busiResultCode": "LATER", "busiResultPolicy": 2, "callInterval": 60},
                ],
            },
            **({"callBackUrl": CRM} if push else {}),
        )
        reply = await client.create_campaign(body)
        assert reply["resultCode"] == "0200000", reply
        campaign = int(reply["returnObject"]["id"])
        (data_id,) = await add_numbers(client, campaign, "13800000001")
    return data_id


async def _count(api: Api, table: sa.Table, data_id: str) -> int:
    async with api.ctx.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(table.c.data_id == int(data_id))
        return int((await conn.execute(query)).scalar_one())


async def _record(api: Api, data_id: str) -> Any:
    async with api.ctx.engine.connect() as conn:
        return (await conn.execute(sa.select(data).where(data.c.data_id == int(data_id)))).one()


@pytest.mark.parametrize("push", [False, True])
async def test_the_same_write_back_again_changes_nothing(api: Api, push: bool) -> None:
    data_id = await _setup(api, push=push)
    body = {"busiResult": "SOLD", "busiResultDesc": "paid by card", "workNo": "2033"}
    async with api.client() as client:
        first = await client.write_back(data_id, body)
        before = await _record(api, data_id)
        again = [await client.write_back(data_id, body) for _ in range(3)]  # new signatures
    assert first["resultCode"] == "0200000"
    assert [a["resultCode"] for a in again] == ["0200000"] * 3
    assert await _count(api, data_result, data_id) == 1
    assert await _count(api, push_outbox, data_id) == (1 if push else 0)
    after = await _record(api, data_id)
    assert after._asdict() == before._asdict()  # not even updated_at moved


@pytest.mark.parametrize(
    "change",
    [
        {"busiResultDesc": "paid in cash"},
        {"workNo": "2034"},
        {"busiResultDesc": None},
        {"workNo": ""},  # an empty optional field counts as absent: not "2033"
    ],
)
async def test_a_different_write_back_for_the_same_attempt_is_recorded(
    api: Api, change: dict[str, Any]
) -> None:
    data_id = await _setup(api)
    body = {"busiResult": "LATER", "busiResultDesc": "paid by card", "workNo": "2033"}
    async with api.client() as client:
        await client.write_back(data_id, body)
        changed = {k: v for k, v in {**body, **change}.items() if v is not None}
        reply = await client.write_back(data_id, changed)
    assert reply["resultCode"] == "0200000"
    assert await _count(api, data_result, data_id) == 2


async def test_an_empty_optional_field_is_the_same_as_an_absent_one(api: Api) -> None:
    data_id = await _setup(api)
    async with api.client() as client:
        await client.write_back(data_id, {"busiResult": "LATER"})
        again = await client.write_back(data_id, {"busiResult": "LATER", "workNo": ""})
    assert again["resultCode"] == "0200000"
    assert await _count(api, data_result, data_id) == 1


async def test_a_repeat_still_uses_up_its_signature(api: Api) -> None:
    """A repeat writes nothing, but its signed request cannot be replayed later."""
    data_id = await _setup(api)
    path = f"/rest/isales/v1/openapi/campaigns/1/callBusiResult/{data_id}"
    async with api.client() as client:
        await client.write_back(data_id, {"busiResult": "LATER", "workNo": "9"})
        repeat = client.http.build_request(
            "POST",
            path,
            content=b'{"busiResult":"LATER","workNo":"9"}',
            headers={"Content-Type": "application/json; charset=UTF-8"},
        )
        repeat.headers["Authorization"] = client.http.auth.authorization(repeat)  # type: ignore[union-attr]
        first = await client.http.send(repeat, auth=None)
        assert first.json()["resultCode"] == "0200000"
        await client.write_back(data_id, {"busiResult": "SOLD"})  # the result changes
        replayed = await client.http.send(repeat, auth=None)  # the repeat's exact bytes
    assert replayed.status_code == 401, replayed.json()
    assert await _count(api, data_result, data_id) == 2
    assert (await _record(api, data_id)).busi_result == "SOLD"


async def test_a_write_back_made_during_the_call_applies_when_sent_again_after_it(
    api: Api,
) -> None:
    """The agent saved before the CTI reported the call's end: the resend takes effect."""
    data_id = await _setup(api)
    async with api.ctx.engine.begin() as conn:  # the call is being placed
        await conn.execute(
            sa.update(data).where(data.c.data_id == int(data_id)).values(status=1, attempt_no=1)
        )
    async with api.client() as client:
        early = await client.write_back(data_id, {"busiResult": "LATER", "workNo": "7"})
        assert early["resultCode"] == "0200000"
        assert (await _record(api, data_id)).status == 1  # recorded, cannot reschedule
        async with api.ctx.engine.begin() as conn:  # the answered outcome arrives
            await conn.execute(
                sa.update(data).where(data.c.data_id == int(data_id)).values(status=2)
            )
        again = await client.write_back(data_id, {"busiResult": "LATER", "workNo": "7"})
    assert again["resultCode"] == "0200000"
    record = await _record(api, data_id)
    assert record.status == 0 and record.reserved_work_no == "7"  # the retry is scheduled
    assert await _count(api, data_result, data_id) == 2


async def test_the_same_result_for_a_later_attempt_is_a_new_write_back(api: Api) -> None:
    data_id = await _setup(api)
    body = {"busiResult": "LATER"}
    async with api.client() as client:
        await client.write_back(data_id, body)
        async with api.ctx.engine.begin() as conn:  # the retry was dialled: a new attempt
            await conn.execute(
                sa.update(data).where(data.c.data_id == int(data_id)).values(attempt_no=1)
            )
        await client.write_back(data_id, body)
    assert await _count(api, data_result, data_id) == 2


def _lose_the_answer_after(engine_calls: list[str]) -> Any:
    """A ``transaction`` that commits, then fails as a lost connection would, once."""
    real = sql.transaction

    @asynccontextmanager
    async def transaction(engine: AsyncEngine, **kw: Any) -> AsyncIterator[AsyncConnection]:
        async with real(engine, **kw) as conn:
            yield conn
        if not engine_calls:
            engine_calls.append("lost")
            raise StorageError("database operation failed", result_code="0200999", uncertain=True)

    return transaction


def _without_fast_path(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The locking path only (not PostgreSQL's batched statements, nor SQLite's shared commits)."""
    monkeypatch.setattr(api.ctx, "writeback_fast", None)
    monkeypatch.setattr(api.ctx, "writeback_group", None)


async def _lose_the_answer(api: Api, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    """A record whose next write-back commits (by the locking path), then loses its answer."""
    data_id = await _setup(api)
    _without_fast_path(api, monkeypatch)
    calls: list[str] = []
    monkeypatch.setattr(service, "transaction", _lose_the_answer_after(calls))
    return data_id, calls


async def test_a_committed_write_back_whose_answer_was_lost_is_a_success(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_id, calls = await _lose_the_answer(api, monkeypatch)
    async with api.client() as client:
        reply = await client.write_back(data_id, {"busiResult": "LATER"})
    assert calls == ["lost"]
    assert reply["resultCode"] == "0200000", reply
    assert await _count(api, data_result, data_id) == 1


async def test_a_lost_write_that_did_not_commit_is_0200999_and_a_resend_writes_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_id = await _setup(api)
    _without_fast_path(api, monkeypatch)
    real = store.record

    async def record_then_lose(conn: AsyncConnection, wb: Any) -> None:
        await real(conn, wb)
        raise StorageError("database operation failed", result_code="0200999", uncertain=True)

    monkeypatch.setattr(store, "record", record_then_lose)  # rolled back: never committed
    async with api.client() as client:
        reply = await client.write_back(data_id, {"busiResult": "LATER"})
        assert reply["resultCode"] == "0200999", reply
        assert await _count(api, data_result, data_id) == 0
        monkeypatch.setattr(store, "record", real)
        assert (await client.write_back(data_id, {"busiResult": "LATER"}))["resultCode"] == (
            "0200000"
        )
        assert (await client.write_back(data_id, {"busiResult": "LATER"}))["resultCode"] == (
            "0200000"
        )
    assert await _count(api, data_result, data_id) == 1


async def test_when_the_database_stays_away_the_answer_says_unknown(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_id, _ = await _lose_the_answer(api, monkeypatch)
    monkeypatch.setattr(service, "FATE_DELAYS_S", (0.0, 0.0))

    async def unreachable(*_: Any) -> bool:
        raise StorageError("database operation failed", result_code="0200999", uncertain=True)

    monkeypatch.setattr(store, "landed", unreachable)
    async with api.client() as client:
        reply = await client.write_back(data_id, {"busiResult": "LATER"})
    assert reply["resultCode"] == "0200998", reply
    assert "may or may not" in reply["resultDesc"]


async def test_a_refused_statement_is_not_looked_up(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL (or SQLite) refusing the write is certain: 0200999 at once."""
    data_id = await _setup(api)
    looked = spy_look_up(monkeypatch, store, "landed")
    async with history_table_missing(api), api.client() as client:
        reply = await client.write_back(data_id, {"busiResult": "LATER"})
    assert reply["resultCode"] == "0200999"
    assert looked == []


async def test_a_batched_write_whose_flush_was_cancelled_is_looked_up(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    if api.ctx.writeback_fast is None:
        pytest.skip("the batched write-back runs on PostgreSQL")
    data_id = await _setup(api)
    fast = api.ctx.writeback_fast
    real = writeback_fast.FastPath.write

    async def write_then_cancel(self: Any, write: Any) -> bool:
        assert await real(self, write) is True  # committed...
        raise FlushCancelled("the flush was cancelled")  # ...but the answer never came

    monkeypatch.setattr(writeback_fast.FastPath, "write", write_then_cancel)
    async with api.client() as client:
        reply = await client.write_back(data_id, {"busiResult": "LATER"})
    assert reply["resultCode"] == "0200000", reply
    assert await _count(api, data_result, data_id) == 1
    assert fast is api.ctx.writeback_fast


async def test_uncertain_errors_are_told_apart_from_refusals() -> None:
    import asyncpg  # type: ignore[import-untyped]

    assert sql.uncertain(ConnectionResetError())
    assert sql.uncertain(TimeoutError())
    assert sql.uncertain(asyncpg.ConnectionDoesNotExistError("gone"))
    admin_shutdown = asyncpg.AdminShutdownError("terminating connection")
    assert sql.uncertain(admin_shutdown)
    assert not sql.uncertain(asyncpg.UndefinedTableError("no table"))
    assert not sql.uncertain(asyncpg.QueryCanceledError("statement timeout"))
    assert not sql.uncertain(ValueError())
