"""The webhook gateway: signed call tasks to a CTI, refusals, outcomes back through the API."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from openisales.auth import signing
from openisales.client import C2Auth
from openisales.dialing.dispatcher import Dispatcher, DispatcherSettings
from openisales.dialing.gateways.webhook import Webhook
from openisales.domain.dialing import DialingCampaign
from openisales.domain.window import Window
from openisales.services import dialing
from tests.dialing.conftest import Rig
from tests.helpers import add_numbers, campaign_body, define

CTI_AK, CTI_SK = "cti-ak", "cti-secret-key-0001"


async def _setup(rig: Rig, answer: int) -> tuple[Dispatcher, list[httpx.Request], str]:
    received: list[httpx.Request] = []

    def cti(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(answer, json={"ok": answer == 200})

    http = httpx.AsyncClient(transport=httpx.MockTransport(cti), auth=C2Auth(CTI_AK, CTI_SK))
    holder: dict[str, Dispatcher] = {}

    async def report(reports):  # type: ignore[no-untyped-def]
        return await holder["d"].report(reports)

    gateway = Webhook(http, report, rig.clock, default_url="https://cti.example:9443/tasks")
    dispatcher = Dispatcher(
        rig.api.ctx.engine,
        rig.api.ctx.ids,
        {"webhook": gateway},
        rig.clock,
        DispatcherSettings(housekeeping_s=0),
        displays=dialing.display_map,
    )
    holder["d"] = dispatcher
    async with rig.client() as client:
        await define(client, "X")
        body = campaign_body(
            "Webhook",
            retryPolicy={
                "policyType": 0,
                "busiPolicy": [{"busiResultCode": "X", "busiResultPolicy": 2, "callInterval": 60}],
            },
        )
        body["strBeginTime"] = rig.clock.now().strftime("%Y-%m-%d 00:00:00")
        cid = (await client.create_campaign(body))["returnObject"]["id"]
        (data_id,) = await add_numbers(client, cid, "13900000009")
        assert (await client.set_dialing(cid, {"gateway": "webhook"}))["resultCode"] == "0200000"
    return dispatcher, received, data_id


async def test_tasks_are_signed_and_outcomes_come_back_through_the_api(rig: Rig) -> None:
    dispatcher, received, data_id = await _setup(rig, 200)
    assert await dispatcher.tick() == 1
    (request,) = received
    wire = signing.Request(
        request.method,
        request.url.path,
        request.url.query.decode(),
        {k.lower(): v for k, v in request.headers.items()},
        request.content,
    )
    auth = signing.parse_authorization(request.headers["authorization"])
    signing.verify(
        wire,
        auth,
        sk=CTI_SK,
        now=signing.parse_timestamp(auth.timestamp),
        window=timedelta(minutes=15),
    )
    task = json.loads(request.content)
    assert task["dataId"] == data_id and task["called"] == "13900000009" and task["workNo"] is None
    assert task["callerNo"] == "88889527"
    async with rig.client() as client:
        reply = await client.report_attempt({"attemptId": task["attemptId"], "failCode": "00000"})
        assert reply["resultCode"] == "0200000"
        await client.write_back(data_id, {"busiResult": "X", "workNo": "2033"})
    rig.clock.advance(60)
    assert await dispatcher.tick() == 1
    retry = json.loads(received[1].content)
    assert (retry["attemptNo"], retry["workNo"]) == (2, "2033")  # the CTI routes it to 2033


async def test_a_task_the_cti_refuses_fails_at_once(rig: Rig) -> None:
    dispatcher, received, data_id = await _setup(rig, 503)
    assert await dispatcher.tick() == 1 and len(received) == 1
    record = await rig.record(data_id)
    assert record.last_fail_code == "34606" and record.status == 3  # one number, no retry policy
    assert record.lease_owner is None


async def test_the_campaign_url_wins_over_the_default(rig: Rig) -> None:
    async def report(_reports):  # type: ignore[no-untyped-def]
        return []

    async with httpx.AsyncClient() as http:
        gateway = Webhook(http, report, rig.clock, default_url="https://default.example/tasks")
        moment = datetime(2026, 6, 1, tzinfo=UTC)
        own = DialingCampaign(
            vdn_id=1,
            campaign_id=2,
            begin=moment,
            end=moment + timedelta(days=1),
            window=Window((), ()),
            max_concurrency=None,
            gateway="webhook",
            gateway_config={"url": "https://cti.example/own"},
            caller_no=None,
            tz=ZoneInfo("UTC"),
        )
        assert gateway.url(own) == "https://cti.example/own"
        for config in ({}, {"url": ""}, {"url": None}):
            default = dataclasses.replace(own, gateway_config=config)
            assert gateway.url(default) == "https://default.example/tasks"
        assert gateway.agents(own) is None
