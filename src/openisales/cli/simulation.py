"""``openisales simulate``: a whole campaign end to end on one machine, no telephony.

Results are defined, a campaign is created, call data added, calls placed by
the dispatcher through the simulator, business results written back by
simulated agents through the real (signed) write-back endpoint, retries placed
by the campaign's policies, reserved retries offered to their agent. Time is
virtual: the clock jumps to the next due call, so hours of campaign run in
seconds, and the same seed gives the same run.

By default (:func:`run_isolated`) the simulation runs on a database of its
own, in a temporary directory removed afterwards: a server or worker running
on the configured database cannot dial the simulated campaign, and the same
seed gives the same summary whatever else runs. :func:`run` uses the
configured database instead (``openisales simulate --in-database``).
"""

from __future__ import annotations

import itertools
import secrets
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from openisales.api.app import build_context, create_app
from openisales.auth.vault import Vault, master_key
from openisales.client import AsyncClient, C2Auth
from openisales.clock import FixedClock
from openisales.config import Settings
from openisales.dialing.gateways.base import Gateway
from openisales.dialing.gateways.recording import Recording
from openisales.dialing.wiring import build_dispatcher
from openisales.services import admin
from openisales.services.audit import CLI
from openisales.store import schema
from openisales.store.credentials import get_vdn
from openisales.store.tables import data, data_result

RESULTS = {"SOLD": ["GOLD", "BASIC"], "CALLBACK": [], "REFUSED": []}


@dataclass(frozen=True)
class Summary:
    campaign_id: int
    records: int
    attempts: int
    answered: int
    write_backs: int
    retries_by_business_policy: int
    reserved_retries: int
    reserved_to_their_agent: int
    outcomes: dict[str, int]
    completion: dict[str, int]
    final_results: dict[str, int]
    simulated: timedelta

    def lines(self) -> list[str]:
        def fmt(counts: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))

        return [
            f"campaign {self.campaign_id}: {self.records} records, simulated time {self.simulated}",
            f"attempts placed      {self.attempts} (answered {self.answered})",
            f"attempt outcomes     {fmt(self.outcomes)}",
            f"write-backs          {self.write_backs}",
            f"busiPolicy retries   {self.retries_by_business_policy}",
            f"reserved retries     {self.reserved_retries} "
            f"({self.reserved_to_their_agent} offered to the agent who wrote the result back)",
            f"records completed    {fmt(self.completion)}",
            f"final results        {fmt(self.final_results)}",
        ]


def _campaign_body(now: datetime) -> dict[str, Any]:
    return {
        "name": f"Simulation {now:%Y%m%d%H%M%S}-{secrets.token_hex(2)}",
        "strBeginTime": now.strftime("%Y-%m-%d 00:00:00"),
        "strEndTime": (now + timedelta(days=7)).strftime("%Y-%m-%d 23:59:59"),
        "deviceType": 2,
        "callerNo": [{"accessCode": "88889527", "priority": 1}],
        "maxAlertingTime": 30,
        "scheduleParam": {
            "workdayBeginTime1": "00:00",
            "workdayEndTime1": "23:59",
            "holidayBeginTime1": "00:00",
            "holidayEndTime1": "23:59",
        },
        "skillParam": {"skillId": 1, "skillName": "sales", "outBoundType": 2},
        "callPolicy": {
            "callType": 1,
            "chooseType": 0,
            "turns": [{"turnType": "MOBILE"}, {"turnType": "HOME"}],
        },
        "retryPolicy": {
            "policyType": 0,
            "policyJson": "[{'type':1,'policy':[{'result':1,'retryNumber':2,'callInterval':300},"
            "{'result':2,'retryNumber':1,'callInterval':900}]}]",
            "busiPolicy": [
                {"busiResultCode": "CALLBACK", "busiResultPolicy": 2, "callInterval": 1800},
                {"busiResultCode": "SOLD", "busiResultPolicy": 0},
                {"busiResultCode": "REFUSED", "busiResultPolicy": 1, "callInterval": 600},
            ],
        },
    }


async def run_isolated(*, records: int, seed: int, vdn_id: int = 1) -> Summary:
    """Run one simulated campaign on a fresh embedded database of its own, then remove it."""
    with tempfile.TemporaryDirectory(prefix="openisales-simulate-") as directory:
        return await run(
            Settings(data_dir=Path(directory)), records=records, seed=seed, vdn_id=vdn_id
        )


async def run(settings: Settings, *, records: int, seed: int, vdn_id: int = 1) -> Summary:
    """Run one simulated campaign against the database of ``settings``."""
    # The records go in as a bulk load, many adds within one virtual instant:
    # no add interval (OPENISALES_CALLDATA_MIN_INTERVAL_S) for them.
    settings = settings.evolve(calldata_min_interval_s=0.0)
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    ctx = build_context(settings, clock=clock)
    try:
        await schema.migrate(ctx.engine)
        return await _run(settings, ctx, clock, records=records, seed=seed, vdn_id=vdn_id)
    finally:
        await ctx.close()


async def _run(
    settings: Settings, ctx: Any, clock: FixedClock, *, records: int, seed: int, vdn_id: int
) -> Summary:
    engine = ctx.engine
    async with engine.connect() as conn:
        known = await get_vdn(conn, vdn_id)
    if known is None:
        await admin.add_vdn(
            engine, vdn_id=vdn_id, name="simulation", time_zone="UTC", now=clock.now(), actor=CLI
        )
    ak, sk = await admin.create_key(
        engine,
        Vault(master_key(settings)),
        vdn_ids=[vdn_id],
        now=clock.now(),
        actor=CLI,
        ak=f"sim{secrets.token_hex(6)}",
    )
    app = create_app(settings, context=ctx)
    ms = itertools.count(1)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://simulation")
    client = AsyncClient("https://simulation", ak, sk, vdn_id=vdn_id, http=http)
    client.http.auth = C2Auth(
        ak, sk, now=lambda: clock.now() + timedelta(milliseconds=next(ms) % 1000)
    )

    async def write_back(_vdn: int, data_id: int, body: dict[str, Any]) -> str:
        reply = await client.write_back(str(data_id), body)
        return str(reply["resultCode"])

    recorded: list[Recording] = []

    def record(gateway: Gateway) -> Gateway:
        recorded.append(Recording(gateway))
        return recorded[-1]

    dispatcher = build_dispatcher(
        settings, engine, ctx.ids, clock, write_back=write_back, wrap=record
    )
    try:
        for code, children in RESULTS.items():
            await client.add_business_result(
                {
                    "name": code.title(),
                    "code": code,
                    "children": [{"name": c.title(), "code": c} for c in children],
                }
            )  # an existing code is refused harmlessly on a second run
        reply = await client.create_campaign(_campaign_body(clock.now()))
        assert reply["resultCode"] == "0200000", reply
        cid = int(reply["returnObject"]["id"])
        for start in range(0, records, 20):
            batch = [
                {
                    "sessionId": f"customer-{i}",
                    "called": [
                        {"calledNo": f"139{seed:02d}{i:06d}", "type": "MOBILE"},
                        {"calledNo": f"021{seed:02d}{i:06d}", "type": "HOME"},
                    ],
                }
                for i in range(start, min(records, start + 20))
            ]
            added = await client.add_call_data(cid, batch, version=2)
            assert added["resultCode"] == "0200000", added
        config = {
            "seed": seed,
            "mix": {"00000": 0.55, "00537": 0.15, "00603": 0.15, "01040": 0.1, "00548": 0.05},
            "agents": ["2033", "2034", "2035"],
            "results": {"SOLD/GOLD": 0.15, "SOLD/BASIC": 0.15, "CALLBACK": 0.4, "REFUSED": 0.3},
        }
        configured = await client.set_dialing(
            cid, {"gateway": "simulator", "gatewayConfig": config}
        )
        assert configured["resultCode"] == "0200000", configured
        started = clock.now()
        await _drive(dispatcher, clock, engine, vdn_id, cid)
        tasks = [task for gateway in recorded for task in gateway.tasks]
        return await _summary(engine, vdn_id, cid, tasks, clock.now() - started, records)
    finally:
        await client.aclose()


async def _drive(dispatcher: Any, clock: FixedClock, engine: Any, vdn_id: int, cid: int) -> None:
    """Tick; when nothing is due, jump the clock to the next due record."""
    for _ in range(100_000):
        if await dispatcher.tick():
            continue
        async with engine.connect() as conn:
            due = (
                await conn.execute(
                    sa.select(sa.func.min(data.c.next_call_time)).where(
                        data.c.vdn_id == vdn_id,
                        data.c.campaign_id == cid,
                        data.c.status.in_([0, 2]),
                    )
                )
            ).scalar()
        if due is None:
            break
        clock.set(max(clock.now() + timedelta(seconds=1), due))


async def _summary(
    engine: Any, vdn_id: int, cid: int, tasks: list[Any], elapsed: timedelta, records: int
) -> Summary:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(data_result)
                .where(data_result.c.vdn_id == vdn_id, data_result.c.campaign_id == cid)
                .order_by(data_result.c.result_id)
            )
        ).all()
        finals = (
            await conn.execute(
                sa.select(data.c.complete_reason, data.c.busi_result).where(
                    data.c.vdn_id == vdn_id, data.c.campaign_id == cid
                )
            )
        ).all()
    attempts = [r for r in rows if r.kind == "attempt"]
    busi = [r for r in rows if r.kind == "busi"]
    writers: dict[int, list[tuple[int, str | None]]] = {}
    for r in busi:
        writers.setdefault(r.data_id, []).append((r.attempt_no, r.work_no))

    def writer_before(task: Any) -> str | None:
        earlier = [w for n, w in writers.get(task.data_id, []) if n < task.attempt_no]
        return earlier[-1] if earlier else None

    after_busi = [
        t for t in tasks if any(n == t.attempt_no - 1 for n, _ in writers.get(t.data_id, []))
    ]
    reserved = [t for t in tasks if t.work_no]
    return Summary(
        campaign_id=cid,
        records=records,
        attempts=len(attempts),
        answered=sum(1 for r in attempts if r.call_status == 6),
        write_backs=len(busi),
        retries_by_business_policy=len(after_busi),
        reserved_retries=len(reserved),
        reserved_to_their_agent=sum(1 for t in reserved if writer_before(t) == t.work_no),
        outcomes=dict(Counter(r.fail_code for r in attempts)),
        completion=dict(Counter(f.complete_reason or "open" for f in finals)),
        final_results=dict(Counter(f.busi_result or "-" for f in finals)),
        simulated=elapsed,
    )
