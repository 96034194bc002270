"""Reserved (appointment) calls: create, update, updateResult and list (spec 2.9)."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.domain.appointment import (
    CREATE_SPEC,
    LIST_SPEC,
    RESULT_SPEC,
    UPDATE_SPEC,
    plan_create,
    plan_result,
    plan_search,
    plan_update,
)
from openisales.services import appointments

BASE = "/rest/isales/v1/openapi/campaigns/{vdnId}/appoint"


async def create_appointment(call: Call) -> Reply:
    now = call.ctx.clock.now()
    appoint_id = await appointments.create(
        call.ctx.engine,
        call.ctx.ids,
        vdn_id=call.vdn_id,
        new=plan_create(call.checked_body(CREATE_SPEC), now),
        max_unfinished=call.ctx.settings.max_unfinished_per_campaign,
        now=now,
    )
    return Reply("create success", {"returnObject": {"appointId": str(appoint_id)}})


async def update_appointment(call: Call) -> Reply:
    now = call.ctx.clock.now()
    change = plan_update(call.checked_body(UPDATE_SPEC), now)
    await appointments.update(call.ctx.engine, vdn_id=call.vdn_id, change=change, now=now)
    return Reply("update success")


async def update_appointment_result(call: Call) -> Reply:
    result = plan_result(call.checked_body(RESULT_SPEC))
    await appointments.record_result(
        call.ctx.engine, vdn_id=call.vdn_id, result=result, now=call.ctx.clock.now()
    )
    return Reply("update success")


async def list_appointments(call: Call) -> Reply:
    total, data = await appointments.search(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        search=plan_search(call.checked_body(LIST_SPEC)),
        now=call.ctx.clock.now(),
    )
    return Reply("query success", {"totalCount": total, "data": data})


OPERATIONS = [
    Operation(
        "POST",
        BASE + "/create",
        "Create a reserved call: a record due at appointTime (automatic: 5 min early)",
        create_appointment,
        tag="appointments",
        body=CREATE_SPEC,
    ),
    Operation(
        "POST",
        BASE + "/update",
        "Move a manual reserved call (time, agent, remark) while it waits to be dialled",
        update_appointment,
        tag="appointments",
        body=UPDATE_SPEC,
    ),
    Operation(
        "POST",
        BASE + "/updateResult",
        "Record a manual reserved call's result (automatic ones follow their call)",
        update_appointment_result,
        tag="appointments",
        body=RESULT_SPEC,
    ),
    Operation(
        "POST",
        BASE + "/list",
        "List reserved calls, paged by offset and limit",
        list_appointments,
        tag="appointments",
        body=LIST_SPEC,
    ),
]
