"""Call results (spec 2.5): query the results of a campaign's completed records."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.api.responses import Returns, array, id_string, integer, obj, string
from openisales.domain.results import CALL_RESULT_SPEC, plan_result_query
from openisales.services import results

V1 = "/rest/isales/v1/openapi/campaigns/{vdnId}"

RESULT = obj(
    "The result of a completed record (showDetail 0) or of one of its attempts (1)",
    {
        "campaignId": id_string("the campaign"),
        "sessionId": string("the record's sessionId", nullable=True),
        "called": string("the number dialled", nullable=True),
        "callTimeStr": string(
            "when the attempt was placed: yyyy-MM-dd HH:mm:ss in the VDN's time zone",
            nullable=True,
        ),
        "callStatus": integer("5 failed, 6 succeeded", nullable=True, enum=[5, 6]),
        "failCode": string("the platform failure code; 00000 success", nullable=True),
        "resultCode": string("the display result mapped from failCode", nullable=True),
        "vdnId": integer("the VDN"),
        "callId": string("the platform's call id", nullable=True),
        "recordPath": string("the recording (SaaS only): always null here", nullable=True),
        "dataId": id_string("the record (ours)"),
        "customField": string("the record's customField (ours)", nullable=True),
        "busiResult": string("the business result written back (ours)", nullable=True),
        "subStatus": string("its sub-result (ours)", nullable=True),
    },
)


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
        returns=Returns(
            "Query Success!",
            {
                "totalCount": integer("results matching the filters"),
                "data": array(RESULT, "the page"),
            },
        ),
        example={
            "pageSize": 100,
            "pageNum": 1,
            "showDetail": 0,
            "customField": "batch-0401",
            "beginTime": "2030-04-01",
            "endTime": "2030-04-30",
        },
    ),
]
