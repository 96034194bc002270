"""The built-in telephony simulator: seeded outcomes and simulated agents.

Per campaign (``gateway_config`` JSON): ``seed``; ``mix`` — failure code →
weight (``00000`` = answered); ``agents`` — simulated agents online;
``results`` — business result (``CODE`` or ``CODE/SUB``) → weight, written
back by the agent through the real write-back endpoint after an answered call;
``ring_s`` / ``talk_s`` — simulated durations (0 = instant). With the same seed
and the same records handed over in each batch a run is reproducible: outcomes
are drawn in record order, whatever the order of the batch.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from openisales.clock import Clock
from openisales.dialing.gateways.base import CallTask, Reporter
from openisales.domain.dialing import DialingCampaign, JsonObject
from openisales.services.dialing import AttemptReport

DEFAULT_MIX = {"00000": 0.6, "00537": 0.15, "00603": 0.15, "01040": 0.05, "00548": 0.05}

# (vdn_id, data_id, body) -> the write-back's resultCode
WriteBack = Callable[[int, int, dict[str, Any]], Awaitable[str]]


@dataclass(frozen=True)
class SimulatorConfig:
    seed: int = 0
    mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    agents: tuple[str, ...] = ()
    results: Mapping[str, float] = field(default_factory=dict)
    ring_s: float = 0.0
    talk_s: float = 0.0

    @classmethod
    def from_config(cls, raw: JsonObject) -> SimulatorConfig:
        """The simulator's settings from a campaign's decoded ``gateway_config``."""
        return cls(
            seed=int(raw.get("seed", 0)),
            mix={str(k): float(v) for k, v in (raw.get("mix") or DEFAULT_MIX).items()},
            agents=tuple(str(a) for a in raw.get("agents") or ()),
            results={str(k): float(v) for k, v in (raw.get("results") or {}).items()},
            ring_s=float(raw.get("ring_s", 0)),
            talk_s=float(raw.get("talk_s", 0)),
        )


class Simulator:
    name = "simulator"

    def __init__(self, report: Reporter, clock: Clock, write_back: WriteBack | None = None) -> None:
        self._report = report
        self._clock = clock
        self._write_back = write_back
        # per campaign: the settings as stored, as read, and the campaign's random stream
        self._state: dict[tuple[int, int], tuple[JsonObject, SimulatorConfig, random.Random]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self.written: list[tuple[int, str, str]] = []  # (data_id, workNo, resultCode)

    def _campaign(self, campaign: DialingCampaign) -> tuple[SimulatorConfig, random.Random]:
        """The campaign's settings and random stream; both start anew when its settings change."""
        key = (campaign.vdn_id, campaign.campaign_id)
        found = self._state.get(key)
        if found is None or found[0] != campaign.gateway_config:
            config = SimulatorConfig.from_config(campaign.gateway_config)
            found = (campaign.gateway_config, config, random.Random(config.seed))
            self._state[key] = found
        return found[1], found[2]

    def agents(self, campaign: DialingCampaign) -> frozenset[str] | None:
        return frozenset(self._campaign(campaign)[0].agents)

    async def dispatch(self, campaign: DialingCampaign, tasks: Sequence[CallTask]) -> None:
        config, rng = self._campaign(campaign)
        codes, weights = list(config.mix), list(config.mix.values())
        # Drawn in record order: a claim hands over a defined set of records
        # (the oldest due), in whatever order its UPDATE returned them.
        ordered = sorted(tasks, key=lambda t: (t.data_id, t.attempt_no))
        outcomes = [(task, rng.choices(codes, weights)[0]) for task in ordered]
        plans = [
            (task, code, self._business_result(task, code, config, rng)) for task, code in outcomes
        ]
        if config.ring_s or config.talk_s:
            job = asyncio.create_task(self._later(plans, config))
            self._running.add(job)
            job.add_done_callback(self._running.discard)
        else:
            await self._finish(plans, config)

    def _business_result(
        self, task: CallTask, code: str, config: SimulatorConfig, rng: random.Random
    ) -> dict[str, Any] | None:
        if code != "00000" or not config.results or self._write_back is None:
            return None
        choice = rng.choices(list(config.results), list(config.results.values()))[0]
        busi, _, sub = choice.partition("/")
        agent = task.work_no or (rng.choice(config.agents) if config.agents else None)
        body: dict[str, Any] = {"busiResult": busi}
        if sub:
            body["subStatus"] = sub
        if agent:
            body["workNo"] = agent
        return body

    async def _later(self, plans: list[tuple[CallTask, str, Any]], config: SimulatorConfig) -> None:
        await asyncio.sleep(config.ring_s + config.talk_s)
        await self._finish(plans, config)

    async def _finish(
        self, plans: list[tuple[CallTask, str, Any]], config: SimulatorConfig
    ) -> None:
        now = self._clock.now()
        ring = now - timedelta(seconds=config.ring_s + config.talk_s)
        reports = [
            AttemptReport(
                vdn_id=task.vdn_id,
                data_id=task.data_id,
                attempt_no=task.attempt_no,
                fail_code=code,
                call_id=f"sim-{task.data_id}-{task.attempt_no}",
                ring_time=ring,
                answer_time=ring + timedelta(seconds=config.ring_s) if code == "00000" else None,
                end_time=now,
                work_no=(body or {}).get("workNo") or task.work_no,
            )
            for task, code, body in plans
        ]
        await self._report(reports)
        for task, _code, body in plans:
            if body is not None and self._write_back is not None:
                result = await self._write_back(task.vdn_id, task.data_id, body)
                self.written.append((task.data_id, body.get("workNo", ""), result))

    async def drain(self) -> None:
        """Wait for calls still in progress (timed mode)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)
