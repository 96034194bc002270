"""Campaigns (spec 2.1): create, modify, delete, detail, list, pause, resume, retry policy."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.domain.campaign import (
    CREATE_V1_SPEC,
    CREATE_V2_SPEC,
    LIST_SPEC,
    RETRY_POLICY_BODY,
    plan_campaign,
    plan_retry_policy,
    plan_search,
)
from openisales.services import campaigns

V1 = "/rest/isales/v1/openapi/campaigns/{vdnId}"
V2 = "/rest/isales/v2/openapi/campaigns/{vdnId}"
TAG = "campaigns"


def _campaign_id(call: Call) -> int:
    return call.id_param("campaignId")


async def _create(call: Call, version: int) -> Reply:
    spec = CREATE_V1_SPEC if version == 1 else CREATE_V2_SPEC
    campaign_id = await campaigns.create(
        call.ctx.engine,
        call.ctx.ids,
        vdn_id=call.vdn_id,
        draft=plan_campaign(call.checked_body(spec), version),
        now=call.ctx.clock.now(),
    )
    return Reply("", {"returnObject": {"id": campaign_id}})


async def create_campaign_v1(call: Call) -> Reply:
    return await _create(call, 1)


async def create_campaign_v2(call: Call) -> Reply:
    return await _create(call, 2)


async def _modify(call: Call, version: int) -> Reply:
    campaign_id = _campaign_id(call)
    spec = CREATE_V1_SPEC if version == 1 else CREATE_V2_SPEC
    await campaigns.modify(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=campaign_id,
        draft=plan_campaign(call.checked_body(spec), version),
        now=call.ctx.clock.now(),
    )
    return Reply("update success")


async def modify_campaign_v1(call: Call) -> Reply:
    return await _modify(call, 1)


async def modify_campaign_v2(call: Call) -> Reply:
    return await _modify(call, 2)


async def delete_campaign(call: Call) -> Reply:
    await campaigns.delete(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=_campaign_id(call),
        now=call.ctx.clock.now(),
    )
    return Reply("delete success")


async def campaign_detail(call: Call) -> Reply:
    found = await campaigns.detail(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=_campaign_id(call),
        now=call.ctx.clock.now(),
    )
    return Reply("query success", {"returnObject": found})


async def list_campaigns(call: Call) -> Reply:
    page = await campaigns.search(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        query=plan_search(call.checked_query(LIST_SPEC)),
        now=call.ctx.clock.now(),
    )
    return Reply("query success", page)


async def pause_campaign(call: Call) -> Reply:
    await campaigns.pause(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=_campaign_id(call),
        now=call.ctx.clock.now(),
    )
    return Reply("pause success")


async def resume_campaign(call: Call) -> Reply:
    await campaigns.resume(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=_campaign_id(call),
        now=call.ctx.clock.now(),
    )
    return Reply("resume success")


async def set_retry_policy(call: Call) -> Reply:
    campaign_id = _campaign_id(call)
    await campaigns.set_retry_policy(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=campaign_id,
        policy=plan_retry_policy(call.json()),
        now=call.ctx.clock.now(),
    )
    return Reply("update success")


async def query_retry_policy(call: Call) -> Reply:
    policy = await campaigns.retry_policy(
        call.ctx.engine, vdn_id=call.vdn_id, campaign_id=_campaign_id(call)
    )
    return Reply("query success", {"data": policy})


OPERATIONS: list[Operation] = [
    Operation(
        "POST",
        V1,
        "Create a campaign (one caller number)",
        create_campaign_v1,
        TAG,
        body=CREATE_V1_SPEC,
    ),
    Operation(
        "POST",
        V2,
        "Create a campaign (caller-number list, retry and call policies)",
        create_campaign_v2,
        TAG,
        body=CREATE_V2_SPEC,
    ),
    Operation("GET", V1, "List campaigns, paged", list_campaigns, TAG, query=LIST_SPEC),
    Operation(
        "POST",
        V1 + "/retryPolicy/{campaignId}",
        "Set a campaign's retry policy",
        set_retry_policy,
        TAG,
        body=RETRY_POLICY_BODY,
    ),
    Operation(
        "GET",
        V1 + "/retryPolicy/{campaignId}",
        "Query a campaign's retry policy",
        query_retry_policy,
        TAG,
    ),
    Operation("PUT", V1 + "/{campaignId}/pause", "Pause a running campaign", pause_campaign, TAG),
    Operation("PUT", V1 + "/{campaignId}/resume", "Resume a paused campaign", resume_campaign, TAG),
    # The catch-all /{campaignId} routes stay last.
    Operation(
        "PUT",
        V1 + "/{campaignId}",
        "Modify a campaign (v1 body)",
        modify_campaign_v1,
        TAG,
        body=CREATE_V1_SPEC,
    ),
    Operation(
        "PUT",
        V2 + "/{campaignId}",
        "Modify a campaign (v2 body)",
        modify_campaign_v2,
        TAG,
        body=CREATE_V2_SPEC,
    ),
    Operation("GET", V1 + "/{campaignId}", "Query a campaign", campaign_detail, TAG),
    Operation(
        "DELETE",
        V1 + "/{campaignId}",
        "Delete a campaign that is not running",
        delete_campaign,
        TAG,
    ),
]
