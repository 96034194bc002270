"""The seed's loop end to end, with an injected clock: dial, answer, write back, retry."""

from __future__ import annotations

import pytest

from tests.dialing.conftest import Rig
from tests.helpers import add_numbers, campaign_body, define


async def _campaign(rig: Rig, policy: int | None, *, agents=("2033",), mix=None) -> tuple[int, str]:
    busi = (
        []
        if policy is None
        else [
            {
                "busiResultCode": "X",
                "busiResultPolicy": policy,
                **({"callInterval": 60} if policy else {}),
            }
        ]
    )
    async with rig.client() as client:
        await define(client, "X")
        await define(client, "Y")
        body = campaign_body("Seed loop", retryPolicy={"policyType": 0, "busiPolicy": busi})
        body["strBeginTime"] = rig.clock.now().strftime("%Y-%m-%d 00:00:00")
        reply = await client.create_campaign(body)
        assert reply["resultCode"] == "0200000", reply
        cid = reply["returnObject"]["id"]
        (data_id,) = await add_numbers(client, cid, ["13800000001", "13800000002"])
    await rig.configure(cid, mix=mix or {"00000": 1}, agents=list(agents))
    return cid, data_id


async def _answered(rig: Rig, data_id: str) -> None:
    assert await rig.dispatcher.tick() == 1
    record = await rig.record(data_id)
    assert record.status == 2 and record.attempt_no == 1  # answered: waiting for the write-back


async def test_same_number_retry_exactly_after_the_interval_for_the_agent(rig: Rig) -> None:
    _, data_id = await _campaign(rig, policy=2)
    await _answered(rig, data_id)
    async with rig.client() as client:
        reply = await client.write_back(data_id, {"busiResult": "X", "workNo": "2033"})
        assert reply["resultCode"] == "0200000"
    rig.clock.advance(59.999)
    assert await rig.dispatcher.tick() == 0  # not before t+60
    rig.clock.advance(0.001)
    assert await rig.dispatcher.tick() == 1
    first, retry = rig.gateway.tasks
    assert (first.attempt_no, first.called, first.work_no) == (1, "13800000001", None)
    assert (retry.attempt_no, retry.called, retry.work_no) == (2, "13800000001", "2033")
    assert await rig.dispatcher.tick() == 0  # exactly one new attempt


async def test_next_number_policy_dials_the_records_next_number(rig: Rig) -> None:
    _, data_id = await _campaign(rig, policy=1)
    await _answered(rig, data_id)
    async with rig.client() as client:
        await client.write_back(data_id, {"busiResult": "X"})
    rig.clock.advance(60)
    assert await rig.dispatcher.tick() == 1
    assert [t.called for t in rig.gateway.tasks] == ["13800000001", "13800000002"]
    assert rig.gateway.tasks[1].work_no is None


@pytest.mark.parametrize(("policy", "result"), [(0, "X"), (2, "Y"), (None, "X")])
async def test_stop_or_no_match_dials_nothing_more(rig: Rig, policy, result) -> None:
    _, data_id = await _campaign(rig, policy=policy)
    await _answered(rig, data_id)
    async with rig.client() as client:
        await client.write_back(data_id, {"busiResult": result, "workNo": "2033"})
    for _ in range(3):
        rig.clock.advance(3600)
        assert await rig.dispatcher.tick() == 0
    record = await rig.record(data_id)
    assert record.status == 3 and len(rig.gateway.tasks) == 1


async def test_a_reservation_waits_for_its_agent_then_falls_back(rig: Rig) -> None:
    _, data_id = await _campaign(rig, policy=2, agents=("2033",))
    await _answered(rig, data_id)
    async with rig.client() as client:
        await client.write_back(data_id, {"busiResult": "X", "workNo": "4711"})  # not online
    rig.clock.advance(60)
    assert await rig.dispatcher.tick() == 0
    rig.clock.advance(299)
    assert await rig.dispatcher.tick() == 0
    rig.clock.advance(1)  # reservation_fallback_s = 300 after the retry was due
    assert await rig.dispatcher.tick() == 1
    assert rig.gateway.tasks[-1].work_no is None  # any agent may take it now


async def test_no_write_back_in_time_completes_the_record(rig: Rig) -> None:
    _, data_id = await _campaign(rig, policy=2)
    await _answered(rig, data_id)
    rig.clock.advance(600)
    assert await rig.dispatcher.tick() == 0
    record = await rig.record(data_id)
    assert record.status == 3 and record.complete_reason == "no-writeback"
    async with rig.client() as client:  # a late write-back is recorded but dials nothing
        assert (await client.write_back(data_id, {"busiResult": "X"}))["resultCode"] == "0200000"
    rig.clock.advance(120)
    assert await rig.dispatcher.tick() == 0
