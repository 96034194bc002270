"""Numbers blocked after their record was added are not called; the attempt says why."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from openisales.domain.blocklist import BLOCKED
from openisales.store.tables import blocklist, campaign, data_result
from tests.dialing.conftest import Rig
from tests.helpers import add_numbers, campaign_body


async def _campaign(rig: Rig, *numbers: list[str] | str) -> tuple[int, list[str]]:
    async with rig.client() as client:
        body = campaign_body("Blocked")
        body["strBeginTime"] = rig.clock.now().strftime("%Y-%m-%d 00:00:00")
        reply = await client.create_campaign(body)
        cid = reply["returnObject"]["id"]
        ids = await add_numbers(client, cid, *numbers)
    await rig.configure(cid, mix={"00603": 1})
    return cid, ids


async def _block(rig: Rig, body: dict[str, Any]) -> None:
    async with rig.client() as client:
        reply = await client.add_blocklist(body)
    assert reply["resultCode"] == "0200000", reply


async def _attempts(rig: Rig) -> list[tuple[int, str, str, int]]:
    async with rig.api.ctx.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(
                data_result.c.data_id,
                data_result.c.called,
                data_result.c.fail_code,
                data_result.c.call_status,
            ).order_by(data_result.c.created_at, data_result.c.data_id, data_result.c.attempt_no)
        )
        return [(r.data_id, r.called, r.fail_code, r.call_status) for r in rows]


async def test_a_number_blocked_after_adding_is_not_called(rig: Rig) -> None:
    _, ids = await _campaign(rig, "6001", "6002")
    await _block(rig, {"blocklist": ["6001"]})
    assert await rig.dispatcher.tick() == 1
    assert [t.called for t in rig.gateway.tasks] == ["6002"]
    attempts = {a[1]: a for a in await _attempts(rig)}
    assert attempts["6001"] == (int(ids[0]), "6001", BLOCKED, 5)
    assert attempts["6002"][2] == "00603"
    record = await rig.record(ids[0])
    assert (record.status, record.last_fail_code, record.complete_reason) == (
        3,
        BLOCKED,
        "exhausted",
    )


async def test_a_record_moves_on_to_its_next_number(rig: Rig) -> None:
    _, (data_id,) = await _campaign(rig, ["6101", "6102"])
    await _block(rig, {"blocklist": ["6101"]})
    assert await rig.dispatcher.tick() == 0  # the first number is blocked: nothing dialled
    record = await rig.record(data_id)
    assert (record.status, record.next_index, record.last_fail_code) == (0, 1, BLOCKED)
    assert await rig.dispatcher.tick() == 1
    assert [t.called for t in rig.gateway.tasks] == ["6102"]
    assert [(a[1], a[2]) for a in await _attempts(rig)] == [("6101", BLOCKED), ("6102", "00603")]


async def test_a_restricted_number_is_called_up_to_its_quota(rig: Rig) -> None:
    cid, ids = await _campaign(rig, "6201")
    async with rig.client() as client:  # a second record of the same number, added in time
        (second,) = await add_numbers(client, cid, "6201")
    async with rig.api.ctx.engine.begin() as conn:  # one call at a time
        await conn.execute(
            sa.update(campaign).where(campaign.c.campaign_id == cid).values(max_concurrency=1)
        )
    await _block(rig, {"blocklist": ["6201"], "restrictTimes": 1, "restrictPeriod": "1"})
    assert await rig.dispatcher.tick() == 1
    assert await rig.dispatcher.tick() == 0
    assert [t.data_id for t in rig.gateway.tasks] == [int(ids[0])]
    assert [(a[0], a[2]) for a in await _attempts(rig)] == [
        (int(ids[0]), "00603"),
        (int(second), BLOCKED),
    ]


async def test_an_expired_entry_no_longer_blocks(rig: Rig) -> None:
    await _campaign(rig, "6301")
    await _block(rig, {"blocklist": ["6301"], "validityTime": 1})
    async with rig.api.ctx.engine.begin() as conn:  # the hour has passed
        await conn.execute(sa.update(blocklist).values(expires_at=rig.clock.now()))
    assert await rig.dispatcher.tick() == 1
    assert [t.called for t in rig.gateway.tasks] == ["6301"]
