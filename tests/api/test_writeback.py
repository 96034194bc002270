"""callBusiResult through the signed client: the seed's example, every error row, the policy."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from openisales.client import AsyncClient, C2Auth
from openisales.store.nonces import SqlReplayGuard
from openisales.store.tables import data, data_result
from tests.conftest import Api
from tests.helpers import add_numbers, campaign_body, define, make_campaign

SEED_BODY = {
    "busiResult": "1621474513",
    "subStatus": "1048856206",
    "busiResultDesc": "1",
    "workNo": "2033",
}
SEED_REPLY = {
    "resultCode": "0200000",
    "resultDesc": "The business result is written back successfully.",
    "returnCode": "0200000",
    "returnDesc": "The business result is written back successfully.",
}


def busi(code: str, policy: int, interval: int | None = 60, sub: str | None = None) -> dict:
    entry = {"busiResultCode": code, "busiResultPolicy": policy}
    if interval is not None:
        entry["callInterval"] = interval
    if sub:
        entry["busiResultSubCode"] = sub
    return entry


async def _setup(api: Api, *rules: dict, numbers=("13800000001",)) -> tuple[int, str]:
    async with api.client() as client:
        await define(client, "1621474513", "1048856206", "2")
        await define(client, "X", "X1")
        campaign = await make_campaign(
            client, retryPolicy={"policyType": 0, "busiPolicy": list(rules)}
        )
        (data_id,) = await add_numbers(client, campaign, list(numbers))
    return campaign, data_id


async def _record(api: Api, data_id: str) -> sa.Row:
    async with api.ctx.engine.connect() as conn:
        return (await conn.execute(sa.select(data).where(data.c.data_id == int(data_id)))).one()


async def _history(api: Api, data_id: str) -> list[sa.Row]:
    async with api.ctx.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(data_result)
            .where(data_result.c.data_id == int(data_id))
            .order_by(data_result.c.result_id)
        )
        return list(rows)


async def test_the_seed_example_returns_exactly_the_seed_response(api: Api) -> None:
    _, data_id = await _setup(api)
    async with api.client() as client:
        response = await client.request(
            "POST", f"/rest/isales/v1/openapi/campaigns/1/callBusiResult/{data_id}", SEED_BODY
        )
    assert response.status_code == 200
    assert response.json() == SEED_REPLY
    (row,) = await _history(api, data_id)
    assert (row.busi_result, row.sub_status, row.busi_result_desc, row.work_no) == (
        "1621474513",
        "1048856206",
        "1",
        "2033",
    )
    assert row.kind == "busi" and row.vdn_id == 1 and row.called == "13800000001"
    record = await _record(api, data_id)
    assert (record.busi_result, record.sub_status, record.work_no) == (
        "1621474513",
        "1048856206",
        "2033",
    )
    assert record.status == 3 and record.completed_at is not None  # no busiPolicy: completes


async def test_same_number_retry_after_the_interval_reserved_for_the_agent(api: Api) -> None:
    _, data_id = await _setup(api, busi("X", 2, 60), numbers=("111", "222"))
    before = datetime.now(UTC)
    async with api.client() as client:
        reply = await client.write_back(data_id, {"busiResult": "X", "workNo": "2033"})
    after = datetime.now(UTC)
    assert reply["resultCode"] == "0200000"
    record = await _record(api, data_id)
    assert record.status == 0 and record.next_index == 0 and record.reserved_work_no == "2033"
    assert before + timedelta(seconds=59) <= record.next_call_time <= after + timedelta(seconds=61)


async def test_next_number_retry_and_completion_when_numbers_run_out(api: Api) -> None:
    _, data_id = await _setup(api, busi("X", 1, 30), numbers=("111", "222"))
    async with api.client() as client:
        await client.write_back(data_id, {"busiResult": "X"})
        record = await _record(api, data_id)
        assert record.status == 0 and record.next_index == 1 and record.reserved_work_no is None
        detail = await client.query_call_data(record.campaign_id, data_id)
        assert detail["data"]["calledNos"] == [
            {"calledNo": "111", "type": "SI"},
            {"calledNo": "222", "type": "SI"},
        ]
        assert detail["data"]["busiResult"] == "X" and detail["data"]["status"] == 0


@pytest.mark.parametrize("rules", [(busi("X", 0, None),), (busi("1621474513", 2),), ()])
async def test_stop_or_no_matching_rule_completes_the_record(api: Api, rules) -> None:
    _, data_id = await _setup(api, *rules)
    async with api.client() as client:
        assert (await client.write_back(data_id, {"busiResult": "X", "workNo": "7"}))[
            "resultCode"
        ] == "0200000"
    record = await _record(api, data_id)
    assert record.status == 3 and record.next_call_time is None and record.reserved_work_no is None


async def test_sub_code_rule_wins_over_code_rule(api: Api) -> None:
    _, data_id = await _setup(api, busi("X", 2, 60), busi("X", 0, None, sub="X1"))
    async with api.client() as client:
        await client.write_back(data_id, {"busiResult": "X", "subStatus": "X1"})
    assert (await _record(api, data_id)).status == 3


async def test_a_second_write_back_replaces_the_first_ones_effect(api: Api) -> None:
    _, data_id = await _setup(
        api, busi("X", 1, 30), busi("1621474513", 0, None), numbers=("111", "222", "333")
    )
    async with api.client() as client:
        await client.write_back(data_id, {"busiResult": "X"})
        await client.write_back(data_id, {"busiResult": "X", "workNo": "9"})
        record = await _record(api, data_id)
        assert record.next_index == 1 and record.status == 0 and record.reserved_work_no == "9"
        await client.write_back(data_id, {"busiResult": "1621474513"})
        record = await _record(api, data_id)
        assert record.status == 3 and record.next_call_time is None
        await client.write_back(data_id, {"busiResult": "X"})
    record = await _record(api, data_id)
    assert record.status == 0 and record.next_index == 1
    assert [h.busi_result for h in await _history(api, data_id)] == ["X", "X", "1621474513", "X"]


async def _assert_refused(api: Api, data_id: str, response, code: str, text: str = "") -> None:
    assert response.status_code == 200
    body = response.json()
    assert body["resultCode"] == body["returnCode"] == code, body
    assert text in body["resultDesc"]
    assert await _history(api, data_id) == []
    record = await _record(api, data_id)
    assert record.busi_result is None and record.status == 0


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        ({"subStatus": "1"}, "02000001", "busiResult"),
        ({"busiResult": ""}, "02000001", "busiResult"),
        ({"busiResult": "B" * 51}, "02000003", "busiResult"),
        ({"busiResult": 1621474513}, "02000006", "busiResult"),
        ({"busiResult": "X", "subStatus": "S" * 51}, "02000003", "subStatus"),
        ({"busiResult": "X", "workNo": 2033}, "02000006", "workNo"),
        ({"busiResult": "X", "busiResultDesc": "a\u0000b"}, "02000002", "busiResultDesc"),
        ({"busiResult": "X", "workNo": "20\u000033"}, "02000002", "workNo"),
        ({"busiResult": "NOPE"}, "0200001", "not defined in VDN 1"),
        ({"busiResult": "X", "subStatus": "1048856206"}, "0200034", "subStatus"),
        ({"busiResult": "1621474513", "subStatus": "X1"}, "0200034", "subStatus"),
    ],
)
async def test_each_bad_body_gets_its_code_and_changes_nothing(api: Api, body, code, text) -> None:
    _, data_id = await _setup(api, busi("X", 2))
    async with api.client() as client:
        response = await client.request(
            "POST", f"/rest/isales/v1/openapi/campaigns/1/callBusiResult/{data_id}", body
        )
    await _assert_refused(api, data_id, response, code, text)


async def test_a_body_that_is_not_json(api: Api) -> None:
    _, data_id = await _setup(api)
    async with api.client() as client:
        client.http.headers["Content-Type"] = "application/json; charset=UTF-8"
        response = await client.http.post(
            f"/rest/isales/v1/openapi/campaigns/1/callBusiResult/{data_id}", content=b"busiResult=1"
        )
    await _assert_refused(api, data_id, response, "02000008", "body")


@pytest.mark.parametrize(
    ("vdn", "data_id", "code"),
    [
        ("0", None, "02000007"),
        ("10000", None, "02000007"),
        ("x1", None, "02000006"),
        ("1", "12ab", "02000006"),
        ("1", "99999999999999999999", "02000006"),
        ("1", "123456", "0200033"),
    ],
)
async def test_bad_path_parameters(api: Api, vdn, data_id, code) -> None:
    _, real = await _setup(api)
    async with api.client() as client:
        response = await client.request(
            "POST",
            f"/rest/isales/v1/openapi/campaigns/{vdn}/callBusiResult/{data_id or real}",
            SEED_BODY,
        )
    await _assert_refused(api, real, response, code)


async def test_data_of_another_vdn_does_not_exist_here(api: Api) -> None:
    _, data_id = await _setup(api)
    async with api.client(2) as other:
        await define(other, "1621474513", "1048856206")
        reply = await other.write_back(data_id, SEED_BODY)
    assert reply["resultCode"] == "0200033"
    assert await _history(api, data_id) == []


async def test_a_failed_write_is_0200999_and_leaves_the_record_untouched(api: Api) -> None:
    _, data_id = await _setup(api, busi("X", 2))
    async with api.ctx.engine.begin() as conn:
        await conn.execute(
            sa.text("ALTER TABLE t_isl_data_result RENAME TO t_isl_data_result_gone")
        )
    try:
        async with api.client() as client:
            reply = await client.write_back(data_id, {"busiResult": "X", "workNo": "1"})
        assert reply["resultCode"] == "0200999"
        record = await _record(api, data_id)
        assert record.busi_result is None and record.status == 0 and record.reserved_work_no is None
    finally:
        async with api.ctx.engine.begin() as conn:
            await conn.execute(
                sa.text("ALTER TABLE t_isl_data_result_gone RENAME TO t_isl_data_result")
            )


async def test_concurrent_write_backs_for_one_record_serialise(api: Api) -> None:
    _, data_id = await _setup(api, busi("X", 1, 30), numbers=("111", "222", "333"))
    async with api.client() as client:
        replies = await asyncio.gather(
            *[client.write_back(data_id, {"busiResult": "X", "workNo": str(i)}) for i in range(12)]
        )
    assert [r["resultCode"] for r in replies] == ["0200000"] * 12
    history = await _history(api, data_id)
    assert len(history) == 12 and all(h.attempt_no == 0 for h in history)
    record = await _record(api, data_id)
    # every write-back belongs to the same attempt: exactly one pending retry, on the next number
    assert record.status == 0 and record.next_index == 1
    assert record.work_no == record.reserved_work_no
    assert record.work_no in {h.work_no for h in history}


async def test_write_back_for_a_campaign_without_retry_policy(api: Api) -> None:
    async with api.client() as client:
        await define(client, "X")
        body = campaign_body("No policy")
        body.pop("retryPolicy")
        reply = await client.create_campaign(body)
        assert reply["resultCode"] == "0200000", reply
        (data_id,) = await add_numbers(client, reply["returnObject"]["id"], "555")
        assert (await client.write_back(data_id, {"busiResult": "X"}))["resultCode"] == "0200000"
    assert (await _record(api, data_id)).status == 3


def _signed_copies(
    api: Api, client: AsyncClient, path: str, body: bytes, n: int
) -> list[httpx.Request]:
    """``n`` identical requests under one C2 signature: every one after the first a replay."""
    tenant = api.tenants[1]
    headers = {"Content-Type": "application/json; charset=UTF-8"}
    first = client.http.build_request("POST", path, content=body, headers=headers)
    first.headers["Authorization"] = C2Auth(tenant.ak, tenant.sk).authorization(first)
    return [first] + [
        client.http.build_request("POST", path, content=body, headers=dict(first.headers))
        for _ in range(n - 1)
    ]


async def test_with_the_shared_replay_guard_a_replayed_write_back_is_refused_atomically(
    api: Api,
) -> None:
    api.ctx.replay = SqlReplayGuard(api.ctx.engine)
    _, data_id = await _setup(api, busi("X", 2))
    path = f"/rest/isales/v1/openapi/campaigns/1/callBusiResult/{data_id}"
    async with api.client() as client:
        first, again = _signed_copies(api, client, path, b'{"busiResult": "X"}', 2)
        assert (await client.http.send(first, auth=None)).json()["resultCode"] == "0200000"
        replayed = await client.http.send(again, auth=None)
        # a request refused for a business reason does not use up its signature
        bad, bad_again = _signed_copies(api, client, path, b'{"busiResult": "NOPE"}', 2)
        assert (await client.http.send(bad, auth=None)).json()["resultCode"] == "0200001"
        assert (await client.http.send(bad_again, auth=None)).json()["resultCode"] == "0200001"
    assert replayed.status_code == 401 and "replayed" in replayed.json()["resultDesc"]
    assert len(await _history(api, data_id)) == 1


async def test_one_signature_sent_several_times_at_once_is_written_once(api: Api) -> None:
    api.ctx.replay = SqlReplayGuard(api.ctx.engine)
    _, data_id = await _setup(api, busi("X", 2))
    path = f"/rest/isales/v1/openapi/campaigns/1/callBusiResult/{data_id}"
    async with api.client() as client:
        copies = _signed_copies(api, client, path, b'{"busiResult": "X", "workNo": "7"}', 6)
        replies = await asyncio.gather(*(client.http.send(c, auth=None) for c in copies))
    codes = sorted(r.json()["resultCode"] if r.status_code == 200 else "401" for r in replies)
    assert codes == ["0200000", "401", "401", "401", "401", "401"]
    assert len(await _history(api, data_id)) == 1


async def test_the_batched_path_reports_its_batches_and_when_it_was_left(api: Api) -> None:
    if api.ctx.writeback_fast is None:
        pytest.skip("the batched write-back runs on PostgreSQL")
    _, data_id = await _setup(api, busi("X", 2))
    async with api.client() as client:
        await define(client, "DONE")
        pushing = await make_campaign(
            client, "With push", callBackUrl="https://crm.example/results"
        )
        (pushed,) = await add_numbers(client, pushing, "555")
        replies = await asyncio.gather(
            *[client.write_back(data_id, {"busiResult": "X", "workNo": str(n)}) for n in range(3)],
            client.write_back(pushed, {"busiResult": "DONE"}),  # completes: a push to queue
        )
    assert [r["resultCode"] for r in replies] == ["0200000"] * 4
    metrics = api.ctx.metrics.render().decode()
    reads = re.search(r'writeback_batch_size_sum\{statement="read"\} (\S+)', metrics)
    assert reads is not None and float(reads.group(1)) >= 4  # every write-back read once
    assert 'openisales_writeback_locking_path_total{reason="push"} 1.0' in metrics
