"""Campaign APIs through the signed client, with a fixed clock shared by client and server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from openisales.client import AsyncClient, C2Auth
from openisales.clock import FixedClock
from openisales.store.tables import campaign, data, data_result
from tests.conftest import Api

NOW = datetime(2030, 1, 15, 10, 0, tzinfo=UTC)  # server and signatures both use this clock
V1 = "/rest/isales/v1/openapi/campaigns"


def fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def body(name: str = "Spring", *, v1: bool = False, **changes: Any) -> dict[str, Any]:
    """A valid create body (v2 unless ``v1``); ``changes`` replace fields, None removes one."""
    out: dict[str, Any] = {
        "name": name,
        "description": "first wave",
        "strBeginTime": "2030-01-16 00:00:00",
        "strEndTime": "2030-02-15 23:59:59",
        "deviceType": 2,
        "callerNo": "88889527" if v1 else [{"accessCode": "88889527", "priority": 3}],
        "maxAlertingTime": 20,
        "scheduleParam": {"workdayBeginTime1": "08:00", "workdayEndTime1": "20:00"},
        "skillParam": {"skillId": 2, "skillName": "defaultAudioSkill", "outBoundType": 2},
    }
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


@pytest.fixture
def clock(api: Api) -> FixedClock:
    fixed = FixedClock(NOW)
    api.ctx.clock = fixed
    return fixed


@pytest.fixture
def signed(api: Api, clock: FixedClock) -> Callable[..., AsyncClient]:
    """A client for a VDN whose signatures use the fixed clock (one second per request)."""

    def tick() -> datetime:
        clock.advance(1)
        return clock.now()

    def make(vdn_id: int = 1) -> AsyncClient:
        client = api.client(vdn_id)
        tenant = api.tenants[vdn_id]
        client.http.auth = C2Auth(tenant.ak, tenant.sk, now=tick)
        return client

    return make


async def create(client: AsyncClient, name: str = "Spring", **changes: Any) -> int:
    reply = await client.create_campaign(body(name, **changes))
    assert reply["resultCode"] == "0200000", reply
    return int(reply["returnObject"]["id"])


async def names(client: AsyncClient, **params: Any) -> list[str]:
    reply = await client.list_campaigns(**params)
    assert reply["resultCode"] == "0200000", reply
    return [c["name"] for c in reply["data"]]


async def test_create_v2_answers_the_documented_envelope_and_detail_shows_it_all(
    api: Api, signed
) -> None:
    policy = {"callType": 1, "chooseType": 0, "turns": [{"turnType": "SI"}]}
    async with signed() as client:
        response = await client.request(
            "POST",
            f"{V1.replace('v1', 'v2')}/1",
            body(
                callPolicy=policy,
                priority=4,
                initStatus=0,
                callBackUrl="https://10.10.10.10/push",
                callerNo=[{"accessCode": "88889527", "priority": 3}, {"accessCode": "8888*#"}],
            ),
        )
        assert response.status_code == 200
        assert response.json() == {
            "resultCode": "0200000",
            "resultDesc": "",
            "returnCode": "0200000",
            "returnDesc": "",
            "returnObject": {"id": 1},
        }
        detail = await client.campaign_detail(1)
    assert detail["resultCode"] == "0200000"
    schedule = dict.fromkeys(
        [
            f"{d}{e}Time{i}"
            for d in ("workday", "holiday")
            for i in (1, 2, 3)
            for e in ("Begin", "End")
        ],
        "",
    ) | {"workdayBeginTime1": "08:00", "workdayEndTime1": "20:00"}
    assert detail["returnObject"] == {
        "campaignId": 1,
        "name": "Spring",
        "description": "first wave",
        "status": 2,
        "strBeginTime": "2030-01-16 00:00:00",
        "strEndTime": "2030-02-15 23:59:59",
        "deviceType": 2,
        "callerNo": [{"accessCode": "88889527", "priority": 3}, {"accessCode": "8888*#"}],
        "maxAlertingTime": 20,
        "scheduleParam": schedule,
        "skillParam": {"skillId": 2, "skillName": "defaultAudioSkill", "outBoundType": 2},
        "ivrParam": None,
        "callPolicy": policy,
        "initStatus": 0,
        "callBackUrl": "https://10.10.10.10/push",
        "priority": 4,
    }


async def test_v1_create_keeps_callerno_a_string_and_ivr_campaigns_need_ivr_param(
    api: Api, signed
) -> None:
    async with signed() as client:
        reply = await client.create_campaign(
            body("IVR", v1=True, deviceType=1, skillParam=None, ivrParam={"flowId": 7}), version=1
        )
        assert reply["resultCode"] == "0200000", reply
        detail = (await client.campaign_detail(reply["returnObject"]["id"]))["returnObject"]
    assert detail["callerNo"] == "88889527"
    assert detail["ivrParam"] == {"flowId": 7} and detail["skillParam"] is None
    assert detail["deviceType"] == 1 and detail["callPolicy"] is None


async def test_ids_count_per_vdn_and_init_status_3_creates_a_paused_campaign(
    api: Api, signed
) -> None:
    async with signed(1) as one, signed(2) as two:
        assert await create(one, "A") == 1
        assert await create(one, "B", initStatus=3) == 2
        assert await create(two, "A") == 1  # same name and id in another VDN
        assert (await one.campaign_detail(2))["returnObject"]["status"] == 3
        assert (await one.campaign_detail(2))["returnObject"]["initStatus"] == 3
        assert (await two.campaign_detail(1))["returnObject"]["name"] == "A"


async def test_the_documentation_example_body_is_accepted(api: Api, signed, clock) -> None:
    example = {
        "name": "test0827shwocase1",
        "strBeginTime": "2030-01-15 00:00:00",  # today 00:00 is allowed
        "strEndTime": "2030-01-16 23:59:59",
        "deviceType": 2,
        "callerNo": [
            {"accessCode": "88889527", "priority": 3},
            {"accessCode": "88880066", "priority": 4},
        ],
        "maxAlertingTime": 20,
        "priority": 4,
        "scheduleParam": {"workdayBeginTime1": "00:00", "workdayEndTime1": "23:59"},
        "skillParam": {
            "skillId": 2,
            "skillName": "defaultAudioSkill",
            "outBoundType": 2,
            "predictParam": {
                "predictMethod": 1,
                "expPredictParam": {
                    "maxAvgCallTime": 100,
                    "minAvgCallTime": 50,
                    "outBoundRate": 50,
                },
            },
        },
        "retryPolicy": {
            "policyType": 1,
            "policyJson": "[{'dataType':'SI','type':1,'policy':[{'result':4,'retryNumber':3,"
            "'callInterval':600}]}]",
        },
        "callPolicy": {"callType": 1, "chooseType": 0, "turns": [{"turnType": "SI"}]},
        "initStatus": 0,
        "callBackUrl": "https://10.10.10.10/xxx/xxx/xxx",
    }
    async with signed() as client:
        reply = await client.create_campaign(example)
        assert reply["resultCode"] == "0200000", reply
        policy = (await client.query_retry_policy(reply["returnObject"]["id"]))["data"]
    assert policy["policyType"] == 1
    assert policy["policyJson"] == (
        '[{"type":1,"policy":[{"result":4,"retryNumber":3,"callInterval":600}],"dataType":"SI"}]'
    )
    assert policy["noRetryPolicy"] == [] and policy["busiPolicy"] == "[]"


BAD_BODIES = [
    ({"name": None}, "02000001", "name"),
    ({"name": "n" * 101}, "02000003", "name"),
    ({"name": 7}, "02000006", "name"),
    ({"description": "a;b"}, "02000002", "description"),
    ({"description": "d" * 201}, "02000003", "description"),
    ({"strBeginTime": None}, "02000001", "strBeginTime"),
    ({"strBeginTime": "2030/01/16 00:00:00"}, "02000002", "strBeginTime"),
    ({"strBeginTime": "2030-02-30 00:00:00"}, "02000002", "strBeginTime"),
    ({"strBeginTime": "2030-01-16T00:00:00"}, "02000002", "strBeginTime"),
    ({"strEndTime": "2030-01-16 24:00:00"}, "02000002", "strEndTime"),
    ({"strEndTime": "2030-01-16 00:00:00"}, "02000009", "strEndTime"),
    ({"strEndTime": "2030-01-15 23:59:59"}, "02000009", "strEndTime"),
    ({"deviceType": None}, "02000001", "deviceType"),
    ({"deviceType": 4}, "02000007", "deviceType"),
    ({"deviceType": "2"}, "02000006", "deviceType"),
    ({"maxAlertingTime": None}, "02000001", "maxAlertingTime"),
    ({"maxAlertingTime": 4}, "02000007", "maxAlertingTime"),
    ({"maxAlertingTime": 121}, "02000007", "maxAlertingTime"),
    ({"deviceType": 5, "maxAlertingTime": 8}, "02000007", "maxAlertingTime"),
    ({"scheduleParam": None}, "02000001", "scheduleParam"),
    ({"scheduleParam": "08:00-20:00"}, "02000006", "scheduleParam"),
    ({"scheduleParam": {}}, "02000001", "scheduleParam"),
    (
        {"scheduleParam": {"workdayBeginTime1": "8:00", "workdayEndTime1": "20:00"}},
        "02000002",
        "scheduleParam.workdayBeginTime1",
    ),
    (
        {"scheduleParam": {"workdayBeginTime1": "08:00", "workdayEndTime1": "24:00"}},
        "02000002",
        "scheduleParam.workdayEndTime1",
    ),
    (
        {"scheduleParam": {"workdayBeginTime1": "08:00", "workdayEndTime1": "20:000"}},
        "02000003",
        "scheduleParam.workdayEndTime1",
    ),
    (
        {
            "scheduleParam": {
                "workdayBeginTime1": "08:00",
                "workdayEndTime1": "20:00",
                "holidayEndTime2": "12:00",
            }
        },
        "02000009",
        "scheduleParam.holidayBeginTime2",
    ),
    (
        {"scheduleParam": {"workdayBeginTime3": "08:00"}},
        "02000009",
        "scheduleParam.workdayEndTime3",
    ),
    (
        {"scheduleParam": {"workdayBeginTime1": "20:00", "workdayEndTime1": "08:00"}},
        "02000009",
        "scheduleParam.workdayBeginTime1",
    ),
    ({"skillParam": None}, "02000001", "skillParam"),
    ({"skillParam": [1]}, "02000006", "skillParam"),
    ({"deviceType": 3}, "02000001", "ivrParam"),
    ({"initStatus": 1}, "02000007", "initStatus"),
    ({"callBackUrl": "ftp://host/x"}, "02000007", "callBackUrl"),
    ({"callBackUrl": "https://"}, "02000007", "callBackUrl"),
    ({"callBackUrl": "https://h/" + "x" * 1024}, "02000003", "callBackUrl"),
    ({"priority": 6}, "02000007", "priority"),
    ({"callerNo": None}, "02000001", "callerNo"),
    ({"callerNo": []}, "02000001", "callerNo"),
    ({"callerNo": "88889527"}, "02000006", "callerNo"),
    ({"callerNo": [{"priority": 1}]}, "02000001", "callerNo[0].accessCode"),
    ({"callerNo": [{"accessCode": "12a"}]}, "02000002", "callerNo[0].accessCode"),
    ({"callerNo": [{"accessCode": "1" * 25}]}, "02000003", "callerNo[0].accessCode"),
    ({"callerNo": [{"accessCode": "1", "priority": 0}]}, "02000007", "callerNo[0].priority"),
    ({"callerNo": [{"accessCode": "1"}, {"accessCode": "1"}]}, "02000009", "callerNo"),
    ({"callerNo": [{"accessCode": "1"}] * 101}, "02000011", "callerNo"),
    ({"callPolicy": "turns"}, "02000006", "callPolicy"),
    ({"retryPolicy": {}}, "02000001", "retryPolicy.policyType"),
    ({"retryPolicy": {"policyType": 0, "policyJson": "{x"}}, "02000008", "retryPolicy.policyJson"),
    (
        {"retryPolicy": {"policyType": 1, "noRetryPolicy": ["1"]}},
        "02000009",
        "retryPolicy.noRetryPolicy",
    ),
]


@pytest.mark.parametrize(("changes", "code", "field"), BAD_BODIES)
async def test_bad_v2_bodies_get_their_code_and_create_nothing(
    api: Api, signed, changes, code, field
) -> None:
    async with signed() as client:
        reply = await client.create_campaign(body(**changes))
        assert (reply["resultCode"], reply["resultDesc"].split(":")[0]) == (code, field)
        assert (await client.list_campaigns())["totalSize"] == 0


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"callerNo": [{"accessCode": "1"}]}, "02000006", "callerNo"),
        ({"callerNo": "12-34"}, "02000002", "callerNo"),
        ({"callerNo": "1" * 25}, "02000003", "callerNo"),
        ({"callerNo": ""}, "02000001", "callerNo"),
    ],
)
async def test_bad_v1_caller_numbers(api: Api, signed, changes, code, field) -> None:
    async with signed() as client:
        reply = await client.create_campaign(body(v1=True, **changes), version=1)
        assert (reply["resultCode"], reply["resultDesc"].split(":")[0]) == (code, field)


@pytest.mark.parametrize(
    ("content", "code"), [(b"", "02000001"), (b"{nope", "02000008"), (b"[1]", "02000006")]
)
async def test_bodies_that_are_not_objects(api: Api, signed, content, code) -> None:
    async with signed() as client:
        client.http.headers["Content-Type"] = "application/json; charset=UTF-8"
        for path in (f"{V1}/1", f"{V1.replace('v1', 'v2')}/1"):
            reply = await client.http.post(path, content=content)
            assert reply.json()["resultCode"] == code


async def test_start_before_today_is_refused_but_today_midnight_is_fine(api: Api, signed) -> None:
    async with signed() as client:
        reply = await client.create_campaign(body(strBeginTime="2030-01-14 23:59:59"))
        assert reply["resultCode"] == "0200002"
        assert reply["resultDesc"].startswith("strBeginTime:")
        assert (await client.list_campaigns())["totalSize"] == 0
        await create(client, strBeginTime="2030-01-15 00:00:00")


async def test_duplicate_names_are_refused_per_vdn(api: Api, signed) -> None:
    async with signed(1) as one, signed(2) as two:
        await create(one, "Spring")
        reply = await one.create_campaign(body("Spring", description="again"))
        assert reply["resultCode"] == "0200005" and "Spring" in reply["resultDesc"]
        await create(two, "Spring")
        (only,) = (await one.list_campaigns())["data"]
    assert only["description"] == "first wave"


async def test_quota_of_live_campaigns_per_kind(api: Api, signed, clock) -> None:
    short = {"strBeginTime": "2030-01-15 00:00:00", "strEndTime": "2030-01-15 12:00:00"}
    ivr = {"deviceType": 3, "skillParam": None, "ivrParam": {"flowId": 1}}
    async with signed() as client:
        for i in range(19):
            await create(client, f"S{i}", **(short if i == 0 else {}))
        await create(client, "paused", initStatus=3)  # paused campaigns count
        reply = await client.create_campaign(body("S20", deviceType=6))
        assert reply["resultCode"] == "0200003"
        for i in range(20):
            await create(client, f"I{i}", **ivr)
        reply = await client.create_campaign(body("I20", **ivr))
        assert reply["resultCode"] == "0200004"
        counts = await client.list_campaigns()
        assert (counts["curSkillQueueCount"], counts["curIvrCount"]) == (20, 20)
        clock.set(datetime(2030, 1, 15, 12, 0, 1, tzinfo=UTC))  # S0 has expired
        await create(client, "S20", deviceType=5)
        assert (await client.create_campaign(body("S21")))["resultCode"] == "0200003"
        assert (await client.pause_campaign(3))["resultCode"] == "0200000"
        assert (await client.delete_campaign(3))["resultCode"] == "0200000"  # frees a place
        await create(client, "S21")


async def test_busi_policy_must_name_results_defined_in_the_vdn(api: Api, signed) -> None:
    def rule(code: str, sub: str | None = None) -> dict[str, Any]:
        entry = {"busiResultCode": code, "busiResultPolicy": 2, "callInterval": 60}
        return entry | ({"busiResultSubCode": sub} if sub else {})

    async with signed(1) as one, signed(2) as two:
        await one.add_business_result(
            {"name": "Sold", "code": "SOLD", "children": [{"name": "g", "code": "GOLD"}]}
        )
        await two.add_business_result({"name": "Other", "code": "OTHER"})
        for entry, field in [
            (rule("NOPE"), "busiResultCode"),
            (rule("OTHER"), "busiResultCode"),  # defined in VDN 2 only
            (rule("SOLD", "SILVER"), "busiResultSubCode"),
        ]:
            policy = {"policyType": 0, "busiPolicy": [rule("SOLD"), entry]}
            reply = await one.create_campaign(body(retryPolicy=policy))
            assert reply["resultCode"] == "0200001"
            assert reply["resultDesc"].startswith(f"retryPolicy.busiPolicy[1].{field}:")
        assert (await one.list_campaigns())["totalSize"] == 0
        policy = {"policyType": 0, "busiPolicy": [rule("SOLD", "GOLD")]}
        cid = await create(one, retryPolicy=policy)
        stored = (await one.query_retry_policy(cid))["data"]["busiPolicy"]
    assert stored == (
        '[{"busiResultCode":"SOLD","busiResultPolicy":2,"busiResultSubCode":"GOLD","callInterval":60}]'
    )


async def test_list_filters_paging_and_counts(api: Api, signed, clock) -> None:
    ivr = {"deviceType": 1, "skillParam": None, "ivrParam": {}}
    async with signed() as client:
        await create(client, "Spring 100%", strEndTime="2030-01-20 00:00:00")
        await create(
            client,
            "spring_b",
            initStatus=3,
            strBeginTime="2030-03-01 00:00:00",
            strEndTime="2030-04-01 00:00:00",
        )
        await create(
            client,
            "Autumn",
            strBeginTime="2030-01-15 00:00:00",
            strEndTime="2030-01-15 10:30:00",
            **ivr,
        )
        clock.set(datetime(2030, 1, 15, 11, 0, tzinfo=UTC))  # Autumn has expired
        assert await names(client) == ["Spring 100%", "spring_b", "Autumn"]
        assert await names(client, name="SPRING") == ["Spring 100%", "spring_b"]
        assert await names(client, name="%") == ["Spring 100%"]
        assert await names(client, name="g_") == ["spring_b"]
        assert await names(client, status=0) == ["Spring 100%", "spring_b", "Autumn"]
        assert await names(client, status=2) == ["Spring 100%"]
        assert await names(client, status=3) == ["spring_b"]
        assert await names(client, status=4) == ["Autumn"]
        assert await names(client, deviceType=1) == ["Autumn"]
        assert await names(client, deviceType=2, status=2) == ["Spring 100%"]
        assert await names(client, beginTime="2030-01-21 00:00:00") == ["spring_b"]
        assert await names(client, endTime="2030-01-15 05:00:00") == ["Autumn"]
        window = {"beginTime": "2030-01-19 00:00:00", "endTime": "2030-03-01 00:00:00"}
        assert await names(client, **window) == ["Spring 100%", "spring_b"]
        page = await client.list_campaigns(curPage=0, rowsPerPage=2)
        assert [c["name"] for c in page["data"]] == ["Spring 100%", "spring_b"]
        assert (page["curPage"], page["rowsPerPage"], page["totalSize"]) == (1, 2, 3)
        assert (page["curSkillQueueCount"], page["curIvrCount"]) == (2, 0)
        page2 = await client.list_campaigns(curPage=2, rowsPerPage=2)
        assert [(c["name"], c["status"]) for c in page2["data"]] == [("Autumn", 4)]
        default = await client.list_campaigns()
        assert (default["curPage"], default["rowsPerPage"]) == (1, 10)
        assert (await client.list_campaigns(curPage=9))["data"] == []


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"name": "n" * 31}, "02000003", "name"),
        ({"status": 1}, "02000007", "status"),
        ({"status": "x"}, "02000006", "status"),
        ({"deviceType": 4}, "02000007", "deviceType"),
        ({"rowsPerPage": 101}, "02000007", "rowsPerPage"),
        ({"rowsPerPage": 0}, "02000007", "rowsPerPage"),
        ({"curPage": "one"}, "02000006", "curPage"),
        ({"beginTime": "2030-01-01"}, "02000002", "beginTime"),
        ({"endTime": "yesterday"}, "02000002", "endTime"),
        (
            {"beginTime": "2030-01-02 00:00:00", "endTime": "2030-01-01 00:00:00"},
            "02000009",
            "endTime",
        ),
    ],
)
async def test_bad_list_parameters(api: Api, signed, params, code, field) -> None:
    async with signed() as client:
        reply = await client.list_campaigns(**params)
    assert (reply["resultCode"], reply["resultDesc"].split(":")[0]) == (code, field)


async def test_campaigns_of_another_vdn_do_not_exist(api: Api, signed) -> None:
    async with signed(1) as one, signed(2) as two:
        await create(one, initStatus=3)
        assert (await two.list_campaigns())["totalSize"] == 0
        for reply in [
            await two.campaign_detail(1),
            await two.modify_campaign(1, body()),
            await two.pause_campaign(1),
            await two.resume_campaign(1),
            await two.delete_campaign(1),
            await two.set_retry_policy(1, {"policyType": 0}),
            await two.query_retry_policy(1),
        ]:
            assert reply["resultCode"] == "0200007", reply
        assert (await one.campaign_detail(1))["returnObject"]["status"] == 3


@pytest.mark.parametrize("campaign_id", ["99", "0", "00002"])
async def test_unknown_campaigns_are_not_found(api: Api, signed, campaign_id) -> None:
    async with signed() as client:
        await create(client)
        for method, path, payload in [
            ("GET", f"/1/{campaign_id}", None),
            ("PUT", f"/1/{campaign_id}", body(v1=True)),
            ("DELETE", f"/1/{campaign_id}", None),
            ("PUT", f"/1/{campaign_id}/pause", None),
            ("PUT", f"/1/{campaign_id}/resume", None),
            ("GET", f"/1/retryPolicy/{campaign_id}", None),
            ("POST", f"/1/retryPolicy/{campaign_id}", {"policyType": 0}),
        ]:
            reply = await client.request(method, V1 + path, payload)
            assert reply.json()["resultCode"] == "0200007", (method, path)


async def test_a_campaign_id_that_is_not_a_number(api: Api, signed) -> None:
    async with signed() as client:
        for method, path in [
            ("GET", "/1/abc"),
            ("DELETE", "/1/1.5"),
            ("PUT", "/1/-1/pause"),
            ("GET", "/1/retryPolicy/9223372036854775808"),
        ]:
            reply = (await client.request(method, V1 + path)).json()
            assert reply["resultCode"] == "02000006"
            assert reply["resultDesc"].startswith("campaignId:")


async def test_modify_replaces_the_fields_and_keeps_status_and_policies(api: Api, signed) -> None:
    policy = {"policyType": 0, "policyJson": '[{"type":0,"policy":{"retryDay":2,"retryTimes":3}}]'}
    call_policy = {"callType": 1, "turns": [{"turnType": "SI"}]}
    async with signed() as client:
        cid = await create(client, initStatus=3, retryPolicy=policy, callPolicy=call_policy)
        changed = body(
            "Summer",
            description=None,
            strEndTime="2030-03-01 00:00:00",
            maxAlertingTime=30,
            callerNo=[{"accessCode": "110"}],
            scheduleParam={"holidayBeginTime2": "10:00", "holidayEndTime2": "11:00"},
            callBackUrl="http://cb.example/x",
        )
        reply = await client.modify_campaign(cid, changed)
        assert reply["resultCode"] == "0200000", reply
        detail = (await client.campaign_detail(cid))["returnObject"]
        assert detail["name"] == "Summer" and detail["description"] == ""
        assert detail["strEndTime"] == "2030-03-01 00:00:00" and detail["maxAlertingTime"] == 30
        assert detail["callerNo"] == [{"accessCode": "110"}]
        assert detail["scheduleParam"]["holidayBeginTime2"] == "10:00"
        assert detail["scheduleParam"]["workdayBeginTime1"] == ""
        assert detail["callBackUrl"] == "http://cb.example/x"
        assert detail["status"] == 3  # modify keeps the status
        assert detail["callPolicy"] == call_policy  # absent in the body: kept
        kept = (await client.query_retry_policy(cid))["data"]
        assert kept["policyJson"] == '[{"type":0,"policy":{"retryDay":2,"retryTimes":3}}]'
        # a v1 modify turns callerNo back into a string and still keeps the policies
        reply = await client.modify_campaign(cid, body("Summer", v1=True), version=1)
        assert reply["resultCode"] == "0200000", reply
        detail = (await client.campaign_detail(cid))["returnObject"]
        assert detail["callerNo"] == "88889527" and detail["callPolicy"] == call_policy
        assert (await client.query_retry_policy(cid))["data"]["policyType"] == 0
        # a v2 modify with a retryPolicy and a callPolicy replaces them
        new = body("Summer", retryPolicy={"policyType": 1}, callPolicy={"callType": 2})
        assert (await client.modify_campaign(cid, new))["resultCode"] == "0200000"
        assert (await client.campaign_detail(cid))["returnObject"]["callPolicy"] == {"callType": 2}
        replaced = (await client.query_retry_policy(cid))["data"]
        assert (replaced["policyType"], replaced["policyJson"]) == (1, "[]")


async def test_modify_errors_change_nothing(api: Api, signed) -> None:
    async with signed() as client:
        cid = await create(client, "Spring")
        await create(client, "Winter")
        before = (await client.campaign_detail(cid))["returnObject"]
        for changes, code, field in [
            ({"name": "Winter"}, "0200005", "name"),
            ({"deviceType": 5}, "02000007", "deviceType"),
            ({"strBeginTime": "2030-01-14 00:00:00"}, "0200002", "strBeginTime"),
            ({"maxAlertingTime": 1}, "02000007", "maxAlertingTime"),
            ({"scheduleParam": {"workdayBeginTime1": "08:00"}}, "02000009", "scheduleParam"),
            (
                {
                    "retryPolicy": {
                        "policyType": 0,
                        "busiPolicy": [{"busiResultCode": "X", "busiResultPolicy": 0}],
                    }
                },
                "0200001",
                "retryPolicy",
            ),
        ]:
            reply = await client.modify_campaign(cid, body(**{"name": "Spring", **changes}))
            assert reply["resultCode"] == code, (changes, reply)
            assert reply["resultDesc"].startswith(field)
        assert (await client.campaign_detail(cid))["returnObject"] == before
        same = await client.modify_campaign(cid, body("Spring", description="renamed to itself"))
        assert same["resultCode"] == "0200000"


async def test_modify_allows_an_unchanged_start_in_the_past_but_not_a_moved_one(
    api: Api, signed, clock
) -> None:
    async with signed() as client:
        cid = await create(client, strBeginTime="2030-01-15 00:00:00")
        clock.set(datetime(2030, 1, 17, 9, 0, tzinfo=UTC))
        unchanged = body(strBeginTime="2030-01-15 00:00:00", description="later")
        assert (await client.modify_campaign(cid, unchanged))["resultCode"] == "0200000"
        moved = body(strBeginTime="2030-01-16 00:00:00")
        assert (await client.modify_campaign(cid, moved))["resultCode"] == "0200002"
        today = body(strBeginTime="2030-01-17 00:00:00")
        assert (await client.modify_campaign(cid, today))["resultCode"] == "0200000"


async def test_an_expired_campaign_reports_4_and_allows_only_reads_and_delete(
    api: Api, signed, clock
) -> None:
    async with signed() as client:
        cid = await create(
            client, strBeginTime="2030-01-15 00:00:00", strEndTime="2030-01-15 12:00:00"
        )
        paused = await create(
            client,
            "P",
            initStatus=3,
            strBeginTime="2030-01-15 00:00:00",
            strEndTime="2030-01-15 12:00:00",
        )
        clock.set(datetime(2030, 1, 15, 11, 59, 0, tzinfo=UTC))
        assert (await client.campaign_detail(cid))["returnObject"]["status"] == 2
        clock.set(datetime(2030, 1, 15, 12, 0, 1, tzinfo=UTC))
        assert (await client.campaign_detail(cid))["returnObject"]["status"] == 4
        assert (await client.campaign_detail(paused))["returnObject"]["status"] == 4
        assert (await client.pause_campaign(cid))["resultCode"] == "0200011"
        assert (await client.resume_campaign(paused))["resultCode"] == "0200011"
        reply = await client.modify_campaign(cid, body(strBeginTime="2030-01-15 00:00:00"))
        assert reply["resultCode"] == "0200016"
        assert (await client.set_retry_policy(cid, {"policyType": 0}))["resultCode"] == "0200000"
        assert (await client.delete_campaign(cid))["resultCode"] == "0200000"
        assert (await client.campaign_detail(cid))["resultCode"] == "0200007"


async def test_pause_and_resume_are_guarded(api: Api, signed) -> None:
    async with signed() as client:
        cid = await create(client)
        assert (await client.resume_campaign(cid))["resultCode"] == "0200011"
        reply = await client.pause_campaign(cid)
        assert (reply["resultCode"], reply["resultDesc"]) == ("0200000", "pause success")
        assert (await client.campaign_detail(cid))["returnObject"]["status"] == 3
        again = await client.pause_campaign(cid)
        assert again["resultCode"] == "0200011" and again["resultDesc"].startswith("campaignId:")
        assert (await client.resume_campaign(cid))["resultCode"] == "0200000"
        assert (await client.campaign_detail(cid))["returnObject"]["status"] == 2
        assert (await client.resume_campaign(cid))["resultCode"] == "0200011"


async def _seed_call_data(api: Api, campaign_id: int, vdn_id: int = 1) -> None:
    now = datetime(2030, 1, 15, tzinfo=UTC)
    async with api.ctx.engine.begin() as conn:
        await conn.execute(
            sa.insert(data).values(
                vdn_id=vdn_id,
                data_id=campaign_id * 10,
                campaign_id=campaign_id,
                called_nos="[]",
                next_index=0,
                attempt_index=0,
                status=0,
                attempt_no=1,
                created_at=now,
                updated_at=now,
            )
        )
        await conn.execute(
            sa.insert(data_result).values(
                vdn_id=vdn_id,
                result_id=campaign_id * 10,
                data_id=campaign_id * 10,
                campaign_id=campaign_id,
                kind="attempt",
                attempt_no=1,
                created_at=now,
            )
        )


async def _rows(api: Api, table: sa.Table) -> list[tuple[int, int]]:
    async with api.ctx.engine.connect() as conn:
        rows = await conn.execute(sa.select(table.c.vdn_id, table.c.campaign_id))
        return sorted((r.vdn_id, r.campaign_id) for r in rows)


async def test_delete_removes_the_campaign_and_its_data_but_keeps_history(api: Api, signed) -> None:
    async with signed(1) as one, signed(2) as two:
        gone, kept = await create(one, "Gone"), await create(one, "Kept")
        other = await create(two, "Gone")
        for vdn_id, cid in [(1, gone), (1, kept), (2, other)]:
            await _seed_call_data(api, cid, vdn_id)
        reply = await one.delete_campaign(gone)
        assert reply["resultCode"] == "0200011"  # running
        assert "pause" in reply["resultDesc"]
        assert (await one.pause_campaign(gone))["resultCode"] == "0200000"
        reply = await one.delete_campaign(gone)
        assert (reply["resultCode"], reply["resultDesc"]) == ("0200000", "delete success")
        assert (await one.campaign_detail(gone))["resultCode"] == "0200007"
        assert (await one.delete_campaign(gone))["resultCode"] == "0200007"
        assert await names(one) == ["Kept"]
        assert await names(two) == ["Gone"]
    assert await _rows(api, campaign) == [(1, kept), (2, other)]
    assert await _rows(api, data) == [(1, kept), (2, other)]
    assert await _rows(api, data_result) == [(1, gone), (1, kept), (2, other)]


async def test_set_and_query_retry_policy(api: Api, signed) -> None:
    async with signed() as client:
        await client.add_business_result(
            {"name": "Sold", "code": "SOLD", "children": [{"name": "g", "code": "GOLD"}]}
        )
        cid = await create(client)
        empty = await client.query_retry_policy(cid)
        assert empty["data"] == {
            "retryPolicyId": cid,
            "policyType": None,
            "policyJson": None,
            "noRetryPolicy": [],
            "busiPolicy": None,
        }
        policy = {
            "policyType": 0,
            "policyJson": "[{'type':0,'policy':{'retryDay':1,'retryTimes':2}}]",
            "noRetryPolicy": ["7", "12"],
            "busiPolicy": [
                {"busiResultCode": "SOLD", "busiResultPolicy": 0},
                {
                    "busiResultCode": "SOLD",
                    "busiResultSubCode": "GOLD",
                    "busiResultPolicy": 1,
                    "callInterval": 5,
                },
            ],
        }
        reply = await client.set_retry_policy(cid, policy)
        assert (reply["resultCode"], reply["resultDesc"]) == ("0200000", "update success")
        got = await client.query_retry_policy(cid)
    assert got["resultCode"] == "0200000" and got["resultDesc"] == "query success"
    assert got["data"] == {
        "retryPolicyId": cid,
        "policyType": 0,
        "policyJson": '[{"type":0,"policy":{"retryDay":1,"retryTimes":2}}]',
        "noRetryPolicy": ["7", "12"],
        "busiPolicy": '[{"busiResultCode":"SOLD","busiResultPolicy":0},'
        '{"busiResultCode":"SOLD","busiResultPolicy":1,"busiResultSubCode":"GOLD",'
        '"callInterval":5}]',
    }
    async with api.ctx.engine.connect() as conn:
        stamp = (await conn.execute(sa.select(campaign.c.retry_policy_updated_at))).scalar()
    assert stamp is not None and stamp > NOW


@pytest.mark.parametrize(
    ("policy", "code", "field"),
    [
        (None, "02000001", "retryPolicy"),
        ([], "02000006", "retryPolicy"),
        ({}, "02000001", "retryPolicy.policyType"),
        ({"policyType": 2}, "02000007", "retryPolicy.policyType"),
        ({"policyType": 0, "policyJson": "nope"}, "02000008", "retryPolicy.policyJson"),
        ({"policyType": 1, "noRetryPolicy": ["1"]}, "02000009", "retryPolicy.noRetryPolicy"),
        (
            {"policyType": 0, "busiPolicy": [{"busiResultCode": "SOLD", "busiResultPolicy": 1}]},
            "02000001",
            "retryPolicy.busiPolicy[0].callInterval",
        ),
        (
            {"policyType": 0, "busiPolicy": [{"busiResultCode": "NONE", "busiResultPolicy": 0}]},
            "0200001",
            "retryPolicy.busiPolicy[0].busiResultCode",
        ),
    ],
)
async def test_bad_retry_policies_change_nothing(api: Api, signed, policy, code, field) -> None:
    async with signed() as client:
        await client.add_business_result({"name": "Sold", "code": "SOLD"})
        cid = await create(client, retryPolicy={"policyType": 1})
        before = (await client.query_retry_policy(cid))["data"]
        reply = await client.set_retry_policy(cid, policy)
        assert (reply["resultCode"], reply["resultDesc"].split(":")[0]) == (code, field)
        assert (await client.query_retry_policy(cid))["data"] == before


async def test_operations_are_documented(api: Api) -> None:
    async with api.client() as client:
        document = (await client.http.get("/openapi.json")).json()
    paths = document["paths"]
    assert set(paths[V1 + "/{vdnId}"]) == {"post", "get"}
    assert set(paths[V1 + "/{vdnId}/{campaignId}"]) == {"put", "get", "delete"}
    assert set(paths[V1.replace("v1", "v2") + "/{vdnId}"]) == {"post"}
    assert (
        "retryPolicy"
        in paths[V1.replace("v1", "v2") + "/{vdnId}"]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"]["properties"]
    )


async def test_concurrent_creates_respect_the_quota_and_unique_names(api: Api, signed) -> None:
    async with signed() as client:
        replies = await asyncio.gather(
            *[client.create_campaign(body(f"C{i}")) for i in range(24)],
            *[client.create_campaign(body("Same")) for _ in range(3)],
        )
        codes = sorted(r["resultCode"] for r in replies)
        listed = await client.list_campaigns(rowsPerPage=100)
    assert codes.count("0200000") == 20
    assert set(codes) <= {"0200000", "0200003", "0200005"}
    assert listed["totalSize"] == listed["curSkillQueueCount"] == 20
    assert sum(c["name"] == "Same" for c in listed["data"]) <= 1
