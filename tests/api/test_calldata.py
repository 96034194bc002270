"""Adding and querying outbound call data through the signed client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from openisales.store.tables import campaign, data
from tests.conftest import Api
from tests.helpers import make_campaign


async def _count(api: Api) -> int:
    async with api.ctx.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(data))).scalar_one())


async def test_add_v1_returns_string_data_ids_and_total_size(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        reply = await client.add_call_data(
            cid,
            [
                {
                    "called": "88880399",
                    "sessionId": "c-1",
                    "customField": "batch-7",
                    "callData": '{"name": "Li"}',
                    "recycleTime": "2030-01-01 10:00:00",
                    "caller": "8888",
                },
                {"called": "88880400"},
            ],
        )
        assert reply["resultCode"] == "0200000" and reply["resultDesc"] == "create data succeeded"
        obj = reply["returnObject"]
        assert obj["totalSize"] == 2
        assert [d["called"] for d in obj["dataIdList"]] == ["88880399", "88880400"]
        assert all(
            isinstance(d["dataId"], str) and d["dataId"].isdigit() for d in obj["dataIdList"]
        )
        assert int(obj["dataIdList"][0]["dataId"]) > 2**48  # 64-bit: VDN in the high bits
        detail = await client.query_call_data(cid, obj["dataIdList"][0]["dataId"])
        more = await client.add_call_data(cid, [{"called": "1"}])
        assert more["returnObject"]["totalSize"] == 3
    props = {p["propCode"]: p["propValue"] for p in detail["data"]["properties"]}
    assert props == {
        "sessionId": "c-1",
        "customField": "batch-7",
        "callData": '{"name": "Li"}',
        "caller": "8888",
        "recycleTime": "2030-01-01 10:00:00",
    }
    assert detail["data"]["calledNos"] == [{"calledNo": "88880399", "type": ""}]
    assert detail["data"]["dataId"] == obj["dataIdList"][0]["dataId"]


async def test_add_v2_with_typed_numbers(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        reply = await client.add_call_data(
            cid,
            [
                {
                    "sessionId": "s1",
                    "called": [
                        {"calledNo": "111", "type": "SI"},
                        {"calledNo": "222", "type": "HOME"},
                    ],
                },
            ],
            version=2,
        )
        assert reply["resultCode"] == "0200000", reply
        data_id = reply["returnObject"]["dataIdList"][0]["dataId"]
        detail = await client.query_call_data(cid, data_id)
    assert detail["data"]["calledNos"] == [
        {"calledNo": "111", "type": "SI"},
        {"calledNo": "222", "type": "HOME"},
    ]


@pytest.mark.parametrize(
    ("version", "records", "code", "text"),
    [
        (1, [], "02000001", "callDataList"),
        (1, [{"called": str(i)} for i in range(21)], "0200029", "callDataList"),
        (2, [{"called": [{"calledNo": str(i)}]} for i in range(21)], "0200029", "callDataList"),
        (1, [{"called": ""}], "02000001", "callDataList[0].called"),
        (1, [{"called": "12-34"}], "02000002", "callDataList[0].called"),
        (1, [{"called": "1" * 25}], "02000003", "callDataList[0].called"),
        (1, [{"called": 123}], "02000006", "callDataList[0].called"),
        (1, [{"called": "1", "sessionId": "s" * 33}], "02000003", "callDataList[0].sessionId"),
        (1, [{"called": "1", "customField": "c" * 201}], "02000003", "callDataList[0].customField"),
        (1, [{"called": "1", "callData": "d" * 1025}], "02000003", "callDataList[0].callData"),
        (
            1,
            [{"called": "1", "recycleTime": "2030-01-01"}],
            "0200030",
            "callDataList[0].recycleTime",
        ),
        (1, [{"called": "1", "recycleTime": "2030-02-30 10:00:00"}], "0200030", "recycleTime"),
        (1, [{"called": "1"}, {"called": "2"}, {"called": "1"}], "0200018", "duplicate number 1"),
        (
            2,
            [{"called": [{"calledNo": "1"}, {"calledNo": "1"}]}],
            "0200018",
            "callDataList[0].called",
        ),
        (
            2,
            [
                {"sessionId": "a", "called": [{"calledNo": "1"}]},
                {"sessionId": "a", "called": [{"calledNo": "1"}]},
            ],
            "0200018",
            "sessionId a",
        ),
        (2, [{"called": "123"}], "02000006", "callDataList[0].called"),
        (2, [{"called": [{"calledNo": "1"}], "customField": "a;b"}], "02000002", "customField"),
    ],
)
async def test_bad_records_get_their_code_and_nothing_is_added(
    api: Api, version, records, code, text
) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        reply = await client.add_call_data(cid, records, version=version)
    assert reply["resultCode"] == code, reply
    assert text in reply["resultDesc"]
    assert await _count(api) == 0


async def test_v2_same_number_in_different_sessions_is_allowed(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        reply = await client.add_call_data(
            cid,
            [
                {"sessionId": "a", "called": [{"calledNo": "1"}]},
                {"sessionId": "b", "called": [{"calledNo": "1"}]},
            ],
            version=2,
        )
    assert reply["resultCode"] == "0200000"


async def test_v2_batch_limit_is_configurable(api: Api) -> None:
    api.ctx.settings = api.ctx.settings.evolve(calldata_max_per_request=50)
    async with api.client() as client:
        cid = await make_campaign(client)
        ok = await client.add_call_data(
            cid, [{"called": [{"calledNo": str(i)}]} for i in range(50)], version=2
        )
        too_many = await client.add_call_data(
            cid, [{"called": [{"calledNo": str(i)}]} for i in range(51)], version=2
        )
    assert ok["resultCode"] == "0200000" and ok["returnObject"]["totalSize"] == 50
    assert too_many["resultCode"] == "0200029"


async def test_unfinished_limit_per_campaign(api: Api) -> None:
    api.ctx.settings = api.ctx.settings.evolve(max_unfinished_per_campaign=3)
    async with api.client() as client:
        cid = await make_campaign(client)
        assert (await client.add_call_data(cid, [{"called": "1"}, {"called": "2"}]))[
            "resultCode"
        ] == "0200000"
        reply = await client.add_call_data(cid, [{"called": "3"}, {"called": "4"}])
        assert reply["resultCode"] == "0200020"
        assert (await client.add_call_data(cid, [{"called": "3"}]))["resultCode"] == "0200000"
    assert await _count(api) == 3


async def test_campaign_must_exist_in_this_vdn(api: Api) -> None:
    async with api.client(1) as one, api.client(2) as two:
        cid = await make_campaign(one)
        assert (await two.add_call_data(cid, [{"called": "1"}]))["resultCode"] == "0200007"
        assert (await one.add_call_data(cid + 100, [{"called": "1"}]))["resultCode"] == "0200007"
        bad = await one.request(
            "POST",
            "/rest/isales/v1/openapi/campaigns/1/calldata/abc",
            {"callDataList": [{"called": "1"}]},
        )
        assert bad.json()["resultCode"] == "02000006"
    assert await _count(api) == 0


async def test_an_ended_campaign_refuses_data(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        async with api.ctx.engine.begin() as conn:
            await conn.execute(
                sa.update(campaign)
                .where(campaign.c.campaign_id == cid)
                .values(end_time=datetime.now(UTC) - timedelta(seconds=1))
            )
        reply = await client.add_call_data(cid, [{"called": "1"}])
    assert reply["resultCode"] == "0200019"


async def test_query_one_record_errors(api: Api) -> None:
    async with api.client(1) as one, api.client(2) as two:
        cid = await make_campaign(one)
        other = await make_campaign(one, "Other")
        reply = await one.add_call_data(cid, [{"called": "1"}])
        data_id = reply["returnObject"]["dataIdList"][0]["dataId"]
        assert (await one.query_call_data(other, data_id))["resultCode"] == "0200033"
        assert (await one.query_call_data(cid + 100, data_id))["resultCode"] == "0200007"
        assert (await two.query_call_data(cid, data_id))["resultCode"] == "0200007"
        assert (await one.query_call_data(cid, "x"))["resultCode"] == "02000006"


async def test_v2_batch_id_is_stored_and_is_the_batch_of_records_without_custom_field(
    api: Api,
) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        reply = await client.add_call_data(
            cid,
            [
                {"called": [{"calledNo": "111"}]},
                {"called": [{"calledNo": "222"}], "customField": "own"},
            ],
            version=2,
            batch_id="1700000000001",
        )
        assert reply["resultCode"] == "0200000", reply
        first, second = (d["dataId"] for d in reply["returnObject"]["dataIdList"])
        plain = await client.add_call_data(cid, [{"called": [{"calledNo": "333"}]}], version=2)
        assert plain["resultCode"] == "0200000", plain
        third = plain["returnObject"]["dataIdList"][0]["dataId"]
        details = [await client.query_call_data(cid, d) for d in (first, second, third)]
        stats = await client.statistics(cid, batch_id="1700000000001")
    props = [{p["propCode"]: p["propValue"] for p in d["data"]["properties"]} for d in details]
    assert props[0] == {"customField": "1700000000001", "batchId": "1700000000001"}
    assert props[1] == {"customField": "own", "batchId": "1700000000001"}
    assert props[2] == {}
    (count,) = stats["countDetail"]
    assert count["totalCount"] == 3
    assert [(b["batchId"], b["totalCount"]) for b in count["batchDetail"]] == [("1700000000001", 1)]


@pytest.mark.parametrize(
    ("batch_id", "code"),
    [("b" * 201, "02000003"), ("a;b", "02000002"), (17, "02000006")],
)
async def test_a_bad_batch_id_is_refused_and_nothing_is_added(
    api: Api, batch_id: object, code: str
) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        reply = await client.request(
            "POST",
            f"/rest/isales/v2/openapi/campaigns/1/calldata/{cid}",
            {"callDataList": [{"called": [{"calledNo": "1"}]}], "batchId": batch_id},
        )
    assert reply.json()["resultCode"] == code
    assert reply.json()["resultDesc"].startswith("batchId:")
    assert await _count(api) == 0
