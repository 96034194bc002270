"""Statistics: a campaign's counters (spec 2.3) and its failure categories per day (spec 2.1)."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.domain.statistics import FAIL_STATISTICS_SPEC, STATISTICS_SPEC, parse_id
from openisales.services import statistics

V1 = "/rest/isales/v1/openapi/campaigns/{vdnId}"
V2 = "/rest/isales/v2/openapi/campaigns/{vdnId}"
TAG = "statistics"


async def campaign_statistics(call: Call) -> Reply:
    params = call.checked_query(STATISTICS_SPEC)
    counts = await statistics.campaign_statistics(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=parse_id(params["campaignId"], "campaignId"),
        batch_id=params["batchId"],
        now=call.ctx.clock.now(),
    )
    return Reply("query success", counts)


async def fail_category_statistics(call: Call) -> Reply:
    params = call.checked_query(FAIL_STATISTICS_SPEC)
    days = await statistics.fail_categories(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=parse_id(params["campaignId"], "campaignId"),
        start=params["startDate"],
        end=params["endDate"],
        now=call.ctx.clock.now(),
    )
    return Reply("query success", {"data": days})


OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        V2 + "/statistics",
        "Counters of a campaign and its batches, in total and for today",
        campaign_statistics,
        TAG,
        query=STATISTICS_SPEC,
    ),
    Operation(
        "GET",
        V1 + "/failcategorystatistics",
        "Attempts per failure code and VDN-local day",
        fail_category_statistics,
        TAG,
        query=FAIL_STATISTICS_SPEC,
    ),
]
