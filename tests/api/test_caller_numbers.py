"""A campaign's calling numbers: POST and DELETE ``…/callerNo/{campaignId}`` (spec 2.1).

Huawei (cec_07_0735 add, cec_07_0736 delete): at most 100 numbers a call,
``accessCode`` at most 24 digits, ``priority`` 1–5 (add), unique in a call, at
least one number left; codes ``0200001``, ``0200007`` and ``02000001``–``02000011``.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from openisales.domain.dialing import decode_caller
from openisales.store.tables import campaign
from tests.conftest import Api
from tests.helpers import campaign_body, make_campaign

V1 = "/rest/isales/v1/openapi/campaigns/1"


async def _stored(api: Api, cid: int) -> str:
    async with api.ctx.engine.connect() as conn:
        query = sa.select(campaign.c.caller_no).where(
            campaign.c.vdn_id == 1, campaign.c.campaign_id == cid
        )
        return str((await conn.execute(query)).scalar_one())


async def test_added_numbers_are_listed_and_dialled_by_priority(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)  # 88889527, priority 3
        reply = await client.add_caller_numbers(
            cid,
            [{"accessCode": "88880066", "priority": 4}, {"accessCode": "88880001", "priority": 1}],
        )
        assert reply["resultCode"] == "0200000", reply
        assert reply["returnCode"] == "0200000"
        detail = await client.campaign_detail(cid)
    assert detail["returnObject"]["callerNo"] == [
        {"accessCode": "88889527", "priority": 3},
        {"accessCode": "88880066", "priority": 4},
        {"accessCode": "88880001", "priority": 1},
    ]
    # the format the dialer reads: the number of the lowest priority is the one dialled
    assert decode_caller(await _stored(api, cid)) == "88880001"


async def test_deleted_numbers_are_gone_and_the_dialer_takes_the_next(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(
            client,
            callerNo=[
                {"accessCode": "1001", "priority": 1},
                {"accessCode": "1002", "priority": 2},
                {"accessCode": "1003", "priority": 5},
            ],
        )
        reply = await client.delete_caller_numbers(cid, ["1001", "1003"])
        assert reply["resultCode"] == "0200000", reply
        detail = await client.campaign_detail(cid)
    assert detail["returnObject"]["callerNo"] == [{"accessCode": "1002", "priority": 2}]
    assert decode_caller(await _stored(api, cid)) == "1002"


async def test_a_v1_campaign_shows_the_number_it_dials(api: Api) -> None:
    body = campaign_body(callerNo="88889527")
    del body["retryPolicy"]
    async with api.client() as client:
        created = await client.create_campaign(body, version=1)
        assert created["resultCode"] == "0200000", created
        cid = int(created["returnObject"]["id"])
        added = await client.add_caller_numbers(cid, [{"accessCode": "7001", "priority": 2}])
        assert added["resultCode"] == "0200000", added
        assert (await client.campaign_detail(cid))["returnObject"]["callerNo"] == "7001"
        deleted = await client.delete_caller_numbers(cid, ["7001"])
        assert deleted["resultCode"] == "0200000", deleted
        assert (await client.campaign_detail(cid))["returnObject"]["callerNo"] == "88889527"


def _numbers(n: int) -> list[dict[str, Any]]:
    return [{"accessCode": str(10_000 + i), "priority": 1} for i in range(n)]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "02000001", "callerNo"),
        ({"callerNo": []}, "02000001", "callerNo"),
        ({"callerNo": "1001"}, "02000006", "callerNo"),
        ({"callerNo": _numbers(101)}, "02000011", "callerNo"),
        ({"callerNo": [None]}, "02000001", "callerNo[0]"),
        ({"callerNo": [{"priority": 1}]}, "02000001", "callerNo[0].accessCode"),
        (
            {"callerNo": [{"accessCode": "12*3", "priority": 1}]},
            "02000002",
            "callerNo[0].accessCode",
        ),
        (
            {"callerNo": [{"accessCode": "1" * 25, "priority": 1}]},
            "02000003",
            "callerNo[0].accessCode",
        ),
        ({"callerNo": [{"accessCode": 1001, "priority": 1}]}, "02000006", "callerNo[0].accessCode"),
        ({"callerNo": [{"accessCode": "1001"}]}, "02000001", "callerNo[0].priority"),
        ({"callerNo": [{"accessCode": "1001", "priority": 0}]}, "02000007", "callerNo[0].priority"),
        ({"callerNo": [{"accessCode": "1001", "priority": 6}]}, "02000007", "callerNo[0].priority"),
        (
            {"callerNo": [{"accessCode": "1001", "priority": "1"}]},
            "02000006",
            "callerNo[0].priority",
        ),
        (
            {
                "callerNo": [
                    {"accessCode": "1001", "priority": 1},
                    {"accessCode": "1001", "priority": 2},
                ]
            },
            "02000009",
            "callerNo[1].accessCode",
        ),
        (
            {
                "callerNo": [
                    {"accessCode": "1001", "priority": 1},
                    {"accessCode": "88889527", "priority": 2},
                ]
            },
            "0200001",
            "callerNo",
        ),
    ],
)
async def test_a_bad_add_gets_its_code_and_changes_nothing(
    api: Api, body: dict[str, Any], code: str, field: str
) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        before = await _stored(api, cid)
        reply = await client.request("POST", f"{V1}/callerNo/{cid}", body)
    assert reply.status_code == 200
    answer = reply.json()
    assert (answer["resultCode"], answer["resultDesc"].split(":")[0]) == (code, field), answer
    assert await _stored(api, cid) == before


async def test_the_total_is_limited_by_a_setting(api: Api) -> None:
    api.ctx.settings = api.ctx.settings.evolve(max_caller_nos_per_campaign=3)
    async with api.client() as client:
        cid = await make_campaign(client)
        ok = await client.add_caller_numbers(cid, _numbers(2))
        before = await _stored(api, cid)
        over = await client.add_caller_numbers(cid, [{"accessCode": "9", "priority": 1}])
    assert ok["resultCode"] == "0200000", ok
    assert over["resultCode"] == "0200001"
    assert "the maximum is 3" in over["resultDesc"]
    assert await _stored(api, cid) == before


async def test_a_hundred_numbers_in_one_call_are_accepted(api: Api) -> None:
    api.ctx.settings = api.ctx.settings.evolve(max_caller_nos_per_campaign=101)
    async with api.client() as client:
        cid = await make_campaign(client)
        added = await client.add_caller_numbers(cid, _numbers(100))
        deleted = await client.delete_caller_numbers(cid, [str(10_000 + i) for i in range(100)])
        detail = await client.campaign_detail(cid)
    assert added["resultCode"] == "0200000", added
    assert deleted["resultCode"] == "0200000", deleted
    assert detail["returnObject"]["callerNo"] == [{"accessCode": "88889527", "priority": 3}]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "02000001", "callerNo"),
        ({"callerNo": []}, "02000001", "callerNo"),
        ({"callerNo": [{"accessCode": str(i)} for i in range(101)]}, "02000011", "callerNo"),
        ({"callerNo": [{}]}, "02000001", "callerNo[0].accessCode"),
        ({"callerNo": [{"accessCode": "12a"}]}, "02000002", "callerNo[0].accessCode"),
        ({"callerNo": [{"accessCode": "1" * 25}]}, "02000003", "callerNo[0].accessCode"),
        (
            {"callerNo": [{"accessCode": "1001"}, {"accessCode": "1001"}]},
            "02000009",
            "callerNo[1].accessCode",
        ),
        ({"callerNo": [{"accessCode": "1001"}, {"accessCode": "4444"}]}, "0200001", "callerNo"),
        (
            {"callerNo": [{"accessCode": "1001"}, {"accessCode": "1002"}]},
            "0200001",
            "callerNo",
        ),
    ],
)
async def test_a_bad_delete_gets_its_code_and_changes_nothing(
    api: Api, body: dict[str, Any], code: str, field: str
) -> None:
    callers = [{"accessCode": "1001", "priority": 1}, {"accessCode": "1002", "priority": 2}]
    async with api.client() as client:
        cid = await make_campaign(client, callerNo=callers)
        before = await _stored(api, cid)
        reply = await client.request("DELETE", f"{V1}/callerNo/{cid}", body)
    assert reply.status_code == 200
    answer = reply.json()
    assert (answer["resultCode"], answer["resultDesc"].split(":")[0]) == (code, field), answer
    assert await _stored(api, cid) == before


async def test_the_last_number_cannot_be_deleted(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        reply = await client.delete_caller_numbers(cid, ["88889527"])
    assert reply["resultCode"] == "0200001"
    assert "at least one" in reply["resultDesc"]


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_the_campaign_must_exist_in_this_vdn(api: Api, method: str) -> None:
    body = {"callerNo": [{"accessCode": "88889527", "priority": 1}]}
    async with api.client(1) as one, api.client(2) as two:
        cid = await make_campaign(one)
        before = await _stored(api, cid)
        other_vdn = await two.request(
            method, f"/rest/isales/v1/openapi/campaigns/2/callerNo/{cid}", body
        )
        missing = await one.request(method, f"{V1}/callerNo/{cid + 100}", body)
        bad_id = await one.request(method, f"{V1}/callerNo/abc", body)
    assert other_vdn.json()["resultCode"] == "0200007"
    assert missing.json()["resultCode"] == "0200007"
    assert bad_id.json()["resultCode"] == "02000006"
    assert await _stored(api, cid) == before


async def test_both_operations_are_described_in_openapi(api: Api) -> None:
    async with api.client() as client:
        document = (await client.http.get("/openapi.json")).json()
    item = document["paths"]["/rest/isales/v1/openapi/campaigns/{vdnId}/callerNo/{campaignId}"]
    assert set(item) == {"post", "delete"}
    schema = item["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["callerNo"]["maxItems"] == 100
    assert "priority" in schema["properties"]["callerNo"]["items"]["required"]
