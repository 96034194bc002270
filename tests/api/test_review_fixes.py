"""Found in review: a client that leaves mid-body, SQL parameters in logs, huge push answers."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from openisales.clock import FixedClock
from openisales.dialing import pusher as pusher_module
from openisales.dialing.push_settings import PushSettings
from tests.conftest import Api
from tests.helpers import add_numbers, define, make_campaign


async def test_a_client_that_leaves_mid_body_is_no_unexpected_error(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """Not logged as an error with a traceback, not counted as a storage failure."""
    sent: list[dict[str, Any]] = []
    messages = [
        {"type": "http.request", "body": b'{"busiResult":', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/rest/isales/v1/openapi/campaigns/1/callBusiResult/1",
        "raw_path": b"/rest/isales/v1/openapi/campaigns/1/callBusiResult/1",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 443),
    }
    with caplog.at_level(logging.INFO):
        await asyncio.wait_for(api.app(scope, receive, send), 5)  # type: ignore[operator]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] != 500


async def test_database_errors_do_not_log_the_request_s_values(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    async with api.client() as client:
        await define(client, "X")
        campaign = await make_campaign(client)
        (data_id,) = await add_numbers(client, campaign, "13800000001")
    async with api.ctx.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE t_isl_data_result RENAME TO t_isl_result_gone"))
    try:
        with caplog.at_level(logging.INFO):
            async with api.client() as client:
                reply = await client.write_back(
                    data_id, {"busiResult": "X", "busiResultDesc": "card 4111-1111-1111-1111"}
                )
    finally:
        async with api.ctx.engine.begin() as conn:
            await conn.execute(sa.text("ALTER TABLE t_isl_result_gone RENAME TO t_isl_data_result"))
    assert reply["resultCode"] == "0200999"
    logged = "\n".join(
        caplog.text.splitlines()
        + [logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info]
    )
    assert any(r.levelno >= logging.ERROR for r in caplog.records)  # the failure is logged
    assert "4111" not in logged and "13800000001" not in logged


async def test_a_receiver_s_long_answer_is_a_failed_push_read_only_in_part() -> None:
    streamed: list[int] = []

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            for _ in range(10_000):  # 640 MB if read to the end
                streamed.append(1)
                yield b"x" * 65_536

    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Endless())

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    pusher = pusher_module.Pusher(
        None,  # type: ignore[arg-type]  # _post touches no database
        http,
        FixedClock(datetime.now(UTC)),
        PushSettings(housekeeping_s=0),
        None,
    )
    why = await pusher._post("http://crm.invalid/push", ['{"pushId":"1.1"}'], ["1.1"])
    await http.aclose()
    assert why == f"answer longer than {pusher_module.MAX_ANSWER_BYTES} bytes"
    assert len(streamed) <= 3  # stopped after the limit, not read to the end


async def test_a_key_stored_under_another_master_key_is_a_401_not_a_500(api: Api) -> None:
    from openisales.auth.vault import Vault, new_master_key
    from openisales.services import admin
    from openisales.services.audit import CLI

    other = Vault(new_master_key())
    ak, sk = await admin.create_key(
        api.ctx.engine, other, vdn_ids=[1], now=datetime.now(UTC), actor=CLI, ak="otherkey"
    )
    async with api.client(ak=ak, sk=sk) as client:
        reply = await client.request(
            "GET",
            "/rest/isales/v1/openapi/campaigns/1/queryBusinessResults",
            params={"pageSize": 10, "pageNum": 1},
        )
    assert reply.status_code == 401
    assert reply.json()["resultCode"] == "0200401"
    assert sk not in reply.text
