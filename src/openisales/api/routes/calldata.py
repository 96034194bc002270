"""Outbound call data: add (v1, v2) and query one record."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.domain.calldata import add_spec, plan_records
from openisales.services import calldata

V1 = "/rest/isales/v1/openapi/campaigns/{vdnId}/calldata/{campaignId}"
V2 = "/rest/isales/v2/openapi/campaigns/{vdnId}/calldata/{campaignId}"


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
        tag="call data",
        body=add_spec(1, 20),
    ),
    Operation(
        "POST",
        V2,
        "Add call data (v2: typed numbers per record)",
        add_call_data_v2,
        tag="call data",
        body=add_spec(2, 20),
    ),
    Operation(
        "GET", V1 + "/{dataId}", "Query one call-data record", query_call_data, tag="call data"
    ),
]
