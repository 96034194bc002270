"""The claim under a campaign's lock: one round trip (PostgreSQL) equals the separate statements."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.services import dialing
from openisales.services.dialing import AttemptReport
from openisales.store import campaigns, dispatch
from openisales.store.tables import blocklist, campaign, data
from tests.dialing.conftest import Rig
from tests.helpers import add_numbers, campaign_body

_names = itertools.count(1)
FIELDS = (
    "status",
    "attempt_no",
    "attempt_index",
    "lease_owner",
    "lease_expires_at",
    "day_attempts",
    "attempt_day",
    "first_attempt_day",
    "updated_at",
)


async def _campaign(rig: Rig, count: int) -> tuple[int, list[int]]:
    async with rig.client() as client:
        body = campaign_body(f"Claims {next(_names)}")
        body["strBeginTime"] = rig.clock.now().strftime("%Y-%m-%d 00:00:00")
        cid = (await client.create_campaign(body))["returnObject"]["id"]
        ids: list[str] = []
        for start in range(0, count, 20):
            numbers = [str(80000 + i) for i in range(start, min(count, start + 20))]
            ids += await add_numbers(client, cid, *numbers)
    return cid, [int(i) for i in ids]


async def _set(engine: AsyncEngine, data_id: int, **values: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.update(data).where(data.c.data_id == data_id).values(**values))


async def _claim(
    engine: AsyncEngine, cid: int, now: datetime, *, one_trip: bool, **kw: Any
) -> dispatch.CampaignClaim:
    args: dict[str, Any] = {
        "vdn_id": 1,
        "campaign_id": cid,
        "cap": 9,
        "batch": 5,
        "worker": "w-test",
        "now": now,
        "lease_until": now + timedelta(seconds=120),
        "today": now.date().isoformat(),
        "agents": frozenset({"a1"}),
        "fallback_before": now - timedelta(seconds=300),
    }
    return await dispatch.claim_campaign(engine, one_trip=one_trip, **(args | kw))


async def _layout(rig: Rig, now: datetime) -> tuple[int, list[int]]:
    """A campaign of 12 records: due and future retries, reservations, first calls, one calling."""
    engine = rig.api.ctx.engine
    cid, ids = await _campaign(rig, 12)
    for n, data_id in enumerate(ids):
        await _set(engine, data_id, next_call_time=now - timedelta(seconds=30 - n))  # first calls
    ago = timedelta(seconds=10)
    await _set(engine, ids[0], priority=0, attempt_no=1, next_call_time=now - ago)
    await _set(engine, ids[1], priority=0, attempt_no=1, next_call_time=now - ago)
    await _set(engine, ids[2], priority=0, attempt_no=1, next_call_time=now + ago)  # not due
    await _set(engine, ids[3], priority=0, reserved_work_no="a1", next_call_time=now - ago)
    await _set(engine, ids[4], priority=0, reserved_work_no="zz", next_call_time=now - ago)
    await _set(engine, ids[5], priority=0, reserved_work_no="zz", next_call_time=now - 100 * ago)
    await _set(engine, ids[11], status=dispatch.CALLING, attempt_no=1)  # counts toward the cap
    return cid, ids


async def _rows(engine: AsyncEngine, ids: list[int]) -> list[tuple[Any, ...]]:
    columns = [data.c[name] for name in FIELDS]
    async with engine.connect() as conn:
        found = await conn.execute(
            sa.select(data.c.data_id, *columns).where(data.c.data_id.in_(ids))
        )
        by_id = {row[0]: tuple(row[1:]) for row in found}
    return [by_id[i] for i in ids]


def _claim_function_s(rig: Rig) -> AsyncEngine:
    """The rig's engine; the test is skipped where the claim function is not (SQLite)."""
    engine = rig.api.ctx.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("the claim function is PostgreSQL's")
    return engine


async def test_one_round_trip_claims_what_the_statements_claim(rig: Rig) -> None:
    engine = _claim_function_s(rig)
    async with engine.connect() as conn:
        assert await dispatch.claims_in_one_trip(conn)
    now = rig.clock.now()
    runs = []
    for one_trip in (False, True):
        cid, ids = await _layout(rig, now)
        where = {i: n for n, i in enumerate(ids)}
        seen = []
        for kw in ({}, {"first_calls": False}, {"batch": 50}, {"batch": 50}):
            got = await _claim(engine, cid, now, one_trip=one_trip, **kw)
            claimed = [
                (where[c.record.data_id], c.record.attempt_no) for c in dispatch.claims(got.rows)
            ]
            seen.append((got.running, got.limit, sorted(claimed)))
        runs.append((seen, await _rows(engine, ids)))
    assert runs[0] == runs[1]
    seen, _ = runs[0]
    # 1 calling, cap 9, batch 5: the due scheduled records (the old reservation for an
    # absent agent included, the recent one not) before the first calls
    assert seen[0] == (True, 5, [(0, 2), (1, 2), (3, 1), (5, 1), (6, 1)])
    assert seen[1] == (True, 3, [])  # scheduled only: none due left
    assert seen[2] == (True, 3, [(7, 1), (8, 1), (9, 1)])
    assert seen[3] == (True, 0, [])  # at the cap


@pytest.mark.parametrize("one_trip", [False, True])
async def test_a_stopped_campaign_claims_nothing(rig: Rig, one_trip: bool) -> None:
    engine = _claim_function_s(rig) if one_trip else rig.api.ctx.engine
    now = rig.clock.now()
    cid, ids = await _layout(rig, now)
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(campaign).where(campaign.c.campaign_id == cid).values(status=3)
        )
    got = await _claim(engine, cid, now, one_trip=one_trip)
    assert got == dispatch.CampaignClaim(False, 0, [])
    assert {r[0] for r in await _rows(engine, ids[:11])} == {dispatch.WAITING}


async def test_concurrent_claims_never_pass_the_cap(rig: Rig) -> None:
    """Ten claimers at once, in batches of 4, against a cap of 17: exactly 17 in progress."""
    engine = rig.api.ctx.engine
    async with engine.connect() as conn:
        one_trip = await dispatch.claims_in_one_trip(conn)
    assert one_trip == (engine.dialect.name == "postgresql")
    now = rig.clock.now()
    cid, ids = await _campaign(rig, 60)
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(data).where(data.c.campaign_id == cid).values(next_call_time=now)
        )

    async def claimer(worker: str) -> int:
        total = 0
        while True:
            got = await _claim(
                engine, cid, now, one_trip=one_trip, cap=17, batch=4, worker=worker, agents=None
            )
            total += len(got.rows)
            if got.limit == 0 or not got.rows:
                return total

    totals = await asyncio.gather(*(claimer(f"w-{i}") for i in range(10)))
    assert sum(totals) == 17
    async with engine.connect() as conn:
        calling = await dispatch.count_calling(conn, 1, cid)
    assert calling == 17
    assert len(ids) == 60


async def test_the_round_trip_says_whose_number_has_a_blocklist_entry(rig: Rig) -> None:
    """``listed``: an unexpired entry of this VDN for the number the attempt calls (0012)."""
    engine = _claim_function_s(rig)
    now = rig.clock.now()
    cid, ids = await _campaign(rig, 7)
    for data_id in ids:
        await _set(engine, data_id, next_call_time=now - timedelta(seconds=1))
    two = '[{"calledNo":"90001","type":""},{"calledNo":"90002","type":""}]'
    await _set(engine, ids[5], called_nos=two, next_index=1)  # calls its second number
    await _set(engine, ids[6], called_nos=two.replace("90002", "90003"), next_index=1)
    entry = {"expires_at": None, "restrict_times": None, "created_at": now, "updated_at": now}
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(blocklist),
            [
                entry | {"vdn_id": 1, "number": "80000"},  # listed
                entry | {"vdn_id": 1, "number": "80001", "expires_at": now},  # expired
                entry | {"vdn_id": 2, "number": "80002"},  # another VDN's
                entry | {"vdn_id": 1, "number": "80003", "restrict_times": 3},  # restricted
                entry | {"vdn_id": 1, "number": "90002", "expires_at": now + timedelta(days=1)},
                entry | {"vdn_id": 1, "number": "90001"},  # ids[6] calls 90003, not this one
            ],
        )
    got = await _claim(engine, cid, now, one_trip=True, batch=50, cap=50, agents=None)
    assert {c.record.data_id for c in dispatch.claims(got.rows)} == set(ids)
    assert got.listed == {ids[0], ids[3], ids[5]}
    for data_id in ids:
        await _set(engine, data_id, status=dispatch.WAITING)
    apart = await _claim(engine, cid, now, one_trip=False, batch=50, cap=50, agents=None)
    assert len(apart.rows) == 7 and apart.listed is None  # the statements do not look


async def _calling(engine: AsyncEngine, cid: int) -> tuple[int, int]:
    """(the claim function's count of calls in progress, the records being called)."""
    async with engine.connect() as conn:
        kept = await conn.scalar(
            sa.text("SELECT coalesce(sum(delta), 0) FROM t_isl_calling WHERE campaign_id = :c"),
            {"c": cid},
        )
        return int(kept), await dispatch.count_calling(conn, 1, cid)


async def test_the_count_of_calls_in_progress_follows_every_change(rig: Rig) -> None:
    """Claims both ways, outcomes, any other update, deletes: the kept count (0013) stays exact."""
    engine = _claim_function_s(rig)
    now = rig.clock.now()
    cid, ids = await _campaign(rig, 30)
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(data).where(data.c.campaign_id == cid).values(next_call_time=now)
        )
    seen = []

    async def claim(one_trip: bool, **kw: Any) -> list[int]:
        got = await _claim(engine, cid, now, one_trip=one_trip, agents=None, **kw)
        seen.append(await _calling(engine, cid))
        return [c.record.data_id for c in dispatch.claims(got.rows)]

    first = await claim(True, batch=10, cap=100)
    second = await claim(False, batch=5, cap=100)
    reports = [AttemptReport(1, i, 1, "00603" if n % 2 else "00000") for n, i in enumerate(first)]
    await dialing.record_attempts(
        engine, rig.api.ctx.ids, reports[:4], now=now, timing=dialing.DialerTiming()
    )
    seen.append(await _calling(engine, cid))
    async with engine.begin() as conn:  # any other writer, and a delete
        await conn.execute(sa.update(data).where(data.c.data_id.in_(second[:2])).values(status=0))
        await conn.execute(sa.delete(data).where(data.c.data_id == second[2]))
        await conn.execute(sa.update(data).where(data.c.data_id == ids[-1]).values(status=1))
    seen.append(await _calling(engine, cid))
    third = await claim(True, batch=50, cap=11)  # 9 in progress: the cap leaves 2
    assert [len(first), len(second), len(third)] == [10, 5, 2]
    assert seen == [(10, 10), (15, 15), (11, 11), (9, 9), (11, 11)]
    async with engine.begin() as conn:  # the campaign goes, and its count with it
        await campaigns.delete(conn, 1, cid)
    async with engine.connect() as conn:
        left = await conn.scalar(
            sa.text("SELECT count(*) FROM t_isl_calling WHERE campaign_id = :c"), {"c": cid}
        )
    assert left == 0
