"""Every hot statement runs on one shard (a *router* statement) on Citus.

Two checks, both on the module's database:

* **The guard.** After ``migrate`` the database gets
  ``citus.multi_task_query_log_level = 'error'``: every session of it (the
  app's pools, the batched write-back's and the replay guard's connections)
  fails a statement Citus would run as several tasks, instead of running it.
  The hot paths then run: the dispatcher's claim, attempt outcomes (one VDN,
  and a batch mixing VDNs: one statement per VDN), the outbox, a CTI's report
  through the signed endpoint, the write-back (batched, two VDNs at once, and
  locking). The checks of the tests read through an engine of their own that
  lifts the guard.
* **The plans.** Each statement the app's engine ran in a hot path is
  explained again (``EXPLAIN``, which runs nothing): a statement on
  distributed tables must be planned as one task, never through the
  coordinator (``INSERT … SELECT`` pulled to it, or a repartition), which
  the guard alone would not see.

An import (``openisales import``: its checks, the COPY, the bookkeeping) runs
under the guard too.

Cross-tenant housekeeping (lease recovery, expiry, push rounds, the campaigns
a dispatcher reads) is multi-shard by design and not run here (decision 9).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.domain.dialing import Claim
from openisales.services import dialing
from openisales.services.dialing import AttemptReport
from openisales.store import attempts, dispatch
from openisales.store.engine import create_engine
from openisales.store.tables import data, data_result, push_outbox
from tests.citus.conftest import _run, openisales
from tests.cli.test_import import HEADER, _file, _import
from tests.conftest import Api
from tests.dialing.conftest import Rig, rig  # noqa: F401 (the fixture)
from tests.helpers import add_numbers, campaign_body, define

GUARD = "citus.multi_task_query_log_level"
DML = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.I)


@pytest.fixture(scope="module")
def migrated(citus_database: str) -> Iterator[str]:
    """The module's database, migrated, then refusing multi-shard statements in every session."""
    openisales(citus_database, "migrate")
    name = sa.make_url(citus_database).database
    asyncio.run(_run(citus_database, f'ALTER DATABASE "{name}" SET {GUARD} = error'))
    yield citus_database


@pytest.fixture
async def checking(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine for the tests' own checks, which may read every VDN (the guard lifted)."""
    engine = create_engine(database_url, server_settings={GUARD: "off"})
    yield engine
    await engine.dispose()


class Statements:
    """The statements an engine runs (with their first parameters), to explain afterwards."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.seen: list[tuple[str, tuple[Any, ...]]] = []
        sa.event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool):  # type: ignore[no-untyped-def]
        if DML.match(statement):
            first = params[0] if many and params else params
            self.seen.append((statement, tuple(first or ())))

    def stop(self) -> None:
        sa.event.remove(self.engine.sync_engine, "before_cursor_execute", self._seen)

    async def plans(self, url: str) -> dict[str, str]:
        """Each distinct statement seen -> its plan on the coordinator."""
        conn = await asyncpg.connect(dsn(url), server_settings={GUARD: "off"})
        try:
            out: dict[str, str] = {}
            for statement, params in self.seen:
                if statement not in out:
                    rows = await conn.fetch(f"EXPLAIN (COSTS OFF) {statement}", *params)
                    out[statement] = "\n".join(r[0] for r in rows)
            return out
        finally:
            await conn.close()


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def multi_shard(plan: str) -> str | None:
    """Why ``plan`` is not a router plan (None: it is one, or no distributed table is in it)."""
    counts = [int(n) for n in re.findall(r"Task Count: (\d+)", plan)]
    if any(n != 1 for n in counts):
        return f"task counts {counts}"
    for method in ("pull to coordinator", "repartition", "Distributed Subplan"):
        if method in plan:
            return method
    return None


async def assert_routed(statements: Statements, url: str) -> int:
    """Every statement ``statements`` saw is a router statement; how many distinct ones."""
    statements.stop()
    plans = await statements.plans(url)
    assert plans, "no statement was seen"
    wrong = {s.strip()[:160]: why for s, p in plans.items() if (why := multi_shard(p))}
    assert not wrong, wrong
    return len(plans)


async def test_the_guard_refuses_a_multi_shard_statement(database_url: str) -> None:
    """The checks below can fail: here a statement over every shard is refused."""
    conn = await asyncpg.connect(dsn(database_url))
    try:
        assert await conn.fetchval(f"SHOW {GUARD}") == "error"
        with pytest.raises(asyncpg.PostgresError, match="multi-task"):
            await conn.fetchval("SELECT count(*) FROM t_isl_data")
        assert await conn.fetchval("SELECT count(*) FROM t_isl_data WHERE vdn_id = 1") == 0
        # single PostgreSQL's one statement for a batch of outcomes, even of one VDN
        batched = attempts._batched_sql(("vdn_id", "result_id", "data_id"))
        batched = batched.replace(":updates", "$1").replace(":history", "$2")
        rows = json.dumps([{"k_vdn": 1, "k_data": 5, "vdn_id": 1, "result_id": 7, "data_id": 5}])
        with pytest.raises(asyncpg.PostgresError, match="multi-task"):
            async with conn.transaction():
                await conn.execute(batched, rows, rows)
    finally:
        await conn.close()
    conn = await asyncpg.connect(dsn(database_url), server_settings={GUARD: "off"})
    try:
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN SELECT * FROM t_isl_data"))
        assert multi_shard(plan) == "task counts [4]"
    finally:
        await conn.close()


async def _campaign(on: Rig, vdn_id: int, count: int) -> int:
    """A running campaign of ``vdn_id`` with a receiver for its results and ``count`` records."""
    async with on.client(vdn_id) as client:
        await define(client, "X")
        body = campaign_body("Routed", callBackUrl="https://crm.example/results")
        body["strBeginTime"] = on.clock.now().strftime("%Y-%m-%d 00:00:00")
        reply = await client.create_campaign(body)
        cid = int(reply["returnObject"]["id"])
        await add_numbers(client, cid, *[str(5000 + i) for i in range(count)])
        reply = await client.set_dialing(
            cid, {"gateway": "simulator", "gatewayConfig": {"mix": {"00603": 1}}}
        )
        assert reply["resultCode"] == "0200000", reply
    return cid


async def _claim(on: Rig, vdn_id: int, cid: int, count: int) -> list[Claim]:
    """Up to ``count`` records of ``cid`` claimed as the dispatcher claims them."""
    engine = on.api.ctx.engine
    async with engine.connect() as conn:
        one_trip = await dispatch.claims_in_one_trip(conn)
    assert one_trip is False  # on Citus the claim's statements stay apart
    now = on.clock.now()
    got = await dispatch.claim_campaign(
        engine,
        one_trip=one_trip,
        vdn_id=vdn_id,
        campaign_id=cid,
        cap=100,
        batch=count,
        worker="w-routed",
        now=now,
        lease_until=now + timedelta(minutes=2),
        today=now.date().isoformat(),
        agents=None,
        fallback_before=None,
    )
    assert got.running and len(got.rows) == count
    return dispatch.claims(got.rows)


def _reports(claims: list[Any], codes: list[str]) -> list[AttemptReport]:
    return [
        AttemptReport(c.record.vdn_id, c.record.data_id, c.record.attempt_no, code, call_id="c")
        for c, code in zip(claims, codes, strict=True)
    ]


async def _record(on: Rig, reports: list[AttemptReport]) -> list[dialing.Applied]:
    return await dialing.record_attempts(
        on.api.ctx.engine,
        on.api.ctx.ids,
        reports,
        now=on.clock.now(),
        timing=dialing.DialerTiming(),
        displays=dialing.display_map,
    )


async def test_claims_and_attempt_outcomes_of_one_vdn_are_routed(
    rig: Rig,  # noqa: F811
    checking: AsyncEngine,
    database_url: str,
) -> None:
    cid = await _campaign(rig, 1, 4)
    statements = Statements(rig.api.ctx.engine)
    claims = await _claim(rig, 1, cid, 4)
    # answered (awaits its write-back), not answered (completes: pushed), twice
    applied = await _record(rig, _reports(claims, ["00000", "00603", "00000", "00603"]))
    assert [a.applied for a in applied] == [True] * 4
    assert await assert_routed(statements, database_url) >= 5
    async with checking.connect() as conn:
        history = (await conn.execute(sa.select(data_result.c.vdn_id))).all()
        statuses = sorted((await conn.execute(sa.select(data.c.status))).scalars())
        pushed = (await conn.execute(sa.select(sa.func.count()).select_from(push_outbox))).scalar()
    assert len(history) == 4
    assert statuses == [2, 2, 3, 3]  # awaiting the write-back, completed
    assert pushed == 2


async def test_a_batch_of_outcomes_of_two_vdns_runs_one_routed_statement_per_vdn(
    rig: Rig,  # noqa: F811
    checking: AsyncEngine,
    database_url: str,
) -> None:
    claims = {v: await _claim(rig, v, await _campaign(rig, v, 3), 3) for v in (1, 2)}
    statements = Statements(rig.api.ctx.engine)
    reports = _reports(claims[2], ["00603"] * 3) + _reports(claims[1], ["00000"] * 3)
    applied = await _record(rig, reports)
    assert all(a.applied for a in applied)
    await assert_routed(statements, database_url)
    async with checking.connect() as conn:
        rows = await conn.execute(sa.select(data.c.vdn_id, data.c.status, data.c.lease_owner))
        history = await conn.execute(sa.select(data_result.c.vdn_id, data_result.c.data_id))
        assert sorted(rows.all()) == [(1, 2, None)] * 3 + [(2, 3, None)] * 3
        assert sorted(history.all()) == sorted(
            (c.record.vdn_id, c.record.data_id) for v in (1, 2) for c in claims[v]
        )


async def test_a_cti_report_through_the_signed_endpoint_is_routed(
    rig: Rig,  # noqa: F811
    checking: AsyncEngine,
) -> None:
    (claim,) = await _claim(rig, 2, await _campaign(rig, 2, 1), 1)
    body = {
        "attemptId": f"{claim.record.data_id}:{claim.record.attempt_no}",
        "failCode": "00603",
        "callStatus": 5,
    }
    async with rig.client(2) as client:
        reply = await client.report_attempt(body)
    assert reply["resultCode"] == "0200000", reply
    async with checking.connect() as conn:
        assert (await conn.execute(sa.select(data.c.status))).scalar() == 3


async def _write_backs(api: Api, checking: AsyncEngine) -> None:
    ids: dict[int, list[str]] = {}
    for vdn_id in (1, 2):
        async with api.client(vdn_id) as client:
            await define(client, "X")
            reply = await client.create_campaign(campaign_body())
            cid = int(reply["returnObject"]["id"])
            ids[vdn_id] = await add_numbers(client, cid, *[f"1380000{n:04d}" for n in range(5)])
    async with api.client(1) as one, api.client(2) as two:
        clients = {1: one, 2: two}
        replies = await asyncio.gather(
            *(
                clients[v].write_back(i, {"busiResult": "X", "workNo": str(v)})
                for v in (1, 2)
                for i in ids[v]
            )
        )
    assert [r["resultCode"] for r in replies] == ["0200000"] * 10, replies
    async with checking.connect() as conn:
        rows = (await conn.execute(sa.select(data_result.c.vdn_id, data_result.c.data_id))).all()
    assert sorted(rows) == sorted((v, int(i)) for v in (1, 2) for i in ids[v])


async def test_the_batched_write_back_of_two_vdns_is_routed(
    api: Api, checking: AsyncEngine
) -> None:
    assert api.ctx.writeback_fast is not None
    await _write_backs(api, checking)
    assert api.ctx.writeback_fast._distributed is True  # the per-VDN statements ran


async def test_the_locking_write_back_is_routed(
    api: Api, checking: AsyncEngine, database_url: str
) -> None:
    fast, api.ctx.writeback_fast = api.ctx.writeback_fast, None
    statements = Statements(api.ctx.engine)
    try:
        await _write_backs(api, checking)
    finally:
        api.ctx.writeback_fast = fast
    await assert_routed(statements, database_url)


async def test_an_import_runs_under_the_guard(
    rig: Rig,  # noqa: F811
    checking: AsyncEngine,
    tmp_path: Path,
) -> None:
    """``openisales import``'s checks, COPY and bookkeeping for one VDN: no multi-shard query."""
    cid = await _campaign(rig, 2, 1)
    async with rig.client(2) as client:
        await client.add_blocklist({"blocklist": ["13800000009"]})
    lines = "".join(f"1380000{n:04d},s-{n},,,,\n" for n in range(1, 11))
    path = _file(tmp_path, HEADER + lines)
    result = await _import(rig.api, tmp_path, "--vdn", "2", "--campaign", str(cid), path)
    assert result.exit_code == 1, result.output  # 13800000009 is blocklisted: nothing loads
    assert "blocklist" in result.output.lower()
    result = await _import(
        rig.api, tmp_path, "--vdn", "2", "--campaign", str(cid), "--skip-bad", path
    )
    assert result.exit_code == 0, result.output
    assert "rows read 10, loaded 9, refused 1" in result.output
    async with checking.connect() as conn:
        found = await conn.execute(
            sa.select(data.c.vdn_id, sa.func.count()).group_by(data.c.vdn_id)
        )
        assert found.all() == [(2, 10)]  # the campaign's record, and the nine imported
