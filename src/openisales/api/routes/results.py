"""Call results (spec 2.5): query the results of a campaign's completed records."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.domain.results import CALL_RESULT_SPEC, plan_result_query
from openisales.services import results

V1 = "/rest/isales/v1/openapi/campaigns/{vdnId}"


async def query_call_results(call: Call) -> Reply:
    campaign_id = call.id_param("campaignId")
    total, data = await results.query(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=campaign_id,
        query=plan_result_query(CALL_RESULT_SPEC.check(call.json())),
    )
    return Reply("Query Success!", {"totalCount": total, "data": data})


OPERATIONS: list[Operation] = [
    Operation(
        "POST",
        V1 + "/callresult/{campaignId}",
        "Query call results of completed records (final result or every attempt)",
        query_call_results,
        tag="results",
        body=CALL_RESULT_SPEC,
    ),
]
