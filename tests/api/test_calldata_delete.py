"""Deleting call data by filters (spec 2.3), through the signed client; the pure filter rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from openisales.client import AsyncClient
from openisales.domain.calldata_delete import DELETE_SPEC, DeletePlan, plan_delete, recycle_range
from openisales.errors import OpenISalesError
from openisales.store.tables import campaign, data, data_history
from tests.conftest import Api
from tests.helpers import make_campaign

T = datetime(2030, 1, 2, 9, 0, 0, tzinfo=UTC)


def _plan(body: dict[str, Any]) -> DeletePlan:
    return plan_delete(DELETE_SPEC.check(body, ""))


def test_recycle_types_select_ranges() -> None:
    day, next_day = datetime(2030, 1, 2, tzinfo=UTC), datetime(2030, 1, 3, tzinfo=UTC)
    assert recycle_range(T, 1) == (None, next_day)
    assert recycle_range(T, 2) == (day, next_day)
    assert recycle_range(T, 3) == (T, T + timedelta(seconds=1))


def test_plan_keeps_filters_and_archive() -> None:
    plan = _plan(
        {
            "sessionId": "s",
            "called": "1*#",
            "customField": "b",
            "recycleTime": "2030-01-02 09:00:00",
            "recycleType": 3,
            "archiveHistory": 1,
        }
    )
    assert plan == DeletePlan("s", "1*#", "b", T, T + timedelta(seconds=1), archive=True)
    assert _plan({"customField": "b"}).archive is False


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "02000001"),
        ({"archiveHistory": 1}, "02000001"),
        ({"sessionId": ""}, "02000001"),
        ({"recycleTime": "2030-01-02 09:00:00"}, "02000009"),
        ({"customField": "b", "recycleType": 1}, "02000009"),
        ({"recycleTime": "2030-01-02", "recycleType": 1}, "0200030"),
        ({"recycleTime": "2030-02-30 00:00:00", "recycleType": 1}, "0200030"),
        ({"customField": "b", "recycleType": 4}, "02000007"),
        ({"customField": "b", "archiveHistory": 2}, "02000007"),
        ({"called": "12a"}, "02000002"),
        ({"sessionId": "s" * 33}, "02000003"),
    ],
)
def test_bad_bodies(body: dict[str, Any], code: str) -> None:
    with pytest.raises(OpenISalesError) as err:
        _plan(body)
    assert err.value.result_code == code


async def _paused(client: AsyncClient, records: list[dict[str, Any]], version: int = 1) -> int:
    cid = await make_campaign(client)
    reply = await client.add_call_data(cid, records, version=version)
    assert reply["resultCode"] == "0200000", reply
    assert (await client.pause_campaign(cid))["resultCode"] == "0200000"
    return cid


async def _left(api: Api, cid: int) -> list[str | None]:
    """Session ids of the campaign's remaining records."""
    async with api.ctx.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(data.c.session_id).where(data.c.campaign_id == cid).order_by(data.c.data_id)
        )
        return [r.session_id for r in rows]


async def _delete(client: AsyncClient, cid: int, **filters: Any) -> int:
    reply = await client.delete_call_data(cid, filters)
    assert reply["resultCode"] == reply["returnCode"] == "0200000", reply
    assert reply["resultDesc"] == "delete success"
    return int(reply["returnObject"]["deleteCount"])


async def test_delete_by_batch_and_session(api: Api) -> None:
    async with api.client() as client:
        cid = await _paused(
            client,
            [
                {"called": "1", "sessionId": "a", "customField": "A"},
                {"called": "2", "sessionId": "b", "customField": "A"},
                {"called": "3", "sessionId": "c", "customField": "B"},
                {"called": "4", "sessionId": "d", "customField": "B"},
            ],
        )
        assert await _delete(client, cid, customField="A") == 2
        assert await _delete(client, cid, customField="B", sessionId="zz") == 0
        assert await _delete(client, cid, customField="B", sessionId="d") == 1
    assert await _left(api, cid) == ["c"]


async def test_delete_by_number_matches_any_number_of_a_record(api: Api) -> None:
    records = [
        {"sessionId": "a", "called": [{"calledNo": "111"}, {"calledNo": "222"}]},
        {"sessionId": "b", "called": [{"calledNo": "2222"}]},
        {"sessionId": "c", "called": [{"calledNo": "*22#"}]},
    ]
    async with api.client() as client:
        cid = await _paused(client, records, version=2)
        assert await _delete(client, cid, called="222") == 1
        assert await _delete(client, cid, called="*22#") == 1
    assert await _left(api, cid) == ["b"]


async def test_delete_by_recycle_time(api: Api) -> None:
    times = ["2030-01-01 10:00:00", "2030-01-02 09:00:00", "2030-01-02 18:00:00"]
    records = [
        {"called": str(i), "sessionId": str(i), "recycleTime": t} for i, t in enumerate(times)
    ]
    records.append({"called": "9", "sessionId": "none"})
    async with api.client() as client:
        cid = await _paused(client, records)
        assert await _delete(client, cid, recycleTime="2030-01-02 09:00:01", recycleType=3) == 0
        assert await _delete(client, cid, recycleTime="2030-01-02 18:00:00", recycleType=3) == 1
        assert await _delete(client, cid, recycleTime="2030-01-01 23:59:59", recycleType=2) == 1
        assert await _left(api, cid) == ["1", "none"]
        await client.add_call_data(
            cid, [{"called": "5", "sessionId": "5", "recycleTime": times[0]}]
        )
        assert await _delete(client, cid, recycleTime="2030-01-02 00:00:00", recycleType=1) == 2
    assert await _left(api, cid) == ["none"]  # a record without recycleTime never matches


async def test_records_being_called_or_done_are_skipped(api: Api) -> None:
    async with api.client() as client:
        cid = await _paused(
            client, [{"called": str(i), "sessionId": str(i), "customField": "A"} for i in range(4)]
        )
        async with api.ctx.engine.begin() as conn:
            for status in (1, 2, 3):
                await conn.execute(
                    sa.update(data).where(data.c.session_id == str(status)).values(status=status)
                )
        assert await _delete(client, cid, customField="A") == 1
    assert await _left(api, cid) == ["1", "2", "3"]


async def test_archive_moves_records_to_history(api: Api) -> None:
    async with api.client() as client:
        cid = await _paused(
            client,
            [
                {
                    "called": "1",
                    "sessionId": "a",
                    "callData": "x",
                    "recycleTime": "2030-01-02 09:00:00",
                },
                {"called": "2", "sessionId": "b"},
            ],
        )
        assert await _delete(client, cid, sessionId="a", archiveHistory=1) == 1
    assert await _left(api, cid) == ["b"]
    async with api.ctx.engine.connect() as conn:
        (row,) = (await conn.execute(sa.select(data_history))).all()
    payload = json.loads(row.payload)
    assert (row.vdn_id, row.campaign_id, row.data_id) == (1, cid, payload["data_id"])
    assert (payload["session_id"], payload["call_data"], payload["status"]) == ("a", "x", 0)
    assert json.loads(payload["called_nos"]) == [{"calledNo": "1", "type": ""}]
    assert datetime.fromisoformat(payload["recycle_time"]) == T
    assert row.archived_at is not None


async def test_refused_while_running_or_when_missing(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        await client.add_call_data(cid, [{"called": "1", "customField": "A"}])
        running = await client.delete_call_data(cid, {"customField": "A"})
        missing = await client.delete_call_data(cid + 100, {"customField": "A"})
        no_filter = await client.delete_call_data(cid, {"archiveHistory": 1})
        bad_id = await client.delete_call_data("x", {"customField": "A"})  # type: ignore[arg-type]
    async with api.client(2) as other:
        foreign = await other.delete_call_data(cid, {"customField": "A"})
    assert running["resultCode"] == "0200011", running
    assert missing["resultCode"] == foreign["resultCode"] == "0200007"
    assert no_filter["resultCode"] == "02000001"
    assert bad_id["resultCode"] == "02000006"
    assert await _left(api, cid) == [None]


async def test_an_expired_campaign_allows_deleting(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        await client.add_call_data(cid, [{"called": "1", "customField": "A"}])
        async with api.ctx.engine.begin() as conn:
            await conn.execute(
                sa.update(campaign)
                .where(campaign.c.campaign_id == cid)
                .values(end_time=datetime.now(UTC) - timedelta(seconds=1))
            )
        assert await _delete(client, cid, customField="A") == 1
    assert await _left(api, cid) == []
