"""The signed API on a distributed schema: keys from the CLI, campaigns, call data, write-back."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from openisales.api.app import build_context, create_app
from openisales.config import Settings
from tests.citus.conftest import openisales
from tests.conftest import Api, Tenant
from tests.helpers import add_numbers, define, make_campaign


@pytest.fixture
async def cli_tenant(settings: Settings, migrated: str) -> AsyncIterator[Api]:
    """VDN 7 and its key made by the real command line; the app in process."""
    openisales(migrated, "vdn", "add", "--id", "7", "--name", "seven", "--time-zone", "UTC")
    made = openisales(migrated, "keys", "create", "--vdn", "7").stdout
    ak = re.search(r"^AK: (\S+)$", made, re.M)
    sk = re.search(r"^SK: (\S+)$", made, re.M)
    assert ak and sk, made
    ctx = build_context(settings)
    yield Api(ctx, create_app(settings, context=ctx), {7: Tenant(7, ak[1], sk[1])})
    await ctx.close()


async def test_a_key_made_by_the_cli_signs_campaigns_and_call_data(cli_tenant: Api) -> None:
    async with cli_tenant.client(7) as client:
        campaign = await make_campaign(client)
        (data_id,) = await add_numbers(client, campaign, "13800000001")
        detail = await client.query_call_data(campaign, data_id)
        assert detail["resultCode"] == "0200000", detail
        assert [n["calledNo"] for n in detail["data"]["calledNos"]] == ["13800000001"]
        listed = await client.campaign_detail(campaign)
        assert listed["resultCode"] == "0200000", listed


async def test_tenants_stay_apart_on_a_distributed_schema(api: Api) -> None:
    async with api.client(1) as one, api.client(2) as two:
        campaign = await make_campaign(one)
        data_id, _ = await add_numbers(one, campaign, "13800000001", "13800000002")
        assert (await one.query_call_data(campaign, data_id))["resultCode"] == "0200000"
        other = await two.query_call_data(campaign, data_id)
        assert other["resultCode"] != "0200000"


async def test_a_write_back_completes_the_record(api: Api) -> None:
    await _write_back(api)


async def _write_back(api: Api) -> None:
    async with api.client() as client:
        await define(client, "1621474513", "1048856206")
        campaign = await make_campaign(client)
        (data_id,) = await add_numbers(client, campaign, "13800000001")
        reply = await client.write_back(
            data_id, {"busiResult": "1621474513", "subStatus": "1048856206", "workNo": "2033"}
        )
        assert reply["resultCode"] == "0200000", reply
        detail = await client.query_call_data(campaign, data_id)
        assert detail["data"]["busiResult"] == "1621474513"


async def test_the_locking_write_back_path_works(api: Api) -> None:
    """Without the batched path (as on SQLite) the write-back runs on a distributed schema."""
    fast, api.ctx.writeback_fast = api.ctx.writeback_fast, None
    try:
        await _write_back(api)
    finally:
        api.ctx.writeback_fast = fast
