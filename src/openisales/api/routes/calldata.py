"""Outbound call data: add (v1, v2) and query one record."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.api.responses import Returns, array, id_string, integer, obj, string
from openisales.domain.calldata import add_spec, plan_records
from openisales.services import calldata

V1 = "/rest/isales/v1/openapi/campaigns/{vdnId}/calldata/{campaignId}"
V2 = "/rest/isales/v2/openapi/campaigns/{vdnId}/calldata/{campaignId}"
TAG = "call data"

_ADDED = Returns(
    "create data succeeded",
    {
        "returnObject": obj(
            "What was added",
            {
                "totalSize": integer("the campaign's unfinished records, these included"),
                "dataIdList": array(
                    obj(
                        "An added record",
                        {
                            "called": string("its (first) number"),
                            "dataId": id_string("its id, for the write-back and the queries"),
                        },
                    ),
                    "the added records, in the request's order",
                ),
            },
        )
    },
)
_NUMBER = obj(
    "A number of the record",
    {
        "calledNo": string("the number"),
        "type": string("its number type (v2), empty when none was given"),
    },
)
_PROPERTY = obj(
    "A value given when the record was added",
    {
        "propCode": string(
            "sessionId, customField, batchId, caller, callData or recycleTime",
            enum=["sessionId", "customField", "batchId", "caller", "callData", "recycleTime"],
        ),
        "propName": string("its name, in English"),
        "propValue": string("the value (recycleTime: yyyy-MM-dd HH:mm:ss, UTC)"),
    },
)
_TIME = "yyyy-MM-dd HH:mm:ss, UTC; null when none"
_RECORD = obj(
    "The record, where it stands and its last business result",
    {
        "dataId": id_string("the record's id"),
        "campaignId": integer("its campaign"),
        "properties": array(_PROPERTY, "the values it was added with (those given only)"),
        "calledNos": array(_NUMBER, "its numbers, in the order they were added"),
        "status": integer(
            "0 waiting, 1 being called, 2 answered and waiting for its write-back, 3 completed",
            enum=[0, 1, 2, 3],
        ),
        "attemptNo": integer("attempts placed so far"),
        "nextCallTime": string("when it is due next; " + _TIME, nullable=True),
        "reservedWorkNo": string("the agent its next attempt is reserved for", nullable=True),
        "busiResult": string("the last written-back business result", nullable=True),
        "subStatus": string("its sub-result", nullable=True),
        "busiResultDesc": string("its description", nullable=True),
        "workNo": string("the agent who wrote it back", nullable=True),
        "busiWriteTime": string("when it was written back; " + _TIME, nullable=True),
    },
)


async def _add(call: Call, version: int) -> Reply:
    campaign_id = call.id_param("campaignId")
    settings = call.ctx.settings
    body = call.checked_body(add_spec(version, settings.calldata_max_per_request))
    total, listed = await calldata.add(
        call.ctx.engine,
        call.ctx.ids,
        vdn_id=call.vdn_id,
        campaign_id=campaign_id,
        records=plan_records(body, version),
        max_unfinished=settings.max_unfinished_per_campaign,
        min_interval_s=settings.calldata_min_interval_s,
        now=call.ctx.clock.now(),
        actor=call.actor,
    )
    return Reply(
        "create data succeeded", {"returnObject": {"totalSize": total, "dataIdList": listed}}
    )


async def add_call_data(call: Call) -> Reply:
    return await _add(call, 1)


async def add_call_data_v2(call: Call) -> Reply:
    return await _add(call, 2)


async def query_call_data(call: Call) -> Reply:
    record = await calldata.query(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=call.id_param("campaignId"),
        data_id=call.id_param("dataId"),
    )
    return Reply("query success", {"data": record})


OPERATIONS = [
    Operation(
        "POST",
        V1,
        "Add call data (v1: one number per record, at most 20 records)",
        add_call_data,
        tag=TAG,
        body=add_spec(1, 20),
        returns=_ADDED,
        example={
            "callDataList": [
                {
                    "sessionId": "CUST-1001",
                    "called": "13800000001",
                    "caller": "88889527",
                    "customField": "batch-0401",
                    "callData": '{"customer":"Li Lei"}',
                }
            ]
        },
    ),
    Operation(
        "POST",
        V2,
        "Add call data (v2: typed numbers per record)",
        add_call_data_v2,
        tag=TAG,
        body=add_spec(2, 20),
        returns=_ADDED,
        example={
            "callDataList": [
                {
                    "sessionId": "CUST-1002",
                    "called": [
                        {"calledNo": "13800000002", "type": "SI"},
                        {"calledNo": "13900000002", "type": "MO"},
                    ],
                    "callData": '{"customer":"Han Meimei"}',
                }
            ],
            "batchId": "batch-0401",
        },
    ),
    Operation(
        "GET",
        V1 + "/{dataId}",
        "Query one call-data record",
        query_call_data,
        tag=TAG,
        returns=Returns("query success", {"data": _RECORD}),
    ),
]
