"""A dialing rig: the API and a dispatcher sharing one fixed clock."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from openisales.client import AsyncClient, C2Auth
from openisales.clock import FixedClock
from openisales.dialing.dispatcher import Dispatcher, DispatcherSettings
from openisales.dialing.gateways.recording import Recording
from openisales.dialing.gateways.simulator import Simulator
from openisales.services import dialing
from openisales.store.tables import data
from tests.conftest import Api

START = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)


@dataclass
class Rig:
    api: Api
    clock: FixedClock
    dispatcher: Dispatcher
    gateway: Recording
    _ms: itertools.count = field(default_factory=lambda: itertools.count(1))

    def client(self, vdn_id: int = 1) -> AsyncClient:
        client = self.api.client(vdn_id)
        tenant = self.api.tenants[vdn_id]
        client.http.auth = C2Auth(
            tenant.ak,
            tenant.sk,
            now=lambda: self.clock.now() + timedelta(milliseconds=next(self._ms)),
        )
        return client

    async def configure(self, campaign_id: int, **config: Any) -> None:
        async with self.client() as client:
            reply = await client.set_dialing(
                campaign_id, {"gateway": "simulator", "gatewayConfig": config}
            )
        assert reply["resultCode"] == "0200000", reply

    async def record(self, data_id: str | int) -> sa.Row:
        async with self.api.ctx.engine.connect() as conn:
            return (await conn.execute(sa.select(data).where(data.c.data_id == int(data_id)))).one()


def make_dispatcher(api: Api, clock: FixedClock, **settings: Any) -> tuple[Dispatcher, Recording]:
    holder: dict[str, Dispatcher] = {}

    async def report(reports):  # type: ignore[no-untyped-def]
        return await holder["d"].report(reports)

    gateway = Recording(Simulator(report, clock))

    dispatcher = Dispatcher(
        api.ctx.engine,
        api.ctx.ids,
        {"simulator": gateway},  # type: ignore[dict-item]
        clock,
        DispatcherSettings(housekeeping_s=0, **settings),
        displays=dialing.display_map,
    )
    holder["d"] = dispatcher
    return dispatcher, gateway


@pytest.fixture
async def rig(api: Api) -> AsyncIterator[Rig]:
    clock = FixedClock(START)
    api.ctx.clock = clock
    dispatcher, gateway = make_dispatcher(api, clock)
    yield Rig(api, clock, dispatcher, gateway)
