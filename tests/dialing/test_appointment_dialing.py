"""Appointments on the dialing rig: when they are dialled, to whom, and what they report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from openisales.client import AsyncClient
from openisales.domain.appointment import to_ms
from tests.dialing.conftest import Rig
from tests.dialing.test_dispatcher import Silent
from tests.helpers import campaign_body, define


async def _campaign(rig: Rig, **config: Any) -> int:
    async with rig.client() as client:
        body = campaign_body("Appointments")
        body["strBeginTime"] = rig.clock.now().strftime("%Y-%m-%d 00:00:00")
        reply = await client.create_campaign(body)
        cid = int(reply["returnObject"]["id"])
    await rig.configure(cid, **{"mix": {"00000": 1}, **config})
    return cid


async def _appoint(client: AsyncClient, cid: int, at: datetime, **fields: Any) -> str:
    body = {"callType": 1, "calledNo": "13800000001", "taskId": cid, "appointTime": to_ms(at)}
    reply = await client.create_appointment({**body, **fields})
    assert reply["resultCode"] == "0200000", reply
    return str(reply["returnObject"]["appointId"])


async def _listed(client: AsyncClient) -> dict[str, dict[str, Any]]:
    reply = await client.list_appointments({"limit": 100})
    assert reply["resultCode"] == "0200000", reply
    return {item["appointId"]: item for item in reply["data"]}


async def test_an_automatic_appointment_is_dialled_five_minutes_early_not_before(
    rig: Rig,
) -> None:
    cid = await _campaign(rig, agents=["2033"])
    at = rig.clock.now() + timedelta(hours=1)
    async with rig.client() as client:
        await define(client, "X")
        appoint_id = await _appoint(
            client, cid, at, callType=2, calledNo="13800000002", callData='{"n":"Li"}'
        )
        assert await rig.dispatcher.tick() == 0
        rig.clock.set(at - timedelta(minutes=5, seconds=1))
        assert await rig.dispatcher.tick() == 0
        before = (await _listed(client))[appoint_id]
        rig.clock.advance(1)
        assert await rig.dispatcher.tick() == 1
        (task,) = rig.gateway.tasks
        answered = (await _listed(client))[appoint_id]
        written = await client.write_back(task.data_id, {"busiResult": "X", "workNo": "2033"})
        finished = (await _listed(client))[appoint_id]
    assert (task.called, task.call_data, task.work_no) == ("13800000002", '{"n":"Li"}', None)
    assert (before["status"], before["failCode"], before["timeout"]) == (0, None, False)
    assert (answered["status"], answered["failCode"]) == (2, "00000")
    assert answered["callId"] == f"sim-{task.data_id}-1"
    assert answered["dataId"] == str(task.data_id)
    assert written["resultCode"] == "0200000", written
    assert (finished["status"], finished["busiResult"]) == (2, "X")


async def test_a_manual_appointment_is_offered_only_to_its_agent(rig: Rig) -> None:
    cid = await _campaign(rig, agents=["2033", "4711"])
    at = rig.clock.now() + timedelta(minutes=30)
    async with rig.client() as client:
        mine = await _appoint(client, cid, at, workNo="2033")
        offline = await _appoint(client, cid, at, calledNo="13800000003", workNo="9999")
        rig.clock.set(at - timedelta(seconds=1))
        assert await rig.dispatcher.tick() == 0  # manual: due at appointTime, not early
        rig.clock.set(at)
        assert await rig.dispatcher.tick() == 1
        rig.clock.advance(60)
        assert await rig.dispatcher.tick() == 0  # 9999 is not online: nobody else gets it
        (task,) = rig.gateway.tasks
        dialled = await _listed(client)
        reply = await client.update_appointment_result(
            {"appointId": mine, "workNo": "2033", "failCode": "00000", "busiResult": "OK"}
        )
        done = await _listed(client)
    assert (task.called, task.work_no) == ("13800000001", "2033")
    assert dialled[mine]["status"] == 1 and dialled[mine]["timeout"] is True  # awaits its result
    assert dialled[offline]["status"] == 0 and dialled[offline]["timeout"] is True
    assert reply["resultCode"] == "0200000", reply
    assert (done[mine]["status"], done[mine]["failCode"], done[mine]["busiResult"]) == (
        2,
        "00000",
        "OK",
    )
    assert done[mine]["timeout"] is False


async def test_an_agent_pulls_its_appointment_in_preview_and_reports_the_result(
    rig: Rig,
) -> None:
    cid = await _campaign(rig, agents=[])
    at = rig.clock.now() + timedelta(minutes=10)
    moved = at + timedelta(minutes=10)
    async with rig.client() as client:
        appoint_id = await _appoint(client, cid, at, workNo="2033")
        update = await client.update_appointment(
            {"appointId": appoint_id, "appointTime": to_ms(moved)}
        )
        rig.clock.set(at)
        assert (await client.pull_next("2033"))["data"] is None  # moved: not due yet
        rig.clock.set(moved)
        assert (await client.pull_next("4711"))["data"] is None  # not reserved for 4711
        assert await rig.dispatcher.tick() == 0  # the dialer offers it to nobody else
        pulled = (await client.pull_next("2033", cid))["data"]
        too_late = await client.update_appointment({"appointId": appoint_id, "remark": "x"})
        reported = await client.report_attempt(
            {"attemptId": pulled["attemptId"], "failCode": "00603", "workNo": "2033"}
        )
        result = await client.update_appointment_result(
            {"appointId": appoint_id, "failCode": "00603", "callId": "cti-9", "workNo": "2033"}
        )
        (item,) = (await _listed(client)).values()
    assert update["resultCode"] == "0200000", update
    assert (pulled["called"], pulled["workNo"]) == ("13800000001", "2033")
    assert pulled["dataId"] == item["dataId"]
    assert too_late["resultCode"] == "0200001" and "being dialled" in too_late["resultDesc"]
    assert reported["resultCode"] == "0200000", reported
    assert result["resultCode"] == "0200000", result
    assert (item["status"], item["failCode"], item["callId"]) == (2, "00603", "cti-9")
    assert item["appointTime"] == to_ms(moved)
    record = await rig.record(item["dataId"])
    assert record.status == 3  # the campaign retries no 00603: the record is over too


def _ms(text: str) -> int:
    """Epoch milliseconds of a UTC ``yyyy-MM-dd HH:mm:ss``."""
    return to_ms(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC))


async def test_the_list_gives_when_the_call_began_and_ended(rig: Rig) -> None:
    """Huawei's beginTime (call execution time) and endTime: ours, the last attempt's."""
    cid = await _campaign(rig)
    silent = Silent()
    rig.dispatcher.gateways = {"simulator": silent}  # type: ignore[dict-item]
    at = rig.clock.now() + timedelta(minutes=10)
    async with rig.client() as client:
        appoint_id = await _appoint(client, cid, at, callType=2)
        rig.clock.set(at - timedelta(minutes=5))
        assert await rig.dispatcher.tick() == 1
        (task,) = silent.tasks
        calling = (await _listed(client))[appoint_id]
        rig.clock.advance(120)
        ring = (at - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
        end = (at - timedelta(minutes=3)).strftime("%Y-%m-%d %H:%M:%S")
        reported = await client.report_attempt(
            {"attemptId": task.attempt_id, "failCode": "00000", "ringTime": ring, "endTime": end}
        )
        assert reported["resultCode"] == "0200000", reported
        answered = (await _listed(client))[appoint_id]
    assert (calling["beginTime"], calling["endTime"]) == (None, None)  # no attempt is over yet
    assert (answered["beginTime"], answered["endTime"]) == (_ms(ring), _ms(end))
    assert answered["userName"] is None
    assert (answered["callType"], answered["taskId"], answered["taskStatus"]) == (
        "2",
        str(cid),
        "2",
    )
