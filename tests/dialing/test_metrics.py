"""The metrics reflect claims, dispatches, attempt outcomes and write-backs by result code."""

from __future__ import annotations

from tests.dialing.conftest import Rig
from tests.helpers import add_numbers, campaign_body, define


def _value(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_the_dialing_and_the_write_backs(rig: Rig) -> None:
    rig.dispatcher.metrics = rig.api.ctx.metrics  # one registry, as inside `serve`
    async with rig.client() as client:
        await define(client, "X")
        body = campaign_body(
            "Metrics",
            retryPolicy={
                "policyType": 0,
                "busiPolicy": [{"busiResultCode": "X", "busiResultPolicy": 2, "callInterval": 60}],
            },
        )
        body["strBeginTime"] = rig.clock.now().strftime("%Y-%m-%d 00:00:00")
        cid = (await client.create_campaign(body))["returnObject"]["id"]
        ids = await add_numbers(client, cid, "1", "2", "3")
    await rig.configure(cid, mix={"00000": 1})
    assert await rig.dispatcher.tick() == 3
    async with rig.client() as client:
        for data_id in ids:
            await client.write_back(data_id, {"busiResult": "X"})
        await client.write_back(ids[0], {"busiResult": "NOPE"})
    rig.clock.advance(75)
    assert await rig.dispatcher.tick() == 3
    text = rig.api.ctx.metrics.render().decode()  # what the metrics listener serves
    assert _value(text, "openisales_claims_total") == 6
    assert _value(text, 'openisales_dispatches_total{gateway="simulator"}') == 6
    assert _value(text, 'openisales_attempt_outcomes_total{fail_code="00000"}') == 6
    assert (
        _value(
            text, 'openisales_api_results_total{operation="call_busi_result",result_code="0200000"}'
        )
        == 3
    )
    assert (
        _value(
            text, 'openisales_api_results_total{operation="call_busi_result",result_code="0200001"}'
        )
        == 1
    )
    assert _value(text, "openisales_retry_lateness_seconds_count") == 3
    assert _value(text, 'openisales_retry_lateness_seconds_bucket{le="10.0"}') == 0  # 15 s late
    assert _value(text, 'openisales_retry_lateness_seconds_bucket{le="30.0"}') == 3
