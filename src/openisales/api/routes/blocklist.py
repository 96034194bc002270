"""The VDN's blocklist (spec 2.10): add, query and delete numbers."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.domain.blocklist import ADD_SPEC, DELETE_SPEC, QUERY_SPEC, plan_add, plan_query
from openisales.services import blocklist

BASE = "/rest/isales/v1/openapi/campaigns/{vdnId}/blocklist"
TAG = "blocklist"


async def add_blocklist(call: Call) -> Reply:
    now = call.ctx.clock.now()
    plan = plan_add(call.checked_body(ADD_SPEC), now)
    await blocklist.add(call.ctx.engine, vdn_id=call.vdn_id, plan=plan, now=now)
    return Reply("add blocklist success")


async def query_blocklist(call: Call) -> Reply:
    total, data = await blocklist.query(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        plan=plan_query(call.checked_body(QUERY_SPEC)),
        now=call.ctx.clock.now(),
    )
    return Reply("query success", {"totalCount": total, "data": data})


async def delete_blocklist(call: Call) -> Reply:
    body = call.checked_body(DELETE_SPEC)
    await blocklist.delete(call.ctx.engine, vdn_id=call.vdn_id, number=body["blocklistNo"])
    return Reply("delete blocklist success")


OPERATIONS: list[Operation] = [
    Operation(
        "POST",
        BASE + "/add",
        "Add numbers to the VDN's blocklist (at most 20)",
        add_blocklist,
        TAG,
        body=ADD_SPEC,
    ),
    Operation(
        "POST",
        BASE + "/query",
        "Look numbers up in the blocklist, or page through it",
        query_blocklist,
        TAG,
        body=QUERY_SPEC,
    ),
    Operation(
        "POST",
        BASE + "/delete",
        "Remove a number from the blocklist",
        delete_blocklist,
        TAG,
        body=DELETE_SPEC,
    ),
]
