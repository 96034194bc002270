"""The simulator follows a campaign's dialing settings when they change while it runs."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from openisales.clock import FixedClock
from openisales.dialing.gateways.simulator import Simulator
from openisales.domain.dialing import DialingCampaign

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def campaign(config: dict[str, object]) -> DialingCampaign:
    return DialingCampaign(
        vdn_id=1,
        campaign_id=7,
        begin=NOW,
        end=NOW,
        window=None,
        max_concurrency=None,
        gateway="simulator",
        gateway_config=config,
        caller_no=None,
        tz=ZoneInfo("UTC"),
    )


async def _ignore(_reports: object) -> None:
    return None


def test_new_settings_replace_the_ones_read_first() -> None:
    simulator = Simulator(_ignore, FixedClock(NOW))  # type: ignore[arg-type]
    assert simulator.agents(campaign({})) == frozenset()
    assert simulator.agents(campaign({"agents": ["2033", "2034"]})) == {"2033", "2034"}
    assert simulator.agents(campaign({"agents": ["2035"]})) == {"2035"}


def test_unchanged_settings_keep_the_campaigns_random_stream() -> None:
    simulator = Simulator(_ignore, FixedClock(NOW))  # type: ignore[arg-type]
    config = {"seed": 3, "mix": {"00000": 1, "00145": 1}}
    _, first = simulator._campaign(campaign(config))
    _, again = simulator._campaign(campaign(dict(config)))
    assert first is again
