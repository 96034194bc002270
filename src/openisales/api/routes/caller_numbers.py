"""A campaign's calling numbers (spec 2.1): add (POST) and delete (DELETE) ``…/callerNo/{id}``."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.api.responses import Returns
from openisales.domain.caller_numbers import ADD_SPEC, DELETE_SPEC
from openisales.services import caller_numbers

PATH = "/rest/isales/v1/openapi/campaigns/{vdnId}/callerNo/{campaignId}"
TAG = "campaigns"


async def add_caller_numbers(call: Call) -> Reply:
    campaign_id = call.id_param("campaignId")
    await caller_numbers.add(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=campaign_id,
        body=call.checked_body(ADD_SPEC),
        max_total=call.ctx.settings.max_caller_nos_per_campaign,
        now=call.ctx.clock.now(),
        actor=call.actor,
    )
    return Reply("add success")


async def delete_caller_numbers(call: Call) -> Reply:
    campaign_id = call.id_param("campaignId")
    await caller_numbers.delete(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=campaign_id,
        body=call.checked_body(DELETE_SPEC),
        now=call.ctx.clock.now(),
        actor=call.actor,
    )
    return Reply("delete success")


OPERATIONS: list[Operation] = [
    Operation(
        "POST",
        PATH,
        "Add calling numbers to a campaign (at most 100 a call)",
        add_caller_numbers,
        TAG,
        body=ADD_SPEC,
        returns=Returns("add success"),
        example={"callerNo": [{"accessCode": "88880067", "priority": 2}]},
    ),
    Operation(
        "DELETE",
        PATH,
        "Delete calling numbers of a campaign (at most 100 a call; one must remain)",
        delete_caller_numbers,
        TAG,
        body=DELETE_SPEC,
        returns=Returns("delete success"),
        example={"callerNo": [{"accessCode": "88880067"}]},
    ),
]
