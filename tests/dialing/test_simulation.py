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
