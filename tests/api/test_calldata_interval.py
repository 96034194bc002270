"""Huawei: add-call-data calls to one campaign at least 1 s apart, else ``0200022``.

Every test runs on a fixed clock (the interval is measured on the injected
clock, never the wall clock) with the interval of production, 1 s, unless it
says otherwise. The time of the last add is the campaign row's, so it holds
for several API processes on one database: two application contexts stand for two.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from openisales.api.app import build_context, create_app
from openisales.api.context import AppContext
from openisales.client import AsyncClient, C2Auth
from openisales.clock import FixedClock
from openisales.store.tables import data
from tests.conftest import BASE_URL, Api
from tests.helpers import make_campaign

START = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
_MS = itertools.count(1)


def _client(api: Api, clock: FixedClock, app: Any = None, vdn_id: int = 1) -> AsyncClient:
    """A signed client of ``app`` (the fixture's by default) whose signatures follow ``clock``."""
    tenant = api.tenants[vdn_id]
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app or api.app), base_url=BASE_URL)
    client = AsyncClient(BASE_URL, tenant.ak, tenant.sk, vdn_id=vdn_id, http=http)
    # a distinct timestamp per request: the same request twice is not a replay
    client.http.auth = C2Auth(
        tenant.ak, tenant.sk, now=lambda: clock.now() + timedelta(milliseconds=next(_MS) % 900)
    )
    return client


@pytest.fixture
def clock(api: Api) -> FixedClock:
    clock = FixedClock(START)
    api.ctx.clock = clock
    api.ctx.settings = api.ctx.settings.evolve(calldata_min_interval_s=1.0)
    return clock


@pytest.fixture
async def second(api: Api, clock: FixedClock) -> AsyncIterator[tuple[AppContext, Any]]:
    """Another API process on the same database: its own context, engine and pools."""
    ctx = build_context(api.ctx.settings, clock=clock)
    yield ctx, create_app(api.ctx.settings, context=ctx)
    await ctx.close()


async def _count(api: Api) -> int:
    async with api.ctx.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(data))).scalar_one())


async def _add(client: AsyncClient, cid: int, number: str, version: int = 1) -> str:
    called: Any = number if version == 1 else [{"calledNo": number}]
    reply = await client.add_call_data(cid, [{"called": called}], version=version)
    return str(reply["resultCode"])


async def test_a_second_add_within_a_second_is_refused_and_adds_nothing(
    api: Api, clock: FixedClock
) -> None:
    async with _client(api, clock) as client:
        cid = await make_campaign(client)
        assert await _add(client, cid, "1001") == "0200000"
        reply = await client.add_call_data(cid, [{"called": "1002"}])
        assert reply["resultCode"] == "0200022"
        assert "1 s" in reply["resultDesc"]
        clock.advance(0.999)
        assert await _add(client, cid, "1003") == "0200022"
        clock.advance(0.001)  # exactly 1 s after the last add
        assert await _add(client, cid, "1004") == "0200000"
        assert await _add(client, cid, "1005") == "0200022"
    assert await _count(api) == 2


async def test_a_refused_add_does_not_restart_the_interval(api: Api, clock: FixedClock) -> None:
    async with _client(api, clock) as client:
        cid = await make_campaign(client)
        assert await _add(client, cid, "1001") == "0200000"
        clock.advance(0.5)
        assert await _add(client, cid, "1002") == "0200022"
        clock.advance(0.5)  # 1 s after the last *successful* add
        assert await _add(client, cid, "1003") == "0200000"


async def test_an_add_refused_for_another_reason_does_not_count(
    api: Api, clock: FixedClock
) -> None:
    async with _client(api, clock) as client:
        cid = await make_campaign(client)
        added = await client.add_blocklist({"blocklist": ["1999"]})
        assert added["resultCode"] == "0200000", added
        assert await _add(client, cid, "1999") == "0200024"
        assert await _add(client, cid, "1001", version=2) == "0200000"  # the same instant
        assert await _add(client, cid, "1002") == "0200022"
    assert await _count(api) == 1


async def test_v1_and_v2_share_the_interval_and_campaigns_have_their_own(
    api: Api, clock: FixedClock
) -> None:
    async with _client(api, clock) as client:
        first = await make_campaign(client, "first")
        other = await make_campaign(client, "other")
        assert await _add(client, first, "1001", version=1) == "0200000"
        assert await _add(client, first, "1002", version=2) == "0200022"
        assert await _add(client, other, "1003", version=2) == "0200000"
        assert await _add(client, other, "1004", version=1) == "0200022"
        clock.advance(1)
        assert await _add(client, first, "1005", version=2) == "0200000"


async def test_bad_input_gets_its_own_code_first(api: Api, clock: FixedClock) -> None:
    async with _client(api, clock) as client:
        cid = await make_campaign(client)
        assert await _add(client, cid, "1001") == "0200000"
        bad = await client.add_call_data(cid, [{"called": "12a"}])
        missing = await client.add_call_data(cid + 1000, [{"called": "1002"}])
    assert bad["resultCode"] == "02000002"
    assert missing["resultCode"] == "0200007"


async def test_zero_turns_the_interval_off(api: Api, clock: FixedClock) -> None:
    api.ctx.settings = api.ctx.settings.evolve(calldata_min_interval_s=0.0)
    async with _client(api, clock) as client:
        cid = await make_campaign(client)
        for number in ("1001", "1002", "1003"):
            assert await _add(client, cid, number) == "0200000"
    assert await _count(api) == 3


async def test_the_interval_holds_across_processes(
    api: Api, clock: FixedClock, second: tuple[AppContext, Any]
) -> None:
    _ctx, other_app = second
    async with _client(api, clock) as one, _client(api, clock, other_app) as two:
        cid = await make_campaign(one)
        assert await _add(one, cid, "1001") == "0200000"
        assert await _add(two, cid, "1002") == "0200022"
        clock.advance(1)
        assert await _add(two, cid, "1003") == "0200000"
        assert await _add(one, cid, "1004") == "0200022"
    assert await _count(api) == 2


async def test_concurrent_adds_from_two_processes_let_exactly_one_through(
    api: Api, clock: FixedClock, second: tuple[AppContext, Any]
) -> None:
    _ctx, other_app = second
    async with _client(api, clock) as one, _client(api, clock, other_app) as two:
        cid = await make_campaign(one)
        codes = await asyncio.gather(
            *(_add(client, cid, str(2000 + i)) for i, client in enumerate([one, two] * 4))
        )
    assert sorted(codes) == ["0200000"] + ["0200022"] * 7
    assert await _count(api) == 1
