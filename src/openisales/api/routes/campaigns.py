"""Campaigns (spec 2.1): create, modify, delete, detail, list, pause, resume, retry policy."""

from __future__ import annotations

from typing import Any

from openisales.api.endpoint import Call, Operation, Reply
from openisales.api.responses import (
    Returns,
    array,
    integer,
    obj,
    one_of,
    stored,
    string,
)
from openisales.domain.campaign import (
    CREATE_V1_SPEC,
    CREATE_V2_SPEC,
    LIST_SPEC,
    RETRY_POLICY_BODY,
    plan_campaign,
    plan_retry_policy,
    plan_search,
)
from openisales.domain.schedule import SCHEDULE_KEYS
from openisales.services import campaigns

V1 = "/rest/isales/v1/openapi/campaigns/{vdnId}"
V2 = "/rest/isales/v2/openapi/campaigns/{vdnId}"
TAG = "campaigns"

_TIME = "yyyy-MM-dd HH:mm:ss, UTC"
_CALLER = obj(
    "A calling number",
    {
        "accessCode": string("the calling number"),
        "priority": integer("1 (highest) to 5; absent when none was given"),
    },
    optional=("priority",),
)
CAMPAIGN = obj(
    "A campaign as stored, with its effective status",
    {
        "campaignId": integer("the campaign id"),
        "name": string("unique in the VDN"),
        "description": string("empty when none was given"),
        "status": integer(
            "2 running (or not started yet, or finished calling), 3 paused, "
            "4 expired (from strEndTime on)",
            enum=[2, 3, 4],
        ),
        "strBeginTime": string(_TIME),
        "strEndTime": string(_TIME),
        "deviceType": integer(
            "1 intelligent IVR, 2 predictive, 3 automatic IVR, 5 preview, 6 preempted",
            enum=[1, 2, 3, 5, 6],
        ),
        "callerNo": one_of(
            "v1 campaign: the calling number the dialer uses (null when none is left); "
            "v2 campaign: every calling number",
            string("the calling number", nullable=True),
            array(_CALLER, "the calling numbers, in the order given"),
        ),
        "maxAlertingTime": integer("ring timeout, seconds"),
        "scheduleParam": obj(
            "the calling slots of workdays and holidays",
            {key: string("HH:mm, or empty") for key in SCHEDULE_KEYS},
        ),
        "skillParam": stored("as given (null when not given)"),
        "ivrParam": stored("as given (null when not given)"),
        "callPolicy": stored("as given (null when not given; v2 only)"),
        "initStatus": integer("as given at create: 0 (default), 2 or 3"),
        "callBackUrl": string("where result pushes go", nullable=True),
        "priority": integer("1 to 5", nullable=True),
    },
)

_SCHEDULE_EXAMPLE = {
    "workdayBeginTime1": "09:00",
    "workdayEndTime1": "12:00",
    "workdayBeginTime2": "14:00",
    "workdayEndTime2": "18:00",
    "holidayBeginTime1": "10:00",
    "holidayEndTime1": "16:00",
}
_SKILL_EXAMPLE = {
    "skillId": 2,
    "skillName": "defaultAudioSkill",
    "outBoundType": 2,
    "predictParam": {
        "predictMethod": 1,
        "expPredictParam": {"maxAvgCallTime": 100, "minAvgCallTime": 50, "outBoundRate": 50},
    },
}
V1_EXAMPLE: dict[str, Any] = {
    "name": "Spring sale",
    "description": "Renewals due in April",
    "strBeginTime": "2030-04-01 00:00:00",
    "strEndTime": "2030-04-30 23:59:59",
    "deviceType": 2,
    "callerNo": "88889527",
    "maxAlertingTime": 20,
    "scheduleParam": _SCHEDULE_EXAMPLE,
    "skillParam": _SKILL_EXAMPLE,
    "initStatus": 0,
    "callBackUrl": "https://crm.example.com/isales/results",
    "priority": 4,
}
RETRY_POLICY_EXAMPLE: dict[str, Any] = {
    "policyType": 0,
    "policyJson": "[{'dataType':'SI','type':1,"
    "'policy':[{'result':4,'retryNumber':3,'callInterval':600}]}]",
    "noRetryPolicy": ["007"],
    "busiPolicy": [
        {
            "busiResultCode": "1621474513",
            "busiResultSubCode": "1048856207",
            "busiResultPolicy": 2,
            "callInterval": 600,
        }
    ],
}
V2_EXAMPLE: dict[str, Any] = {
    "name": "Renewals 2030",
    "description": "Contracts that end in April",
    "strBeginTime": "2030-04-01 00:00:00",
    "strEndTime": "2030-04-30 23:59:59",
    "deviceType": 2,
    "callerNo": [
        {"accessCode": "88889527", "priority": 3},
        {"accessCode": "88880066", "priority": 4},
    ],
    "maxAlertingTime": 20,
    "priority": 4,
    "scheduleParam": _SCHEDULE_EXAMPLE,
    "skillParam": _SKILL_EXAMPLE,
    "retryPolicy": RETRY_POLICY_EXAMPLE,
    "callPolicy": {"callType": 1, "chooseType": 0, "turns": [{"turnType": "SI"}]},
    "initStatus": 0,
    "callBackUrl": "https://crm.example.com/isales/results",
}

_CREATED = Returns(
    "",
    {"returnObject": obj("The new campaign", {"id": integer("the campaign id (campaignId)")})},
)
_UPDATED = Returns("update success")


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
        actor=call.actor,
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
        actor=call.actor,
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
        actor=call.actor,
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
        actor=call.actor,
    )
    return Reply("pause success")


async def resume_campaign(call: Call) -> Reply:
    await campaigns.resume(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=_campaign_id(call),
        now=call.ctx.clock.now(),
        actor=call.actor,
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
        actor=call.actor,
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
        returns=_CREATED,
        example=V1_EXAMPLE,
    ),
    Operation(
        "POST",
        V2,
        "Create a campaign (caller-number list, retry and call policies)",
        create_campaign_v2,
        TAG,
        body=CREATE_V2_SPEC,
        returns=_CREATED,
        example=V2_EXAMPLE,
    ),
    Operation(
        "GET",
        V1,
        "List campaigns, paged",
        list_campaigns,
        TAG,
        query=LIST_SPEC,
        returns=Returns(
            "query success",
            {
                "curPage": integer("the page answered, from 1"),
                "totalSize": integer("campaigns matching the filters"),
                "rowsPerPage": integer("the page size"),
                "curSkillQueueCount": integer("the VDN's live skill-queue campaigns"),
                "curIvrCount": integer("the VDN's live IVR campaigns"),
                "data": array(CAMPAIGN, "the page, in campaign-id order"),
            },
        ),
        example={"name": "sale", "status": 2, "deviceType": 2, "curPage": 1, "rowsPerPage": 10},
    ),
    Operation(
        "POST",
        V1 + "/retryPolicy/{campaignId}",
        "Set a campaign's retry policy",
        set_retry_policy,
        TAG,
        body=RETRY_POLICY_BODY,
        returns=_UPDATED,
        example=RETRY_POLICY_EXAMPLE,
    ),
    Operation(
        "GET",
        V1 + "/retryPolicy/{campaignId}",
        "Query a campaign's retry policy",
        query_retry_policy,
        TAG,
        returns=Returns(
            "query success",
            {
                "data": obj(
                    "The campaign's retry policy (nulls when it has none)",
                    {
                        "retryPolicyId": integer("the campaign id"),
                        "policyType": integer("0 or 1, as set", nullable=True),
                        "policyJson": string("the policy list as a JSON string", nullable=True),
                        "noRetryPolicy": array(
                            string("a display-result code"), "codes never retried"
                        ),
                        "busiPolicy": string(
                            "the business-result policy list as a JSON string (as Huawei's "
                            "query returns it)",
                            nullable=True,
                        ),
                    },
                )
            },
        ),
    ),
    Operation(
        "PUT",
        V1 + "/{campaignId}/pause",
        "Pause a running campaign",
        pause_campaign,
        TAG,
        returns=Returns("pause success"),
    ),
    Operation(
        "PUT",
        V1 + "/{campaignId}/resume",
        "Resume a paused campaign",
        resume_campaign,
        TAG,
        returns=Returns("resume success"),
    ),
    # The catch-all /{campaignId} routes stay last.
    Operation(
        "PUT",
        V1 + "/{campaignId}",
        "Modify a campaign (v1 body)",
        modify_campaign_v1,
        TAG,
        body=CREATE_V1_SPEC,
        returns=_UPDATED,
        example=V1_EXAMPLE,
    ),
    Operation(
        "PUT",
        V2 + "/{campaignId}",
        "Modify a campaign (v2 body)",
        modify_campaign_v2,
        TAG,
        body=CREATE_V2_SPEC,
        returns=_UPDATED,
        example=V2_EXAMPLE,
    ),
    Operation(
        "GET",
        V1 + "/{campaignId}",
        "Query a campaign",
        campaign_detail,
        TAG,
        returns=Returns("query success", {"returnObject": CAMPAIGN}),
    ),
    Operation(
        "DELETE",
        V1 + "/{campaignId}",
        "Delete a campaign that is not running",
        delete_campaign,
        TAG,
        returns=Returns("delete success"),
    ),
]
