"""A running dispatcher wakes when work falls due, not at its next poll.

Every dispatcher here polls once a minute: a retry dialled within the tests'
ten-second limit was dialled because the dispatcher knew or heard it was due
(its own outcomes, the earliest due time it reads, due notices: NOTIFY on
PostgreSQL, this process's calls on SQLite).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from openisales.clock import FixedClock
from openisales.config import Settings
from openisales.dialing.dispatcher import Dispatcher, DispatcherSettings
from openisales.dialing.wakeup import Listener, Wakeup
from openisales.services import dialing
from openisales.services.dialing import AttemptReport
from openisales.store import dispatch
from openisales.store.tables import data
from tests.conftest import ENGINES, Api
from tests.dialing.conftest import Rig, make_dispatcher
from tests.dialing.fakes import Checking, Ledger
from tests.dialing.test_dispatcher import Silent
from tests.helpers import add_numbers, campaign_body, define

POLL_S = 60.0  # far beyond every wait below
WAIT_S = 10.0
NO_ANSWER_RETRY = "[{'type':1,'policy':[{'result':2,'retryNumber':1,'callInterval':1}]}]"

needs_pg = pytest.mark.skipif("postgres" not in ENGINES, reason="needs OPENISALES_TEST_PG_URL")
on_pg = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


class Running(FixedClock):
    """A FixedClock that also moves with real time (a running dispatcher sleeps in real time)."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=time.monotonic() - self._t0)


@pytest.fixture
async def live(api: Api) -> AsyncIterator[Rig]:
    clock = Running(datetime.now(UTC))
    api.ctx.clock = clock
    dispatcher, gateway = make_dispatcher(api, clock, poll_interval_s=POLL_S)
    yield Rig(api, clock, dispatcher, gateway)


@asynccontextmanager
async def running(*dispatchers: Dispatcher) -> AsyncIterator[None]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(d.run(stop)) for d in dispatchers]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)


async def until(check: Callable[[], Awaitable[bool] | bool], timeout: float = WAIT_S) -> None:
    async with asyncio.timeout(timeout):
        while True:
            done = check()
            if not isinstance(done, bool):
                done = await done
            if done:
                return
            await asyncio.sleep(0.02)


async def _campaign(rig: Rig, count: int = 1, **body: Any) -> tuple[int, list[str]]:
    async with rig.client() as client:
        await define(client, "X")
        payload = campaign_body("Wake", **body)
        payload["strBeginTime"] = rig.clock.now().strftime("%Y-%m-%d 00:00:00")
        reply = await client.create_campaign(payload)
        cid = reply["returnObject"]["id"]
        ids = await add_numbers(client, cid, *[str(8000 + i) for i in range(count)])
    return cid, ids


def _status(rig: Rig, data_id: str, status: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return int((await rig.record(data_id)).status) == status

    return check


async def test_a_retry_written_back_is_dialled_without_waiting_for_the_poll(live: Rig) -> None:
    busi = [{"busiResultCode": "X", "busiResultPolicy": 2, "callInterval": 1}]
    cid, ids = await _campaign(live, retryPolicy={"policyType": 0, "busiPolicy": busi})
    await live.configure(cid, mix={"00000": 1})
    async with running(live.dispatcher):
        await until(_status(live, ids[0], 2))  # answered, awaiting the write-back
        await until(lambda: live.dispatcher.hears_notices)  # not polling for want of them
        async with live.client() as client:
            reply = await client.write_back(ids[0], {"busiResult": "X"})
        assert reply["resultCode"] == "0200000"
        await until(lambda: len(live.gateway.tasks) == 2)
    assert [t.attempt_no for t in live.gateway.tasks] == [1, 2]


async def test_a_retry_of_its_own_outcome_is_dialled_at_its_time(live: Rig) -> None:
    policy = {"policyType": 0, "policyJson": NO_ANSWER_RETRY}
    cid, ids = await _campaign(live, retryPolicy=policy)
    await live.configure(cid, mix={"00603": 1})
    async with running(live.dispatcher):
        await until(_status(live, ids[0], 3))  # no answer, retried, completed
    first, second = live.gateway.tasks
    assert (first.attempt_no, second.attempt_no) == (1, 2)


async def test_a_retry_reported_through_the_api_is_announced(live: Rig) -> None:
    policy = {"policyType": 0, "policyJson": NO_ANSWER_RETRY}
    cid, _ = await _campaign(live, retryPolicy=policy)
    await live.configure(cid, mix={"00603": 1})
    silent = Silent()
    live.dispatcher.gateways = {"simulator": silent}  # type: ignore[dict-item]
    async with running(live.dispatcher):
        await until(lambda: len(silent.tasks) == 1)
        await until(lambda: live.dispatcher.hears_notices)
        async with live.client() as client:
            body = {"attemptId": silent.tasks[0].attempt_id, "failCode": "00603", "callStatus": 5}
            assert (await client.report_attempt(body))["resultCode"] == "0200000"
        await until(lambda: len(silent.tasks) == 2)
    assert silent.tasks[1].attempt_no == 2


async def _listener_pid(rig: Rig) -> int | None:
    async with rig.api.ctx.engine.connect() as conn:
        return (
            await conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = 'openisales-due-listener'"
                )
            )
        ).scalar()


async def _terminate(rig: Rig, pid: int) -> None:
    async with rig.api.ctx.engine.connect() as conn:
        await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def _answered(rig: Rig) -> str:
    busi = [{"busiResultCode": "X", "busiResultPolicy": 2, "callInterval": 1}]
    cid, ids = await _campaign(rig, retryPolicy={"policyType": 0, "busiPolicy": busi})
    await rig.configure(cid, mix={"00000": 1})
    return ids[0]


async def _write_back_and_wait(rig: Rig, data_id: str) -> None:
    await until(_status(rig, data_id, 2))
    async with rig.client() as client:
        assert (await client.write_back(data_id, {"busiResult": "X"}))["resultCode"] == "0200000"
    await until(lambda: len(rig.gateway.tasks) == 2)


@needs_pg
@on_pg
async def test_a_lost_listener_falls_back_to_polling(live: Rig) -> None:
    data_id = await _answered(live)
    listener = Listener(live.api.ctx.engine, live.dispatcher.wakeup, first_backoff_s=WAIT_S * 3)
    live.dispatcher.listener = listener
    async with running(live.dispatcher):
        await until(lambda: listener.connected)
        pid = await _listener_pid(live)
        assert pid is not None
        await _terminate(live, pid)
        await until(lambda: not listener.connected)
        assert not live.dispatcher.hears_notices
        await _write_back_and_wait(live, data_id)  # its notice went unheard
        assert listener.connections == 1  # dialled by polling, not reconnected yet


@needs_pg
@on_pg
async def test_a_lost_listener_reconnects_and_hears_again(live: Rig) -> None:
    data_id = await _answered(live)
    listener = Listener(live.api.ctx.engine, live.dispatcher.wakeup, first_backoff_s=0.1)
    live.dispatcher.listener = listener
    async with running(live.dispatcher):
        await until(lambda: listener.connected)
        first = await _listener_pid(live)
        assert first is not None
        await _terminate(live, first)
        await until(lambda: listener.connections == 2 and listener.connected)
        assert await _listener_pid(live) not in (None, first)
        await _write_back_and_wait(live, data_id)


@needs_pg
@on_pg
async def test_two_dispatchers_woken_by_notices_never_dial_a_record_twice(live: Rig) -> None:
    policy = "[{'type':1,'policy':[{'result':2,'retryNumber':2,'callInterval':0}]}]"
    cid, _ = await _campaign(live, 20, retryPolicy={"policyType": 0, "policyJson": policy})
    async with live.client() as client:
        for start in range(20, 200, 20):
            await add_numbers(client, cid, *[str(71000 + i) for i in range(start, start + 20)])
    await live.configure(cid)
    api = live.api

    async def report(reports: list[AttemptReport]) -> list[dialing.Applied]:
        """As a CTI would, through the API's path (announced)."""
        return await dialing.record_attempts(
            api.ctx.engine,
            api.ctx.ids,
            reports,
            now=live.clock.now(),
            timing=dialing.DialerTiming(),
        )

    ledger = Ledger()
    workers = [
        Dispatcher(
            api.ctx.engine,
            api.ctx.ids,
            {"simulator": Checking(ledger, report, pause_s=0.01)},
            live.clock,
            DispatcherSettings(claim_batch=25, housekeeping_s=0, poll_interval_s=POLL_S),
        )
        for _ in range(2)
    ]

    async def completed() -> bool:
        async with api.ctx.engine.connect() as conn:
            left = await conn.execute(
                sa.select(sa.func.count()).where(data.c.campaign_id == cid, data.c.status != 3)
            )
            return left.scalar_one() == 0

    async with running(*workers):
        await until(completed, timeout=60)
    assert ledger.clashes == []
    # each record: 1 call + 2 retries, none twice
    assert len(ledger.seen) == len(set(ledger.seen)) == 200 * 3


async def test_a_hint_ends_a_rest_and_stop_ends_it_too() -> None:
    clock = FixedClock(datetime(2030, 1, 1, tzinfo=UTC))
    wakeup, stop = Wakeup(clock), asyncio.Event()
    resting = asyncio.create_task(wakeup.rest(POLL_S, stop))
    await asyncio.sleep(0.05)
    assert not resting.done()
    wakeup.hint(clock.now() + timedelta(seconds=POLL_S))  # not sooner than the rest's end
    await asyncio.sleep(0.05)
    assert not resting.done()
    wakeup.hint(clock.now())  # due now
    await asyncio.wait_for(resting, WAIT_S)
    wakeup.start_round(clock.now())
    resting = asyncio.create_task(wakeup.rest(POLL_S, stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(resting, WAIT_S)


def test_every_poll_interval_is_within_the_notice_horizon() -> None:
    (spec,) = [f for f in dataclasses.fields(Settings) if f.name == "dispatch_poll_s"]
    bounds = spec.metadata["setting"]["bounds"]
    assert bounds.high <= dispatch.NOTICE_WITHIN_S
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert dispatch.needs_notice(now + timedelta(seconds=bounds.high - 0.5), now)
    assert not dispatch.needs_notice(now + timedelta(seconds=dispatch.NOTICE_WITHIN_S), now)
    assert dispatch.parse_notice(f"{now.timestamp():.6f}") == now
    assert dispatch.parse_notice("nonsense") is None
