"""``openisales simulate``: a whole campaign in virtual time, summarised from what was dialled."""

from __future__ import annotations

from openisales.cli import simulation
from openisales.config import Settings


async def test_a_simulated_campaign_dials_every_record_to_an_end(settings: Settings) -> None:
    summary = await simulation.run(settings, records=40, seed=3)
    assert summary.records == 40
    assert sum(summary.completion.values()) == 40  # every record ended
    assert sum(summary.outcomes.values()) == summary.attempts >= 40
    assert summary.answered == summary.outcomes.get("00000", 0)
    assert summary.write_backs == summary.answered  # every answered call was written back
    assert sum(summary.final_results.values()) == 40  # each record's last result, or "-"
    # retries counted from the tasks the gateway was handed (gateways.recording)
    assert 0 < summary.retries_by_business_policy < summary.attempts
    assert 0 < summary.reserved_to_their_agent <= summary.reserved_retries
    again = await simulation.run(settings, records=40, seed=3)
    # same seed, same run (the second campaign in the same database)
    assert again.campaign_id != summary.campaign_id
    assert (again.attempts, again.outcomes) == (summary.attempts, summary.outcomes)


async def test_by_default_a_simulation_runs_on_a_database_of_its_own() -> None:
    """Same seed, same summary, whatever the configured database holds."""
    first = await simulation.run_isolated(records=30, seed=5)
    second = await simulation.run_isolated(records=30, seed=5)
    assert first == second  # the campaign id included: each starts from an empty database
    assert first.records == 30 and sum(first.completion.values()) == 30
