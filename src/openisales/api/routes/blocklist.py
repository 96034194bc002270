"""The VDN's blocklist (spec 2.10): add, query and delete numbers."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.api.responses import Returns, array, integer, obj, string
from openisales.domain.blocklist import ADD_SPEC, DELETE_SPEC, QUERY_SPEC, plan_add, plan_query
from openisales.services import blocklist

BASE = "/rest/isales/v1/openapi/campaigns/{vdnId}/blocklist"
TAG = "blocklist"

_ENTRY = obj(
    "A listed number",
    {
        "blockNum": string("the number"),
        "validityExpirationTime": string(
            "when it leaves the list, yyyy-MM-dd HH:mm:ss UTC; null: never", nullable=True
        ),
        "flag": integer("1 active, 0 expired", enum=[0, 1]),
        "restrictTimes": integer("calls allowed per restrictPeriod (ours)", nullable=True),
        "restrictPeriod": string('"0" hourly, "1" daily (ours)', nullable=True, enum=["0", "1"]),
        "relCategoryId": string("as given (ours)", nullable=True),
        "typeId": string("as given (ours)", nullable=True),
    },
)


async def add_blocklist(call: Call) -> Reply:
    now = call.ctx.clock.now()
    plan = plan_add(call.checked_body(ADD_SPEC), now)
    await blocklist.add(call.ctx.engine, vdn_id=call.vdn_id, plan=plan, now=now, actor=call.actor)
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
    await blocklist.delete(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        number=body["blocklistNo"],
        now=call.ctx.clock.now(),
        actor=call.actor,
    )
    return Reply("delete blocklist success")


OPERATIONS: list[Operation] = [
    Operation(
        "POST",
        BASE + "/add",
        "Add numbers to the VDN's blocklist (at most 20)",
        add_blocklist,
        TAG,
        body=ADD_SPEC,
        returns=Returns("add blocklist success"),
        example={
            "blocklist": ["13800000009"],
            "validityTime": 30,
            "validityTimeUnit": 3,
            "restrictTimes": 2,
            "restrictPeriod": "1",
            "isCoverDupNo": 0,
        },
    ),
    Operation(
        "POST",
        BASE + "/query",
        "Look numbers up in the blocklist, or page through it",
        query_blocklist,
        TAG,
        body=QUERY_SPEC,
        returns=Returns(
            "query success",
            {
                "totalCount": integer("entries matching (all of the VDN's when paging)"),
                "data": array(_ENTRY, "the entries found, or the page"),
            },
        ),
        example={"offset": 0, "limit": 20},
    ),
    Operation(
        "POST",
        BASE + "/delete",
        "Remove a number from the blocklist",
        delete_blocklist,
        TAG,
        body=DELETE_SPEC,
        returns=Returns("delete blocklist success"),
        example={"blocklistNo": "13800000009"},
    ),
]
