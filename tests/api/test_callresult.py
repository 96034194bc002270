"""The call-result query: codes, final result vs every attempt, VDN-local days, paging,
and the results of a campaign really dialled by the dispatcher and the simulator."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from openisales.store.ids import compose
from openisales.store.tables import data, data_result
from tests.conftest import Api
from tests.dialing import conftest as dialing
from tests.dialing.conftest import Rig
from tests.helpers import campaign_body, define, make_campaign

rig = dialing.rig  # the dialing rig fixture, shared with tests/api

_serial = iter(range(10_000_000, 20_000_000))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def record_row(vdn_id: int, cid: int, *, status: int = 3, **values: Any) -> dict[str, Any]:
    """A t_isl_data row for SQL arrangement (ids far above the allocator's)."""
    now = values.pop("created_at", utc(2024, 5, 1))
    return {
        **dict.fromkeys(data.c.keys()),
        "day_attempts": 0,
        "priority": 1,
        "vdn_id": vdn_id,
        "data_id": compose(vdn_id, next(_serial)),
        "campaign_id": cid,
        "called_nos": json.dumps([{"calledNo": "13800000001", "type": ""}]),
        "next_index": 0,
        "attempt_index": 0,
        "status": status,
        "attempt_no": 1,
        "created_at": now,
        "updated_at": now,
        **values,
    }


def attempt_row(record: dict[str, Any], attempt_no: int, **values: Any) -> dict[str, Any]:
    return {
        **dict.fromkeys(data_result.c.keys()),
        "created_at": utc(2024, 5, 1),
        "vdn_id": record["vdn_id"],
        "result_id": compose(record["vdn_id"], next(_serial)),
        "data_id": record["data_id"],
        "campaign_id": record["campaign_id"],
        "kind": "attempt",
        "attempt_no": attempt_no,
        "called": "13800000001",
        "call_status": 5,
        "fail_code": "00603",
        **values,
    }


def busi_row(
    record: dict[str, Any], attempt_no: int, busi: str, sub: str | None, at: datetime
) -> dict[str, Any]:
    return {
        **dict.fromkeys(data_result.c.keys()),
        "vdn_id": record["vdn_id"],
        "result_id": compose(record["vdn_id"], next(_serial)),
        "data_id": record["data_id"],
        "campaign_id": record["campaign_id"],
        "kind": "busi",
        "attempt_no": attempt_no,
        "busi_result": busi,
        "sub_status": sub,
        "created_at": at,
    }


async def insert(api: Api, records: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
    async with api.ctx.engine.begin() as conn:
        if records:
            await conn.execute(sa.insert(data), records)
        if results:
            await conn.execute(sa.insert(data_result), results)


BODY_CODES = [
    ({"sessionId": "s" * 33}, "02000003"),
    ({"customField": "c" * 201}, "02000003"),
    ({"sessionId": 5}, "02000006"),
    ({"pageSize": "10"}, "02000006"),
    ({"showDetail": 2}, "02000007"),
    ({"pageSize": 501}, "02000007"),
    ({"showDetail": 1, "pageSize": 101}, "02000007"),
    ({"pageSize": 0}, "02000007"),
    ({"pageNum": 0}, "02000007"),
    ({"beginTime": "2024-05-01"}, "0200008"),
    ({"endTime": "2024-05-01"}, "0200008"),
    ({"beginTime": "2024/05/01", "endTime": "2024-05-02"}, "0200009"),
    ({"beginTime": "2024-05-01", "endTime": "2024-02-30"}, "0200009"),
    ({"beginTime": "2024-05-02", "endTime": "2024-05-02"}, "0200010"),
    ({"beginTime": "2024-05-03", "endTime": "2024-05-02"}, "0200010"),
    ({"beginTime": "2024-05-01", "endTime": "2024-06-01"}, "0200011"),
]


async def test_every_parameter_code(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        async with api.client(2) as other:
            await make_campaign(other, "Theirs")
            foreign = await make_campaign(other, "Theirs too")  # id 2 exists only in VDN 2
        ok = await client.query_call_results(cid)
        codes = [(await client.query_call_results(cid, b))["resultCode"] for b, _ in BODY_CODES]
        missing = [await client.query_call_results(c) for c in (foreign, 999_999)]
        client.http.headers["Content-Type"] = "application/json; charset=UTF-8"
        base = "/rest/isales/v1/openapi/campaigns/1/callresult"
        raw = [(f"{base}/{cid}", b"pageSize=1"), (f"{base}/{cid}", b"[1]"), (f"{base}/abc", b"{}")]
        refused = [(await client.http.post(url, content=body)).json() for url, body in raw]
        empty = (await client.http.post(f"{base}/{cid}", content=b"")).json()
    assert ok == {
        "resultCode": "0200000",
        "resultDesc": "Query Success!",
        "returnCode": "0200000",
        "returnDesc": "Query Success!",
        "totalCount": 0,
        "data": [],
    }
    assert codes == [code for _, code in BODY_CODES]
    assert [m["resultCode"] for m in missing] == ["0200007", "0200007"]
    assert [r["resultCode"] for r in refused] == ["02000008", "02000006", "02000006"]
    assert empty["resultCode"] == "0200000"


async def _arranged(api: Api) -> tuple[int, dict[str, dict[str, Any]]]:
    """A: two attempts (local 23:00 May 1, 00:30 May 2) and two write-backs of the second;
    B: one attempt without ring time (recorded 11:00 May 2 local); C open; D never dialled."""
    async with api.client() as client:
        cid = await make_campaign(client)
    a = record_row(
        1, cid, session_id="s-a", custom_field="b1", busi_result="SOLD", sub_status="GOLD"
    )
    a["attempt_no"] = 2
    b = record_row(1, cid, custom_field="b2")
    c = record_row(1, cid, status=0, custom_field="b1")
    d = record_row(1, cid, attempt_no=0, custom_field="b1", complete_reason="expired")
    a1 = attempt_row(a, 1, ack_begin_time=utc(2024, 5, 1, 15), created_at=utc(2024, 5, 1, 15, 1))
    a2 = attempt_row(
        a,
        2,
        call_status=6,
        fail_code="00000",
        result_code="OB1",
        call_id="c-a2",
        called="13800000002",
        ack_begin_time=utc(2024, 5, 1, 16, 30),
        call_begin_time=utc(2024, 5, 1, 16, 30, 5),
        call_end_time=utc(2024, 5, 1, 16, 40),
        created_at=utc(2024, 5, 1, 16, 40),
    )
    b1 = attempt_row(b, 1, fail_code="00537", created_at=utc(2024, 5, 2, 3))
    c1 = attempt_row(c, 1, created_at=utc(2024, 5, 2, 3))
    busi = [
        busi_row(a, 2, "CALLBACK", None, utc(2024, 5, 1, 16, 41)),
        busi_row(a, 2, "SOLD", "GOLD", utc(2024, 5, 1, 16, 42)),
    ]
    await insert(api, [a, b, c, d], [a1, a2, b1, c1, *busi])
    return cid, {"a": a, "b": b}


async def test_final_results_and_every_attempt_of_completed_records(api: Api) -> None:
    cid, rec = await _arranged(api)
    a, b = str(rec["a"]["data_id"]), str(rec["b"]["data_id"])
    async with api.client() as client:
        final = await client.query_call_results(cid)
        detail = await client.query_call_results(cid, {"showDetail": 1})
    assert final["totalCount"] == 2
    assert final["data"][0] == {
        "campaignId": str(cid),
        "sessionId": "s-a",
        "called": "13800000002",
        "callTimeStr": "2024-05-02 00:30:00",  # ring start, Asia/Shanghai wall clock
        "callStatus": 6,
        "failCode": "00000",
        "resultCode": "OB1",
        "vdnId": 1,
        "callId": "c-a2",
        "recordPath": None,
        "dataId": a,
        "customField": "b1",
        "busiResult": "SOLD",
        "subStatus": "GOLD",
    }
    assert final["data"][1]["dataId"] == b
    assert final["data"][1]["callTimeStr"] == "2024-05-02 11:00:00"  # no ring time: recorded
    assert (final["data"][1]["callStatus"], final["data"][1]["failCode"]) == (5, "00537")
    assert detail["totalCount"] == 3
    rows = [(r["dataId"], r["failCode"], r["busiResult"], r["subStatus"]) for r in detail["data"]]
    assert rows == [
        (a, "00603", None, None),
        (a, "00000", "SOLD", "GOLD"),  # the latest write-back of that attempt
        (b, "00537", None, None),
    ]
    assert detail["data"][0]["callTimeStr"] == "2024-05-01 23:00:00"


async def test_days_are_vdn_local_begin_inclusive_end_exclusive(api: Api) -> None:
    cid, rec = await _arranged(api)
    a, b = str(rec["a"]["data_id"]), str(rec["b"]["data_id"])
    may1 = {"beginTime": "2024-05-01", "endTime": "2024-05-02"}
    may2 = {"beginTime": "2024-05-02", "endTime": "2024-05-03"}
    async with api.client() as client:
        replies = [
            await client.query_call_results(cid, {**may1, "showDetail": 1}),
            await client.query_call_results(cid, may1),
            await client.query_call_results(cid, {**may2, "showDetail": 1}),
            await client.query_call_results(cid, may2),
            await client.query_call_results(
                cid, {"beginTime": "2024-04-01", "endTime": "2024-05-01"}
            ),
        ]
    found = [[(r["dataId"], r["failCode"]) for r in reply["data"]] for reply in replies]
    assert found == [
        [(a, "00603")],  # 15:00 UTC is 23:00 on May 1 in Shanghai
        [],  # A's final attempt was on May 2 local
        [(a, "00000"), (b, "00537")],
        [(a, "00000"), (b, "00537")],
        [],
    ]
    assert [r["totalCount"] for r in replies] == [1, 0, 2, 2, 0]


async def test_session_batch_and_page_filters(api: Api) -> None:
    cid, rec = await _arranged(api)
    a, b = str(rec["a"]["data_id"]), str(rec["b"]["data_id"])
    async with api.client() as client:
        by_session = await client.query_call_results(cid, {"sessionId": "s-a", "showDetail": 1})
        by_batch = await client.query_call_results(cid, {"customField": "b2"})
        second = await client.query_call_results(
            cid, {"showDetail": 1, "pageSize": 2, "pageNum": 2}
        )
        beyond = await client.query_call_results(cid, {"pageSize": 2, "pageNum": 5})
    assert [r["dataId"] for r in by_session["data"]] == [a, a]
    assert [r["dataId"] for r in by_batch["data"]] == [b] and by_batch["totalCount"] == 1
    assert [r["dataId"] for r in second["data"]] == [b] and second["totalCount"] == 3
    assert beyond["data"] == [] and beyond["totalCount"] == 2


async def test_without_page_size_at_most_2000_rows(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
    records = [record_row(1, cid) for _ in range(2001)]
    attempts = [
        attempt_row(r, 1, created_at=utc(2024, 5, 1) + timedelta(seconds=i))
        for i, r in enumerate(records)
    ]
    await insert(api, records, attempts)
    async with api.client() as client:
        first = await client.query_call_results(cid)
        rest = await client.query_call_results(cid, {"pageNum": 2})
    assert (first["totalCount"], len(first["data"])) == (2001, 2000)
    assert [r["dataId"] for r in rest["data"]] == [str(records[-1]["data_id"])]


async def simulate_campaign(rig: Rig, *, records: int = 12, seed: int = 3) -> int:
    """A campaign dialled by the dispatcher through the simulator, with write-backs.

    Answered calls are written back (SOLD stops, CALLBACK redials the number,
    REFUSED dials the next number) or left without a write-back; failures retry
    by the result policy. Runs in virtual time until every record is completed.
    """
    async with rig.client() as client:
        for code in ("SOLD", "CALLBACK", "REFUSED"):
            await define(client, code)
        obs = {"resultCode": "OB537", "displayResult": "Busy", "obsCodes": ["00537"]}
        assert (await client.create_obs_result(obs))["resultCode"] == "0200000"
        now = rig.clock.now()
        body = campaign_body(
            f"Results {seed}",
            strBeginTime=now.strftime("%Y-%m-%d 00:00:00"),
            strEndTime=(now + timedelta(days=10)).strftime("%Y-%m-%d 23:59:59"),
            retryPolicy={
                "policyType": 0,
                "policyJson": "[{'type':1,'policy':[{'result':1,'retryNumber':2,"
                "'callInterval':3600},{'result':2,'retryNumber':1,'callInterval':7200}]}]",
                "busiPolicy": [
                    {"busiResultCode": "CALLBACK", "busiResultPolicy": 2, "callInterval": 1800},
                    {"busiResultCode": "SOLD", "busiResultPolicy": 0},
                    {"busiResultCode": "REFUSED", "busiResultPolicy": 1, "callInterval": 600},
                ],
            },
        )
        reply = await client.create_campaign(body)
        assert reply["resultCode"] == "0200000", reply
        cid = int(reply["returnObject"]["id"])
        batch = [
            {
                "sessionId": f"s-{i}",
                "customField": f"batch-{i % 3}" if i % 4 else None,
                "called": [{"calledNo": f"1390000{i:04d}"}, {"calledNo": f"0210000{i:04d}"}],
            }
            for i in range(records)
        ]
        added = await client.add_call_data(cid, batch, version=2)
        assert added["resultCode"] == "0200000", added
    mix = {"00000": 0.5, "00537": 0.2, "00603": 0.2, "00548": 0.1}
    await rig.configure(cid, seed=seed, mix=mix)
    await _drive(rig, cid, random.Random(seed))
    return cid


async def _drive(rig: Rig, cid: int, rng: random.Random) -> None:
    """Tick; write back new answered attempts (or not); when idle, jump to the next due time."""
    handled: set[tuple[int, int]] = set()
    engine = rig.api.ctx.engine
    for _ in range(2000):
        await rig.dispatcher.tick()
        async with engine.connect() as conn:
            awaiting = (
                await conn.execute(
                    sa.select(data.c.data_id, data.c.attempt_no)
                    .where(data.c.campaign_id == cid, data.c.status == 2)
                    .order_by(data.c.data_id)
                )
            ).all()
        fresh = [(d, n) for d, n in awaiting if (d, n) not in handled]
        async with rig.client() as client:
            for data_id, attempt_no in fresh:
                handled.add((data_id, attempt_no))
                result = rng.choice(["SOLD", "CALLBACK", "REFUSED", None])
                if result is not None:
                    reply = await client.write_back(data_id, {"busiResult": result})
                    assert reply["resultCode"] == "0200000", reply
        if fresh:
            continue
        async with engine.connect() as conn:
            due = (
                await conn.execute(
                    sa.select(sa.func.min(data.c.next_call_time)).where(
                        data.c.campaign_id == cid, data.c.status.in_([0, 2])
                    )
                )
            ).scalar()
        if due is None:
            return
        rig.clock.set(max(rig.clock.now() + timedelta(seconds=1), due))
    raise AssertionError("the simulated campaign did not finish")


async def test_results_of_a_simulated_dispatch(rig: Rig) -> None:
    cid = await simulate_campaign(rig)
    async with rig.api.ctx.engine.connect() as conn:
        records = {
            r.data_id: r
            for r in (await conn.execute(sa.select(data).where(data.c.campaign_id == cid))).all()
        }
    async with rig.client() as client:
        final = await client.query_call_results(cid)
        detail = await client.query_call_results(cid, {"showDetail": 1, "pageSize": 100})
    assert all(r.status == 3 for r in records.values())
    tasks = rig.gateway.tasks
    last = {t.data_id: t for t in sorted(tasks, key=lambda t: t.attempt_no)}
    assert final["totalCount"] == len(records) == len(last)
    for row in final["data"]:
        record, task = records[int(row["dataId"])], last[int(row["dataId"])]
        assert row["callId"] == f"sim-{task.data_id}-{task.attempt_no}"
        assert row["called"] == task.called
        assert (row["callStatus"], row["failCode"]) == (
            record.last_call_status,
            record.last_fail_code,
        )
        assert row["resultCode"] == ("OB537" if row["failCode"] == "00537" else None)
        assert (row["busiResult"], row["subStatus"]) == (record.busi_result, record.sub_status)
        assert row["sessionId"] == record.session_id and row["customField"] == record.custom_field
    assert detail["totalCount"] == len(tasks) > len(records)
    assert sorted(r["callId"] for r in detail["data"]) == sorted(
        f"sim-{t.data_id}-{t.attempt_no}" for t in tasks
    )
    times = [r["callTimeStr"] for r in detail["data"]]
    assert times == sorted(times)
    assert {r["callStatus"] for r in detail["data"]} == {5, 6}
