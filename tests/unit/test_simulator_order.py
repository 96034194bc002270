"""The simulator's outcomes depend on which records a batch holds, not on their order in it.

A claim returns the records of its ``UPDATE … RETURNING`` in no defined order
(a plan's choice); the same seed must still give the same run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from openisales.clock import FixedClock
from openisales.dialing.gateways.base import CallTask
from openisales.dialing.gateways.simulator import Simulator
from openisales.domain.dialing import DialingCampaign
from openisales.services.dialing import AttemptReport

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CAMPAIGN = DialingCampaign(
    vdn_id=1,
    campaign_id=7,
    begin=NOW,
    end=NOW,
    window=None,
    max_concurrency=None,
    gateway="simulator",
    gateway_config={"seed": 11, "mix": {"00000": 1, "00537": 1, "00603": 1, "01040": 1}},
    caller_no=None,
    tz=ZoneInfo("UTC"),
)


def _task(data_id: int) -> CallTask:
    return CallTask(1, 7, data_id, 1, f"1380000{data_id:04d}", None, None, None)


async def _outcomes(order: list[int]) -> dict[int, str]:
    reported: list[AttemptReport] = []

    async def report(reports: list[AttemptReport]) -> None:
        reported.extend(reports)

    simulator = Simulator(report, FixedClock(NOW))  # type: ignore[arg-type]
    await simulator.dispatch(CAMPAIGN, [_task(i) for i in order])
    return {r.data_id: r.fail_code for r in reported}


async def test_the_same_records_in_another_order_get_the_same_outcomes() -> None:
    ids = list(range(100, 130))
    first = await _outcomes(ids)
    assert len(set(first.values())) > 1  # outcomes vary: the order could have mattered
    assert await _outcomes(ids[::-1]) == first
    assert await _outcomes(ids[1::2] + ids[::2]) == first
