"""Reserved (appointment) calls: create, update, updateResult and list (spec 2.9)."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.api.responses import Returns, array, boolean, id_string, integer, obj, string
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
TAG = "appointments"
_MS = "epoch milliseconds, UTC"
APPOINT_ID = "1000000000000000042"

_APPOINTMENT = obj(
    "A reserved call and how it went",
    {
        "appointId": id_string("its id"),
        "callType": string('"1" manual, "2" automatic', enum=["1", "2"]),
        "appointTime": integer("when it is due; " + _MS),
        "calledNo": string("the number to call"),
        "taskId": id_string("its campaign"),
        "taskName": string("the campaign's name", nullable=True),
        "taskStatus": string(
            "the campaign's status: 2, 3 or 4 (null: campaign deleted)",
            nullable=True,
            enum=["2", "3", "4"],
        ),
        "timeout": boolean("appointTime has passed and the call is not done"),
        "userAccount": string("the agent's business account", nullable=True),
        "userName": string("the agent's name: always null (no agent directory)", nullable=True),
        "beginTime": integer("its last attempt's ring start; " + _MS, nullable=True),
        "endTime": integer("its last attempt's end; " + _MS, nullable=True),
        "workNo": string("the agent's work number", nullable=True),
        "remark": string("as given", nullable=True),
        "callData": string("as given (automatic calls)", nullable=True),
        "status": integer("0 pending, 1 in progress, 2 done (ours)", enum=[0, 1, 2]),
        "failCode": string("the call's failure code; 00000 success", nullable=True),
        "callId": string("the call's id", nullable=True),
        "callerNo": string("the calling number reported", nullable=True),
        "busiResult": string("the business result", nullable=True),
        "busiSubStatus": string("its sub-result", nullable=True),
        "dataId": id_string("the call-data record that dials it (ours)", nullable=True),
    },
)


async def create_appointment(call: Call) -> Reply:
    now = call.ctx.clock.now()
    appoint_id = await appointments.create(
        call.ctx.engine,
        call.ctx.ids,
        vdn_id=call.vdn_id,
        new=plan_create(call.checked_body(CREATE_SPEC), now),
        max_unfinished=call.ctx.settings.max_unfinished_per_campaign,
        now=now,
        actor=call.actor,
    )
    return Reply("create success", {"returnObject": {"appointId": str(appoint_id)}})


async def update_appointment(call: Call) -> Reply:
    now = call.ctx.clock.now()
    change = plan_update(call.checked_body(UPDATE_SPEC), now)
    await appointments.update(
        call.ctx.engine, vdn_id=call.vdn_id, change=change, now=now, actor=call.actor
    )
    return Reply("update success")


async def update_appointment_result(call: Call) -> Reply:
    result = plan_result(call.checked_body(RESULT_SPEC))
    await appointments.record_result(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        result=result,
        now=call.ctx.clock.now(),
        actor=call.actor,
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
        tag=TAG,
        body=CREATE_SPEC,
        returns=Returns(
            "create success",
            {"returnObject": obj("The new reserved call", {"appointId": id_string("its id")})},
        ),
        example={
            "callType": 1,
            "calledNo": "13800000003",
            "workNo": "2033",
            "taskId": 3,
            "appointTime": 1901264400000,
            "remark": "Prefers the afternoon",
        },
    ),
    Operation(
        "POST",
        BASE + "/update",
        "Move a manual reserved call (time, agent, remark) while it waits to be dialled",
        update_appointment,
        tag=TAG,
        body=UPDATE_SPEC,
        returns=Returns("update success"),
        example={
            "appointId": APPOINT_ID,
            "remark": "Moved to the afternoon",
            "appointTime": 1901271600000,
            "workNo": "2033",
        },
    ),
    Operation(
        "POST",
        BASE + "/updateResult",
        "Record a manual reserved call's result (automatic ones follow their call)",
        update_appointment_result,
        tag=TAG,
        body=RESULT_SPEC,
        returns=Returns("update success"),
        example={
            "appointId": APPOINT_ID,
            "workNo": "2033",
            "callerNo": "88889527",
            "failCode": "00000",
            "callId": "1644464743-1388",
            "busiResult": "1621474513",
            "busiSubStatus": "1048856206",
        },
    ),
    Operation(
        "POST",
        BASE + "/list",
        "List reserved calls, paged by offset and limit",
        list_appointments,
        tag=TAG,
        body=LIST_SPEC,
        returns=Returns(
            "query success",
            {
                "totalCount": integer("reserved calls matching the filters"),
                "data": array(_APPOINTMENT, "the page, by appointTime"),
            },
        ),
        example={"taskId": 3, "workNoList": ["2033"], "offset": 0, "limit": 20},
    ),
]
