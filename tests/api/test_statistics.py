"""Campaign statistics and failure-category statistics: codes, exact counters at the
VDN-local day boundary, and every counter of a simulated campaign checked against
independent counts taken from the tables."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from openisales.store.tables import data, data_result
from tests.api.test_callresult import (
    attempt_row,
    insert,
    record_row,
    simulate_campaign,
)
from tests.conftest import Api
from tests.dialing import conftest as dialing
from tests.dialing.conftest import Rig
from tests.helpers import campaign_body, make_campaign

rig = dialing.rig  # the dialing rig fixture, shared with tests/api

SHANGHAI = ZoneInfo("Asia/Shanghai")  # both test VDNs


def local_midnight(moment: datetime, days: int = 0) -> datetime:
    """UTC instant of 00:00 in Shanghai on the local day of ``moment`` plus ``days``."""
    day = moment.astimezone(SHANGHAI).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


async def _campaign(rig: Rig, name: str = "Stats", vdn_id: int = 1) -> int:
    now = rig.clock.now()
    body = campaign_body(
        name,
        strBeginTime=now.strftime("%Y-%m-%d 00:00:00"),
        strEndTime=(now + timedelta(days=10)).strftime("%Y-%m-%d 23:59:59"),
    )
    async with rig.client(vdn_id) as client:
        reply = await client.create_campaign(body)
    assert reply["resultCode"] == "0200000", reply
    return int(reply["returnObject"]["id"])


async def test_statistics_codes(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        async with api.client(2) as other:
            await make_campaign(other, "Theirs")
            foreign = await make_campaign(other, "Theirs too")  # id 2 exists only in VDN 2
        base = "/rest/isales/v2/openapi/campaigns/1/statistics"
        replies = [
            (await client.request("GET", base)).json(),
            (await client.request("GET", base, params={"campaignId": ""})).json(),
            await client.statistics("abc"),  # type: ignore[arg-type]
            await client.statistics("-1"),  # type: ignore[arg-type]
            await client.statistics("1" * 20),  # type: ignore[arg-type]
            await client.statistics(cid, "b" * 201),
            await client.statistics(foreign),
            await client.statistics(cid),
        ]
    assert [r["resultCode"] for r in replies] == [
        "02000001",
        "02000001",
        "02000006",
        "02000006",
        "02000003",
        "02000003",
        "0200007",
        "0200000",
    ]
    assert replies[0]["resultDesc"].startswith("campaignId")
    ok = replies[-1]
    assert ok["resultDesc"] == "query success"
    assert ok["countDetail"] == [
        {
            "campaignId": str(cid),
            **dict.fromkeys(
                [
                    "unCallCount",
                    "calledCount",
                    "finishCount",
                    "totalCalledCount",
                    "totalCallSucc",
                    "totalFinishCount",
                    "totalCount",
                    "dailyCalledCount",
                    "dailyCallSucc",
                    "dailyFinishCount",
                    "dailyCount",
                ],
                0,
            ),
            "batchDetail": [],
        }
    ]


async def test_fail_category_codes(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        async with api.client(2) as other:
            await make_campaign(other, "Theirs")
            foreign = await make_campaign(other, "Theirs too")
        base = "/rest/isales/v1/openapi/campaigns/1/failcategorystatistics"
        replies = [
            (await client.request("GET", base)).json(),
            await client.fail_category_statistics("x1"),  # type: ignore[arg-type]
            await client.fail_category_statistics(cid, startDate="2024-05-01"),
            await client.fail_category_statistics(cid, endDate="2024-05-01"),
            await client.fail_category_statistics(cid, startDate="2024-5-1", endDate="2024-05-02"),
            await client.fail_category_statistics(
                cid, startDate="2024-05-02", endDate="2024-05-01"
            ),
            await client.fail_category_statistics(
                cid, startDate="2024-05-01", endDate="2024-05-31"
            ),
            await client.fail_category_statistics(foreign),
            await client.fail_category_statistics(
                cid, startDate="2024-05-01", endDate="2024-05-30"
            ),
            await client.fail_category_statistics(cid),
        ]
    assert [r["resultCode"] for r in replies] == [
        "02000001",
        "02000006",
        "0200008",
        "0200008",
        "0200009",
        "0200010",
        "0200011",
        "0200007",
        "0200000",
        "0200000",
    ]
    assert replies[-1]["resultDesc"] == "query success" and replies[-1]["data"] == []


async def test_counters_at_the_vdn_local_day_boundary(rig: Rig) -> None:
    """Today begins at 00:00 Asia/Shanghai (16:00 UTC the day before), not at 00:00 UTC."""
    rig.clock.set(local_midnight(rig.clock.now(), 1) + timedelta(minutes=30))
    midnight = local_midnight(rig.clock.now())
    before, just = midnight - timedelta(microseconds=1), midnight
    cid = await _campaign(rig)
    other = await _campaign(rig, "Other")
    yesterday_done = record_row(
        1, cid, custom_field="a", created_at=before, completed_at=before, status=3
    )
    today_done = record_row(
        1, cid, custom_field="a", created_at=just, completed_at=just, status=3, attempt_no=2
    )
    uncalled = record_row(1, cid, custom_field="b", status=0, attempt_no=0, created_at=just)
    calling = record_row(1, cid, status=1, created_at=before)  # no batch, no outcome yet
    retrying = record_row(1, cid, custom_field="b", status=0, created_at=before)
    elsewhere = record_row(1, other, custom_field="a", status=3, completed_at=just)
    attempts = [
        attempt_row(yesterday_done, 1, call_status=6, fail_code="00000", created_at=before),
        # rang before midnight, recorded after: the ring time decides the day
        attempt_row(today_done, 1, ack_begin_time=before, created_at=just + timedelta(seconds=9)),
        attempt_row(today_done, 2, call_status=6, fail_code="00000", created_at=just),
        attempt_row(retrying, 1, fail_code="00537", created_at=just),
        attempt_row(elsewhere, 1, fail_code="00537", created_at=just),
    ]
    await insert(
        rig.api, [yesterday_done, today_done, uncalled, calling, retrying, elsewhere], attempts
    )
    async with rig.client() as client:
        whole = await client.statistics(cid)
        batch_b = await client.statistics(cid, "b")
        fails = await client.fail_category_statistics(cid)
    (detail,) = whole["countDetail"]
    assert {k: v for k, v in detail.items() if k != "batchDetail"} == {
        "campaignId": str(cid),
        "totalCount": 5,
        "unCallCount": 1,
        "finishCount": 2,
        "totalFinishCount": 2,
        "dailyFinishCount": 1,
        "dailyCount": 2,
        "totalCalledCount": 4,
        "totalCallSucc": 2,
        "calledCount": 2,
        "dailyCalledCount": 2,
        "dailyCallSucc": 1,
    }
    a, b = detail["batchDetail"]
    assert (a["batchId"], a["totalCount"], a["finishCount"], a["totalCalledCount"]) == (
        "a",
        2,
        2,
        3,
    )
    assert (a["dailyCalledCount"], a["dailyCallSucc"], a["dailyFinishCount"]) == (1, 1, 1)
    assert (b["batchId"], b["totalCount"], b["unCallCount"], b["totalCalledCount"]) == (
        "b",
        2,
        1,
        1,
    )
    assert batch_b["countDetail"][0]["batchDetail"] == [b]
    assert batch_b["countDetail"][0]["totalCount"] == 5  # the campaign's counters stay whole
    today = rig.clock.now().astimezone(SHANGHAI).date()
    assert fails["data"] == [
        {"statDate": str(today - timedelta(days=1)), "failData": {"00000": 1, "00603": 1}},
        {"statDate": str(today), "failData": {"00000": 1, "00537": 1}},
    ]


def _counters(
    records: list[Any], attempts: list[Any], today: date, local: Callable[[datetime], date]
) -> dict[str, int]:
    """The documented definitions, counted in Python from whole rows."""

    def count(items: Iterable[Any], test: Callable[[Any], bool]) -> int:
        return sum(1 for item in items if test(item))

    def when(a: Any) -> datetime:
        return a.ack_begin_time or a.created_at

    placed_today = count(attempts, lambda a: local(when(a)) == today)
    return {
        "unCallCount": count(records, lambda r: r.status != 3 and r.attempt_no == 0),
        "calledCount": placed_today,
        "finishCount": count(records, lambda r: r.status == 3),
        "totalCalledCount": len(attempts),
        "totalCallSucc": count(attempts, lambda a: a.call_status == 6),
        "totalFinishCount": count(records, lambda r: r.status == 3),
        "totalCount": len(records),
        "dailyCalledCount": placed_today,
        "dailyCallSucc": count(attempts, lambda a: a.call_status == 6 and local(when(a)) == today),
        "dailyFinishCount": count(
            records, lambda r: r.status == 3 and local(r.completed_at) == today
        ),
        "dailyCount": count(records, lambda r: local(r.created_at) == today),
    }


async def test_every_counter_of_a_simulated_campaign_matches_the_tables(rig: Rig) -> None:
    # Start at 22:00 local: retries run past midnight, so "today" is a part of the run.
    rig.clock.set(local_midnight(rig.clock.now(), 1) - timedelta(hours=2))
    cid = await simulate_campaign(rig, records=16, seed=11)
    async with rig.client() as client:
        late = [{"called": f"1370000{i:04d}", "customField": "late"} for i in range(3)]
        assert (await client.add_call_data(cid, late))["resultCode"] == "0200000"
        stats = await client.statistics(cid)
        only = await client.statistics(cid, "batch-1")
        fails = await client.fail_category_statistics(cid)
    async with rig.api.ctx.engine.connect() as conn:
        records = (await conn.execute(sa.select(data).where(data.c.campaign_id == cid))).all()
        attempts = (
            await conn.execute(
                sa.select(data_result).where(
                    data_result.c.campaign_id == cid, data_result.c.kind == "attempt"
                )
            )
        ).all()
    today = rig.clock.now().astimezone(SHANGHAI).date()

    def local(moment: datetime) -> date:
        return moment.astimezone(SHANGHAI).date()

    batch_of = {r.data_id: r.custom_field for r in records}
    batches = sorted({r.custom_field for r in records if r.custom_field is not None})
    expected = {
        "campaignId": str(cid),
        **_counters(records, attempts, today, local),
        "batchDetail": [
            {
                "batchId": b,
                **_counters(
                    [r for r in records if r.custom_field == b],
                    [a for a in attempts if batch_of[a.data_id] == b],
                    today,
                    local,
                ),
            }
            for b in batches
        ],
    }
    assert stats["countDetail"] == [expected]
    assert only["countDetail"] == [
        {
            **expected,
            "batchDetail": [d for d in expected["batchDetail"] if d["batchId"] == "batch-1"],
        }
    ]
    # the run is rich enough for every counter to mean something
    assert len(attempts) == len(rig.gateway.tasks) > len(records)
    assert 0 < expected["dailyCalledCount"] < expected["totalCalledCount"]
    assert 0 < expected["dailyCount"] < expected["totalCount"]
    assert 0 < expected["dailyFinishCount"] < expected["finishCount"]
    assert expected["unCallCount"] == 3 and len(batches) == 4
    by_day: dict[str, Counter[str]] = {}
    for a in attempts:
        by_day.setdefault(str(local(a.ack_begin_time or a.created_at)), Counter())[a.fail_code] += 1
    assert fails["data"] == [
        {"statDate": d, "failData": dict(sorted(c.items()))} for d, c in sorted(by_day.items())
    ]
    assert len(fails["data"]) == 2
