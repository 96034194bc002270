"""Delete outbound call data by filters (spec 2.3)."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.api.responses import Returns, integer, obj
from openisales.domain.calldata_delete import DELETE_SPEC, plan_delete
from openisales.services import calldata_delete

PATH = "/rest/isales/v1/openapi/campaigns/{vdnId}/calldata/{campaignId}/delete"


async def delete_call_data(call: Call) -> Reply:
    campaign_id = call.id_param("campaignId")
    deleted = await calldata_delete.delete(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=campaign_id,
        plan=plan_delete(call.checked_body(DELETE_SPEC)),
        now=call.ctx.clock.now(),
        actor=call.actor,
    )
    return Reply("delete success", {"returnObject": {"deleteCount": deleted}})


OPERATIONS: list[Operation] = [
    Operation(
        "POST",
        PATH,
        "Delete waiting call data matching filters (the campaign must not be running)",
        delete_call_data,
        tag="call data",
        body=DELETE_SPEC,
        returns=Returns(
            "delete success",
            {
                "returnObject": obj(
                    "What was deleted",
                    {"deleteCount": integer("records deleted (or moved to the history)")},
                )
            },
        ),
        example={"customField": "batch-0401", "archiveHistory": 1},
    ),
]
