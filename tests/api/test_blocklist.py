"""The blocklist (spec 2.10) through the signed client, and blocked numbers refused at add."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from openisales.clock import FixedClock
from openisales.store.tables import blocklist, data, data_result
from tests.conftest import Api
from tests.helpers import make_campaign


@pytest.fixture
def clock(api: Api) -> FixedClock:
    """Time stands still (at the real time, so signatures stay fresh)."""
    fixed = FixedClock(datetime.now(UTC).replace(microsecond=0))
    api.ctx.clock = fixed
    return fixed


async def _ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["resultCode"] == reply["returnCode"] == "0200000", reply
    return reply


async def _numbers(api: Api, vdn_id: int = 1) -> list[str]:
    async with api.ctx.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(blocklist.c.number)
            .where(blocklist.c.vdn_id == vdn_id)
            .order_by(blocklist.c.number)
        )
        return [r.number for r in rows]


async def _expire(api: Api, number: str, clock: FixedClock) -> None:
    async with api.ctx.engine.begin() as conn:
        await conn.execute(
            sa.update(blocklist)
            .where(blocklist.c.number == number)
            .values(expires_at=clock.now() - timedelta(seconds=1))
        )


async def test_add_query_delete_round_trip(api: Api, clock: FixedClock) -> None:
    async with api.client() as client:
        added = await _ok(
            await client.add_blocklist(
                {
                    "blocklist": ["111", "222"],
                    "validityExpirationTime": "2099-01-01 00:00:00",
                    "validityTime": 1,
                    "relCategoryId": "cat",
                    "typeId": "t",
                }
            )
        )
        await _ok(await client.add_blocklist({"blocklist": ["333"], "validityTime": 2}))
        await _ok(
            await client.add_blocklist(
                {"blocklist": ["444"], "restrictTimes": 2, "restrictPeriod": "1"}
            )
        )
        looked_up = await _ok(await client.query_blocklist({"blocklist": ["222", "999", "333"]}))
        paged = await _ok(await client.query_blocklist({"offset": 1, "limit": 2}))
        await _ok(await client.delete_blocklist({"blocklistNo": "222"}))
        after = await _ok(await client.query_blocklist({"limit": 100}))
    assert added["resultDesc"] == "add blocklist success"
    assert looked_up["totalCount"] == 2
    by_number = {d["blockNum"]: d for d in looked_up["data"]}
    assert by_number["222"] == {
        "blockNum": "222",
        "validityExpirationTime": "2099-01-01 00:00:00",
        "flag": 1,
        "restrictTimes": None,
        "restrictPeriod": None,
        "relCategoryId": "cat",
        "typeId": "t",
    }
    two_hours = (clock.now() + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    assert by_number["333"]["validityExpirationTime"] == two_hours
    assert paged["totalCount"] == 4
    assert [d["blockNum"] for d in paged["data"]] == ["222", "333"]
    assert after["totalCount"] == 3
    restricted = next(d for d in after["data"] if d["blockNum"] == "444")
    assert restricted["validityExpirationTime"] is None
    assert (restricted["restrictTimes"], restricted["restrictPeriod"]) == (2, "1")


async def test_a_listed_number_is_refused_unless_covered(api: Api, clock: FixedClock) -> None:
    async with api.client() as client:
        await _ok(await client.add_blocklist({"blocklist": ["111"], "validityTime": 1}))
        refused = await client.add_blocklist({"blocklist": ["555", "111"]})
        refused_explicitly = await client.add_blocklist({"blocklist": ["111"], "isCoverDupNo": 0})
        assert await _numbers(api) == ["111"]  # all or nothing: 555 was not listed either
        await _ok(
            await client.add_blocklist(
                {"blocklist": ["555", "111"], "isCoverDupNo": 1, "validityTime": 3}
            )
        )
        reply = await _ok(await client.query_blocklist({"blocklist": ["111"]}))
    assert refused["resultCode"] == "0200007"
    assert refused["resultDesc"].startswith("blocklist[1]: number 111"), refused
    assert refused_explicitly["resultCode"] == "0200007"
    assert await _numbers(api) == ["111", "555"]
    three_hours = (clock.now() + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S")
    assert reply["data"][0]["validityExpirationTime"] == three_hours


async def test_an_expired_entry_shows_flag_0_and_may_be_listed_again(
    api: Api, clock: FixedClock
) -> None:
    async with api.client() as client:
        await _ok(await client.add_blocklist({"blocklist": ["111"], "validityTime": 1}))
        await _expire(api, "111", clock)
        expired = await _ok(await client.query_blocklist({"blocklist": ["111"]}))
        await _ok(await client.add_blocklist({"blocklist": ["111"]}))
        again = await _ok(await client.query_blocklist({"blocklist": ["111"]}))
    assert expired["data"][0]["flag"] == 0
    assert again["data"][0] == {**again["data"][0], "flag": 1, "validityExpirationTime": None}


async def test_bad_requests(api: Api) -> None:
    async with api.client() as client:
        too_many = await client.add_blocklist({"blocklist": [str(i) for i in range(21)]})
        twice = await client.add_blocklist({"blocklist": ["1", "1"]})
        half = await client.add_blocklist({"blocklist": ["1"], "restrictTimes": 3})
        unlisted = await client.delete_blocklist({"blocklistNo": "123"})
        no_mode = await client.query_blocklist({})
    assert too_many["resultCode"] == "0200029"
    assert twice["resultCode"] == "0200018"
    assert half["resultCode"] == "02000009"
    assert unlisted["resultCode"] == "0200001"
    assert no_mode["resultCode"] == "02000001"
    assert await _numbers(api) == []


async def test_each_vdn_has_its_own_blocklist(api: Api) -> None:
    async with api.client(1) as one, api.client(2) as two:
        await _ok(await one.add_blocklist({"blocklist": ["111"]}))
        await _ok(await two.add_blocklist({"blocklist": ["111", "222"]}))
        seen_by_one = await _ok(await one.query_blocklist({"limit": 10}))
        assert (await one.delete_blocklist({"blocklistNo": "222"}))["resultCode"] == "0200001"
    assert [d["blockNum"] for d in seen_by_one["data"]] == ["111"]
    assert await _numbers(api, 2) == ["111", "222"]


async def _records(api: Api) -> int:
    async with api.ctx.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(data))).scalar_one())


# Needs the blocklist check in services/calldata.add (blocklist.blocked -> 0200024).
async def test_adding_call_data_with_a_blocked_number_is_refused(
    api: Api, clock: FixedClock
) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        await _ok(await client.add_blocklist({"blocklist": ["222", "333"]}))
        v1 = await client.add_call_data(cid, [{"called": "111"}, {"called": "333"}])
        v2 = await client.add_call_data(
            cid, [{"called": [{"calledNo": "444"}, {"calledNo": "222"}]}], version=2
        )
        await _expire(api, "333", clock)
        await _ok(await client.add_call_data(cid, [{"called": "111"}, {"called": "333"}]))
    async with api.client(2) as other:  # VDN 1's blocklist does not apply in VDN 2
        other_cid = await make_campaign(other)
        await _ok(await other.add_call_data(other_cid, [{"called": "222"}]))
    assert v1["resultCode"] == "0200024"
    assert "333" in v1["resultDesc"] and "111" not in v1["resultDesc"], v1
    assert v2["resultCode"] == "0200024" and "222" in v2["resultDesc"], v2
    assert await _records(api) == 3  # refused requests added nothing


# Needs the blocklist check in services/calldata.add (blocklist.blocked -> 0200024).
async def test_a_restricted_number_is_refused_only_once_its_quota_is_used(
    api: Api, clock: FixedClock
) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        await _ok(
            await client.add_blocklist(
                {"blocklist": ["777"], "restrictTimes": 1, "restrictPeriod": "0"}
            )
        )
        await _ok(await client.add_call_data(cid, [{"called": "777"}]))
        async with api.ctx.engine.begin() as conn:
            await conn.execute(
                sa.insert(data_result).values(
                    vdn_id=1,
                    result_id=1,
                    data_id=1,
                    campaign_id=cid,
                    kind="attempt",
                    attempt_no=1,
                    called="777",
                    call_status=5,
                    fail_code="00603",
                    created_at=clock.now(),
                )
            )
        refused = await client.add_call_data(cid, [{"called": "777"}])
        async with api.ctx.engine.begin() as conn:  # that call was in the previous hour
            await conn.execute(
                sa.update(data_result).values(created_at=clock.now() - timedelta(hours=1))
            )
        later = await client.add_call_data(cid, [{"called": "777"}])
    assert refused["resultCode"] == "0200024"
    assert later["resultCode"] == "0200000", later
