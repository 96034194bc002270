"""Reserved (appointment) calls through the signed client: create, update, result, list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from openisales.client import AsyncClient
from openisales.domain.appointment import to_ms
from openisales.store.tables import appointment, campaign, data
from tests.conftest import Api
from tests.helpers import make_campaign

AT = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)


def body(cid: int | str, **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "callType": 1,
        "calledNo": "13800000001",
        "workNo": "2033",
        "userAccount": "li.lei",
        "taskId": cid,
        "appointTime": to_ms(AT),
        "remark": "after lunch",
    }
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


async def create(client: AsyncClient, cid: int, **changes: Any) -> str:
    reply = await client.create_appointment(body(cid, **changes))
    assert reply["resultCode"] == "0200000", reply
    appoint_id = reply["returnObject"]["appointId"]
    assert isinstance(appoint_id, str) and appoint_id.isdigit()
    return str(appoint_id)


async def listed(client: AsyncClient, **query: Any) -> dict[str, Any]:
    reply = await client.list_appointments(query)
    assert reply["resultCode"] == "0200000", reply
    return reply


async def record_of(api: Api, appoint_id: str) -> sa.Row[Any]:
    async with api.ctx.engine.connect() as conn:
        return (
            await conn.execute(
                sa.select(data)
                .join(
                    appointment,
                    sa.and_(
                        appointment.c.vdn_id == data.c.vdn_id,
                        appointment.c.data_id == data.c.data_id,
                    ),
                )
                .where(appointment.c.appoint_id == int(appoint_id))
            )
        ).one()


async def set_record(api: Api, appoint_id: str, **values: Any) -> None:
    record = await record_of(api, appoint_id)
    async with api.ctx.engine.begin() as conn:
        await conn.execute(sa.update(data).where(data.c.data_id == record.data_id).values(**values))


async def test_manual_creates_a_record_due_on_time_reserved_for_its_agent(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        reply = await client.create_appointment(body(cid))
        appoint_id = reply["returnObject"]["appointId"]
        record = await record_of(api, appoint_id)
        detail = await client.query_call_data(cid, str(record.data_id))
    assert reply["resultCode"] == "0200000" and int(appoint_id) > 2**48
    assert detail["data"]["nextCallTime"] == AT.strftime("%Y-%m-%d %H:%M:%S")
    assert detail["data"]["reservedWorkNo"] == "2033"
    assert detail["data"]["calledNos"] == [{"calledNo": "13800000001", "type": ""}]
    assert (record.status, record.attempt_no, record.call_data) == (0, 0, None)


async def test_automatic_is_due_five_minutes_early_and_reserved_for_nobody(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        appoint_id = await create(client, cid, callType=2, workNo=None, callData='{"n":"Li"}')
    record = await record_of(api, appoint_id)
    assert record.next_call_time == AT - timedelta(minutes=5)
    assert record.reserved_work_no is None and record.call_data == '{"n":"Li"}'


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"callType": None}, "02000001"),
        ({"callType": 3}, "02000007"),
        ({"calledNo": None}, "02000001"),
        ({"calledNo": "138-0000"}, "02000002"),
        ({"calledNo": "1" * 25}, "02000003"),
        ({"workNo": None}, "02000001"),
        ({"workNo": "w" * 33}, "02000003"),
        ({"userAccount": "u" * 65}, "02000003"),
        ({"taskId": None}, "02000001"),
        ({"taskId": [1]}, "02000006"),
        ({"appointTime": None}, "02000001"),
        ({"appointTime": "2030-01-01"}, "02000006"),
        ({"appointTime": to_ms(datetime.now(UTC) - timedelta(minutes=1))}, "02000007"),
        ({"appointTime": to_ms(AT + timedelta(days=60))}, "02000007"),  # after the campaign
        ({"callData": "{}"}, "02000009"),
        ({"callType": 2, "callData": "x" * 1025}, "02000003"),
        ({"remark": "r" * 201}, "02000003"),
        ({"taskId": 999}, "0200007"),
    ],
)
async def test_create_codes(api: Api, changes: dict[str, Any], expected: str) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        reply = await client.create_appointment(body(cid, **changes))
        page = await listed(client)
    assert reply["resultCode"] == expected, reply
    assert page["totalCount"] == 0  # a refused request changes nothing


async def test_create_refuses_an_ended_campaign(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        async with api.ctx.engine.begin() as conn:
            await conn.execute(
                sa.update(campaign)
                .where(campaign.c.campaign_id == cid)
                .values(end_time=datetime.now(UTC) - timedelta(seconds=1))
            )
        reply = await client.create_appointment(body(cid))
    assert reply["resultCode"] == "0200019"


async def test_create_counts_against_the_unfinished_limit(api: Api) -> None:
    api.ctx.settings = api.ctx.settings.evolve(max_unfinished_per_campaign=1)
    async with api.client() as client:
        cid = await make_campaign(client)
        await create(client, cid)
        reply = await client.create_appointment(body(cid, calledNo="2"))
    assert reply["resultCode"] == "0200020"


async def test_create_refuses_a_blocklisted_number(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        listed_no = await client.add_blocklist({"blocklist": ["13800000001"]})
        assert listed_no["resultCode"] == "0200000", listed_no
        reply = await client.create_appointment(body(cid))
    assert reply["resultCode"] == "0200024"


async def test_update_moves_the_record_and_its_reservation(api: Api) -> None:
    later = AT + timedelta(hours=1)
    async with api.client() as client:
        cid = await make_campaign(client)
        appoint_id = await create(client, cid)
        reply = await client.update_appointment(
            {"appointId": appoint_id, "appointTime": to_ms(later), "workNo": "4711", "remark": "x"}
        )
        page = await listed(client)
    assert reply["resultCode"] == "0200000" and reply["resultDesc"] == "update success"
    record = await record_of(api, appoint_id)
    assert (record.next_call_time, record.reserved_work_no) == (later, "4711")
    (item,) = page["data"]
    assert (item["appointTime"], item["workNo"], item["remark"]) == (to_ms(later), "4711", "x")
    assert item["userAccount"] == "li.lei"  # not given: unchanged


async def test_update_without_a_time_keeps_a_pending_retry_where_it_is(api: Api) -> None:
    retry_at = AT + timedelta(minutes=7)
    async with api.client() as client:
        cid = await make_campaign(client)
        appoint_id = await create(client, cid)
        await set_record(api, appoint_id, attempt_no=1, next_call_time=retry_at)
        reply = await client.update_appointment({"appointId": appoint_id, "workNo": "4711"})
        (item,) = (await listed(client))["data"]
    assert reply["resultCode"] == "0200000", reply
    record = await record_of(api, appoint_id)
    assert (record.next_call_time, record.reserved_work_no) == (retry_at, "4711")
    assert (item["status"], item["workNo"], item["appointTime"]) == (1, "4711", to_ms(AT))


async def test_update_codes(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        manual = await create(client, cid)
        automatic = await create(client, cid, callType=2, calledNo="2")
        dialled = await create(client, cid, calledNo="3")
        gone = await create(client, cid, calledNo="4")
        await set_record(api, dialled, status=1, attempt_no=1)
        record = await record_of(api, gone)
        async with api.ctx.engine.begin() as conn:
            await conn.execute(sa.delete(data).where(data.c.data_id == record.data_id))
        past = to_ms(datetime.now(UTC) - timedelta(minutes=1))
        end = to_ms(AT + timedelta(days=60))
        codes = {
            "missing": await client.update_appointment({"remark": "x"}),
            "letters": await client.update_appointment({"appointId": "12ab"}),
            "unknown": await client.update_appointment({"appointId": "123"}),
            "huawei": await client.update_appointment({"appointId": "1747299260980168594453648"}),
            "automatic": await client.update_appointment({"appointId": automatic}),
            "dialled": await client.update_appointment({"appointId": dialled, "remark": "x"}),
            "gone": await client.update_appointment({"appointId": gone}),
            "past": await client.update_appointment({"appointId": manual, "appointTime": past}),
            "remark": await client.update_appointment({"appointId": manual, "remark": "r" * 201}),
            "after_end": await client.update_appointment({"appointId": manual, "appointTime": end}),
        }
    assert {k: v["resultCode"] for k, v in codes.items()} == {
        "missing": "02000001",
        "letters": "02000002",
        "unknown": "04000004",
        "huawei": "04000004",
        "automatic": "0200001",
        "dialled": "0200001",
        "gone": "0200033",
        "past": "02000007",
        "remark": "02000003",
        "after_end": "02000007",
    }
    assert "automatic" in codes["automatic"]["resultDesc"]
    assert "being dialled" in codes["dialled"]["resultDesc"]


async def test_update_result_completes_a_manual_appointment(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        appoint_id = await create(client, cid)
        reply = await client.update_appointment_result(
            {
                "appointId": appoint_id,
                "workNo": "4711",
                "callerNo": "88889527",
                "failCode": "00000",
                "callId": "call-1",
                "busiResult": "OK",
                "busiSubStatus": "PAID",
            }
        )
        (item,) = (await listed(client))["data"]
        again = await client.update_appointment({"appointId": appoint_id, "remark": "late"})
    assert reply["resultCode"] == "0200000" and reply["resultDesc"] == "update success"
    assert item["status"] == 2 and item["timeout"] is False
    assert (item["failCode"], item["callId"], item["callerNo"]) == ("00000", "call-1", "88889527")
    assert (item["busiResult"], item["busiSubStatus"], item["workNo"]) == ("OK", "PAID", "4711")
    record = await record_of(api, appoint_id)
    assert (record.status, record.complete_reason, record.next_call_time) == (
        3,
        "appointment",
        None,
    )
    assert again["resultCode"] == "0200001" and "done" in again["resultDesc"]


async def test_update_result_codes(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        automatic = await create(client, cid, callType=2)
        manual = await create(client, cid, calledNo="2")
        replies = [
            await client.update_appointment_result({"appointId": "42"}),
            await client.update_appointment_result({"appointId": automatic, "failCode": "00000"}),
            await client.update_appointment_result({"appointId": manual, "failCode": "0"}),
            await client.update_appointment_result({"appointId": manual, "callerNo": "x"}),
            await client.update_appointment_result({"appointId": manual, "callId": "c" * 65}),
            await client.update_appointment_result({"failCode": "00000"}),
        ]
    assert [r["resultCode"] for r in replies] == [
        "04000004",
        "0200001",
        "02000004",
        "02000002",
        "02000003",
        "02000001",
    ]
    assert "automatic" in replies[1]["resultDesc"]


async def test_list_filters_pages_and_reports_the_campaign(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client, "Appointments")
        other = await make_campaign(client, "Other")
        first = await create(client, cid, appointTime=to_ms(AT))
        second = await create(
            client, cid, calledNo="2", workNo="4711", userAccount="han.mei", appointTime=to_ms(AT)
        )
        third = await create(
            client, other, callType=2, calledNo="3", appointTime=to_ms(AT + timedelta(hours=1))
        )
        everything = await listed(client)
        page = await listed(client, offset=1, limit=1)
        by_agent = await listed(client, workNoList=["4711"])
        by_account = await listed(client, userAccountList=["han.mei", "nobody"])
        by_number = await listed(client, calledNo="3")
        by_task = await listed(client, taskId=str(other))
        window = await listed(client, beginTime=to_ms(AT), endTime=to_ms(AT))
        bad = [
            await client.list_appointments({"limit": 101}),
            await client.list_appointments({"beginTime": to_ms(AT), "endTime": to_ms(AT) - 1}),
            await client.list_appointments({"workNoList": ["1"] * 101}),
            await client.list_appointments({"taskId": "one"}),
        ]
    assert everything["totalCount"] == 3
    assert [i["appointId"] for i in everything["data"]] == [first, second, third]
    assert page["totalCount"] == 3 and len(page["data"]) == 1
    assert page["data"][0]["appointId"] == everything["data"][1]["appointId"]
    assert [i["appointId"] for i in by_agent["data"]] == [second]
    assert [i["appointId"] for i in by_account["data"]] == [second]
    assert [i["appointId"] for i in by_number["data"]] == [third]
    assert [i["appointId"] for i in by_task["data"]] == [third]
    assert window["totalCount"] == 2
    assert [b["resultCode"] for b in bad] == ["02000007", "02000009", "02000011", "02000006"]
    item = everything["data"][2]
    # Huawei's list page: callType, taskId and taskStatus are Strings
    assert item["taskId"] == str(other) and item["taskName"] == "Other"
    assert item["taskStatus"] == "2"
    assert (item["callType"], item["status"], item["timeout"]) == ("2", 0, False)
    assert item["appointTime"] == to_ms(AT + timedelta(hours=1))
    # never dialled: no call began or ended; no agent names are known (docs/appointments.md)
    assert (item["userName"], item["beginTime"], item["endTime"]) == (None, None, None)
    assert everything["data"][0]["callType"] == "1"


async def test_list_reports_a_timed_out_appointment(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        appoint_id = await create(client, cid)
        async with api.ctx.engine.begin() as conn:
            await conn.execute(
                sa.update(appointment)
                .where(appointment.c.appoint_id == int(appoint_id))
                .values(appoint_time=datetime.now(UTC) - timedelta(minutes=1))
            )
        (item,) = (await listed(client))["data"]
    assert item["status"] == 0 and item["timeout"] is True


async def test_appointments_are_scoped_by_vdn(api: Api) -> None:
    async with api.client(1) as one, api.client(2) as two:
        cid = await make_campaign(one)
        appoint_id = await create(one, cid)
        assert (await two.create_appointment(body(cid)))["resultCode"] == "0200007"
        theirs = [
            await two.update_appointment({"appointId": appoint_id, "remark": "x"}),
            await two.update_appointment_result({"appointId": appoint_id}),
        ]
        seen_by_two = await listed(two)
        seen_by_one = await listed(one)
    assert [r["resultCode"] for r in theirs] == ["04000004", "04000004"]
    assert seen_by_two["totalCount"] == 0 and seen_by_two["data"] == []
    assert seen_by_one["totalCount"] == 1
    assert seen_by_one["data"][0]["remark"] == "after lunch"
