"""Statistics: a campaign's counters (spec 2.3) and its failure categories per day (spec 2.1)."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.api.responses import (
    Returns,
    Schema,
    array,
    id_string,
    integer,
    mapping,
    obj,
    string,
)
from openisales.domain.statistics import FAIL_STATISTICS_SPEC, STATISTICS_SPEC, parse_id
from openisales.services import statistics

V1 = "/rest/isales/v1/openapi/campaigns/{vdnId}"
V2 = "/rest/isales/v2/openapi/campaigns/{vdnId}"
TAG = "statistics"

_COUNTERS: dict[str, Schema] = {
    "unCallCount": integer("records not called yet"),
    "calledCount": integer("attempts placed today"),
    "finishCount": integer("completed records"),
    "totalCalledCount": integer("attempts placed"),
    "totalCallSucc": integer("attempts answered"),
    "totalFinishCount": integer("completed records"),
    "totalCount": integer("records: completed, being called and not called yet"),
    "dailyCalledCount": integer("attempts placed today"),
    "dailyCallSucc": integer("attempts answered today"),
    "dailyFinishCount": integer("records completed today"),
    "dailyCount": integer("records added today"),
}
_COUNT_DETAIL = obj(
    "The campaign's counters (today: the VDN's day; docs/results.md)",
    {
        "campaignId": id_string("the campaign"),
        **_COUNTERS,
        "batchDetail": array(
            obj(
                "One batch's counters",
                {"batchId": string("the batch (the records' customField)"), **_COUNTERS},
            ),
            "the batches holding records (only batchId's when given), by batch id",
        ),
    },
)


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
        returns=Returns(
            "query success", {"countDetail": array(_COUNT_DETAIL, "one entry: the campaign")}
        ),
        example={"campaignId": "3", "batchId": "batch-0401"},
    ),
    Operation(
        "GET",
        V1 + "/failcategorystatistics",
        "Attempts per failure code and VDN-local day",
        fail_category_statistics,
        TAG,
        query=FAIL_STATISTICS_SPEC,
        returns=Returns(
            "query success",
            {
                "data": array(
                    obj(
                        "One day's attempts by failure code",
                        {
                            "statDate": string("yyyy-MM-dd, the VDN's day"),
                            "failData": mapping(
                                integer("attempts"), "attempts per failure code (00000 success)"
                            ),
                        },
                    ),
                    "the days with attempts, in date order",
                )
            },
        ),
        example={"campaignId": "3", "startDate": "2030-04-01", "endDate": "2030-04-30"},
    ),
]
