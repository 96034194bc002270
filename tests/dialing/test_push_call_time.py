"""The pushed ``callTimeStr`` is the query's: the call time of the record's last attempt.

Huawei describes both as the call time. The query returns the last attempt's
ring start (or, when the CTI gave none, when its outcome was recorded) on the
VDN's wall clock (Asia/Shanghai here); before the fix the push carried the
completion time instead, which differs whenever the record completes after
its call (a write-back, a CTI that reports after ringing began).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from openisales.store.tables import push_outbox
from tests.dialing.conftest import Rig
from tests.dialing.test_dispatcher import Silent
from tests.helpers import add_numbers, campaign_body, define

CRM = "https://crm.example/isales/push"
SHARED = ("campaignId", "sessionId", "called", "callTimeStr", "callStatus", "failCode", "vdnId")


async def _campaign(rig: Rig, busi_policy: list[dict[str, Any]] | None = None) -> tuple[int, str]:
    async with rig.client() as client:
        await define(client, "SOLD")
        await define(client, "AGAIN")
        body = campaign_body(
            "Pushed",
            callBackUrl=CRM,
            retryPolicy={"policyType": 0, "busiPolicy": busi_policy or []},
        )
        body["strBeginTime"] = rig.clock.now().strftime("%Y-%m-%d 00:00:00")
        reply = await client.create_campaign(body)
        assert reply["resultCode"] == "0200000", reply
        cid = int(reply["returnObject"]["id"])
        (data_id,) = await add_numbers(client, cid, "13800000001", session="customer-1")
    await rig.configure(cid, mix={"00603": 1})
    return cid, data_id


async def _dial(rig: Rig, silent: Silent) -> str:
    """One tick; the attemptId of the one task it handed to the gateway."""
    before = len(silent.tasks)
    assert await rig.dispatcher.tick() == 1
    assert len(silent.tasks) == before + 1
    return str(silent.tasks[-1].attempt_id)


def _utc(rig: Rig, seconds_ago: int) -> str:
    return (rig.clock.now() - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%d %H:%M:%S")


async def _pushed(rig: Rig) -> list[dict[str, Any]]:
    async with rig.api.ctx.engine.connect() as conn:
        rows = (await conn.execute(sa.select(push_outbox).order_by(push_outbox.c.seq))).all()
    return [json.loads(r.payload) for r in rows]


async def _push_and_query(rig: Rig, cid: int) -> tuple[dict[str, Any], dict[str, Any]]:
    (pushed,) = await _pushed(rig)
    async with rig.client() as client:
        reply = await client.query_call_results(cid)
    (queried,) = reply["data"]
    return pushed, queried


def _local(utc_text: str) -> str:
    """A UTC ``yyyy-MM-dd HH:mm:ss`` on the VDN's wall clock."""
    moment = datetime.strptime(utc_text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")


async def test_a_record_completed_by_its_write_back_pushes_the_call_time(rig: Rig) -> None:
    cid, data_id = await _campaign(rig)
    silent = Silent()
    rig.dispatcher.gateways = {"simulator": silent}  # type: ignore[dict-item]
    attempt = await _dial(rig, silent)
    ring = _utc(rig, 0)
    rig.clock.advance(90)
    async with rig.client() as client:
        reported = await client.report_attempt(
            {"attemptId": attempt, "failCode": "00000", "callId": "c-1", "ringTime": ring}
        )
        assert reported["next"] == "await", reported
        rig.clock.advance(600)  # the agent writes the result back ten minutes later
        written = await client.write_back(data_id, {"busiResult": "SOLD"})
        assert written["resultCode"] == "0200000", written
    pushed, queried = await _push_and_query(rig, cid)
    assert queried["callTimeStr"] == _local(ring)
    assert {k: pushed[k] for k in SHARED} == {k: queried[k] for k in SHARED}
    assert pushed["callId"] == queried["callId"] == "c-1"


async def test_a_failed_last_attempt_pushes_its_ring_time(rig: Rig) -> None:
    cid, _ = await _campaign(rig)
    silent = Silent()
    rig.dispatcher.gateways = {"simulator": silent}  # type: ignore[dict-item]
    attempt = await _dial(rig, silent)
    ring = _utc(rig, 0)
    rig.clock.advance(45)  # the CTI reports when ringing gave up
    async with rig.client() as client:
        reported = await client.report_attempt(
            {"attemptId": attempt, "failCode": "00603", "ringTime": ring}
        )
    assert reported["next"] == "complete", reported
    pushed, queried = await _push_and_query(rig, cid)
    assert queried["callTimeStr"] == _local(ring)
    assert {k: pushed[k] for k in SHARED} == {k: queried[k] for k in SHARED}


async def test_without_a_ring_time_both_give_when_the_outcome_was_recorded(rig: Rig) -> None:
    cid, _ = await _campaign(rig)
    silent = Silent()
    rig.dispatcher.gateways = {"simulator": silent}  # type: ignore[dict-item]
    attempt = await _dial(rig, silent)
    rig.clock.advance(45)
    async with rig.client() as client:
        await client.report_attempt({"attemptId": attempt, "failCode": "00603"})
    pushed, queried = await _push_and_query(rig, cid)
    assert queried["callTimeStr"] == _local(_utc(rig, 0))
    assert {k: pushed[k] for k in SHARED} == {k: queried[k] for k in SHARED}


async def test_of_several_attempts_the_last_one_counts(rig: Rig) -> None:
    again = [{"busiResultCode": "AGAIN", "busiResultPolicy": 2, "callInterval": 60}]
    cid, data_id = await _campaign(rig, again)
    silent = Silent()
    rig.dispatcher.gateways = {"simulator": silent}  # type: ignore[dict-item]
    first = await _dial(rig, silent)
    async with rig.client() as client:
        await client.report_attempt(
            {"attemptId": first, "failCode": "00000", "ringTime": _utc(rig, 0)}
        )
        rig.clock.advance(30)
        again_reply = await client.write_back(data_id, {"busiResult": "AGAIN"})
        assert again_reply["resultCode"] == "0200000", again_reply
    rig.clock.advance(3600)
    second = await _dial(rig, silent)
    ring = _utc(rig, 0)
    rig.clock.advance(20)
    async with rig.client() as client:
        await client.report_attempt({"attemptId": second, "failCode": "00000", "ringTime": ring})
        rig.clock.advance(300)
        done = await client.write_back(data_id, {"busiResult": "SOLD"})
        assert done["resultCode"] == "0200000", done
    pushed, queried = await _push_and_query(rig, cid)
    assert queried["callTimeStr"] == _local(ring)
    assert {k: pushed[k] for k in SHARED} == {k: queried[k] for k in SHARED}


async def test_a_record_never_dialled_pushes_no_call_time(rig: Rig) -> None:
    cid, data_id = await _campaign(rig)
    async with rig.client() as client:
        await client.pause_campaign(cid)
    # its campaign ends before it was ever called: completed as expired, pushed
    rig.clock.advance(31 * 24 * 3600)
    await rig.dispatcher.tick()
    (pushed,) = await _pushed(rig)
    assert pushed["dataId"] == data_id and pushed["completeReason"] == "expired"
    assert pushed["callTimeStr"] is None
    async with rig.client() as client:
        assert (await client.query_call_results(cid))["totalCount"] == 0
