"""The per-VDN holiday calendar (ours): add, list, delete."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.api.responses import Returns, array, integer, obj, string
from openisales.services import holidays

PATH = "/rest/isales/v1/openapi/campaigns/{vdnId}/holidays"
_TAG = "holidays"


def _listed(description: str, what: str) -> Returns:
    return Returns(
        description,
        {
            "data": array(
                obj(
                    "A holiday",
                    {"date": string("yyyy-mm-dd, the VDN's day"), "name": string("its name")},
                ),
                what + ", in date order",
            ),
            "totalCount": integer("how many"),
        },
    )


async def add_holidays(call: Call) -> Reply:
    planned = holidays.plan_add(call.checked_body(holidays.ADD_SPEC))
    added = await holidays.add(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        holidays=planned,
        now=call.ctx.clock.now(),
        actor=call.actor,
    )
    return Reply("add holidays success", holidays.to_wire(added))


async def list_holidays(call: Call) -> Reply:
    params = call.checked_query(holidays.LIST_SPEC)
    found = await holidays.query(call.ctx.engine, vdn_id=call.vdn_id, year=params["year"])
    return Reply("query success", holidays.to_wire(found))


async def delete_holidays(call: Call) -> Reply:
    days = holidays.plan_delete(call.checked_body(holidays.DELETE_SPEC))
    deleted = await holidays.delete(
        call.ctx.engine, vdn_id=call.vdn_id, days=days, now=call.ctx.clock.now(), actor=call.actor
    )
    return Reply("delete holidays success", holidays.to_wire(deleted))


OPERATIONS = [
    Operation(
        "POST",
        PATH,
        "Add holidays (ours; a date already listed takes the new name)",
        add_holidays,
        tag=_TAG,
        body=holidays.ADD_SPEC,
        returns=_listed("add holidays success", "the holidays added"),
        example={
            "holidays": [
                {"date": "2030-10-01", "name": "National Day"},
                {"date": "2030-10-02", "name": "National Day"},
            ]
        },
    ),
    Operation(
        "GET",
        PATH,
        "List the VDN's holidays (ours) in date order, optionally of one year",
        list_holidays,
        tag=_TAG,
        query=holidays.LIST_SPEC,
        returns=_listed("query success", "the VDN's holidays (of the year asked)"),
        example={"year": 2030},
    ),
    Operation(
        "POST",
        PATH + "/delete",
        "Delete holidays (ours) by date; returns those that were listed",
        delete_holidays,
        tag=_TAG,
        body=holidays.DELETE_SPEC,
        returns=_listed("delete holidays success", "the holidays deleted (those listed)"),
        example={"dates": ["2030-10-02"]},
    ),
]
