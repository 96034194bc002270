"""The dialing engine on a distributed schema: claims, attempts, housekeeping, the pusher.

The dispatcher's and the pusher's tests run here as they are (imported), on
the module's Citus database: two dispatchers never offer a record twice at
once, attempt outcomes are recorded, leases are recovered, overdue and ended
records complete, pushes reach their receivers once, a simulated campaign
run twice with the same seed gives the same summary. On Citus the statements
that lock rows across VDNs run once per VDN (``store.citus.tenants``).
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from openisales.config import Settings
from openisales.store import dispatch
from openisales.store.tables import data, push_outbox
from tests.conftest import Api
from tests.dialing import test_dispatcher as dispatcher_tests
from tests.dialing.conftest import Rig, rig  # noqa: F401 (the fixture)
from tests.dialing.test_dispatcher import (  # noqa: F401 (run here as they are)
    test_a_due_retry_goes_before_a_backlog_of_first_calls,
    test_a_lost_outcome_is_recovered_after_the_lease_as_no_result,
    test_an_agent_pulls_its_own_reserved_record,
    test_an_ended_campaign_completes_its_open_records,
    test_concurrency_cap_per_campaign,
    test_cti_reports_through_the_signed_endpoint_and_twice_is_harmless,
    test_pause_stops_claims_and_resume_restarts_them,
)
from tests.dialing.test_pusher import (  # noqa: F401 (run here as they are)
    test_a_campaigns_results_reach_the_receiver_exactly_once_despite_failures,
    test_a_later_completion_waits_for_the_earlier_one,
    test_a_push_whose_pusher_stopped_is_sent_again_after_the_lease,
    test_a_second_try_at_once_then_every_ten_minutes_then_failed,
    test_after_max_pushes_it_is_listed_as_failed_and_resend_delivers_it,
    test_two_pushers_never_send_a_row_twice_at_once,
)
from tests.dialing.test_simulation import (  # noqa: F401 (run here as it is)
    test_a_simulated_campaign_dials_every_record_to_an_end,
)
from tests.helpers import add_numbers, make_campaign


async def test_two_dispatchers_never_offer_a_record_twice_at_once(rig: Rig) -> None:  # noqa: F811
    """The PostgreSQL tier's test (which asks for OPENISALES_TEST_PG_URL), on the cluster."""
    await dispatcher_tests.test_two_dispatchers_never_offer_a_record_twice_at_once(rig)


async def test_overdue_answers_of_every_vdn_complete_and_are_queued_for_push(
    api: Api, settings: Settings
) -> None:
    """Housekeeping across tenants: one statement per VDN on Citus, every VDN's records."""
    now = api.ctx.clock.now()
    ids = {}
    for vdn_id in (1, 2):
        async with api.client(vdn_id) as client:
            campaign = await make_campaign(client, callBackUrl="https://crm.example/results")
            ids[vdn_id] = [int(i) for i in await add_numbers(client, campaign, "111", "222")]
    async with api.ctx.engine.begin() as conn:
        await conn.execute(
            sa.update(data).values(status=2, next_call_time=now - timedelta(seconds=1))
        )
        assert await dispatch.complete_overdue_results(conn, now, 3) == 3  # the limit holds
        assert await dispatch.complete_overdue_results(conn, now, 10) == 1
        rows = (await conn.execute(sa.select(data.c.vdn_id, data.c.status))).all()
        queued = (await conn.execute(sa.select(push_outbox.c.vdn_id))).all()
    assert sorted(rows) == [(1, 3), (1, 3), (2, 3), (2, 3)]
    assert sorted(queued) == [(1,), (1,), (2,), (2,)]
