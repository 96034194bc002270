"""``addBusinessResult`` and ``queryBusinessResults``."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.api.responses import Returns, array, integer, obj, string
from openisales.domain.business_result import ADD_SPEC, QUERY_SPEC, check_query, plan_definition
from openisales.services import business_results

BASE = "/rest/isales/v1/openapi/campaigns/{vdnId}"

_CHILD = obj(
    "A sub-result",
    {
        "name": string("the sub-result's name"),
        "code": string("its code (subStatus of a write-back)"),
        "description": string("empty when none was given"),
        "defLevel": string('"2": a sub-result', enum=["2"]),
    },
)
_RESULT = obj(
    "A business result with its sub-results",
    {
        "name": string("the result's name"),
        "code": string("its code (busiResult of a write-back)"),
        "description": string("empty when none was given"),
        "defLevel": string('"1": a top-level result', enum=["1"]),
        "children": array(_CHILD, "its sub-results, in the order added"),
    },
)


async def add_business_result(call: Call) -> Reply:
    definition = plan_definition(call.checked_body(ADD_SPEC))
    await business_results.add(
        call.ctx.engine,
        call.ctx.ids,
        vdn_id=call.vdn_id,
        definition=definition,
        now=call.ctx.clock.now(),
        actor=call.actor,
    )
    return Reply("add business result success")


async def query_business_results(call: Call) -> Reply:
    page_size, page_num = check_query(call.request.query_params)
    total, data = await business_results.query(
        call.ctx.engine, vdn_id=call.vdn_id, page_size=page_size, page_num=page_num
    )
    return Reply("query success", {"totalCount": total, "data": data})


OPERATIONS = [
    Operation(
        "POST",
        BASE + "/addBusinessResult",
        "Add a business-result definition (a parent with optional children)",
        add_business_result,
        tag="business results",
        body=ADD_SPEC,
        returns=Returns("add business result success"),
        example={
            "name": "Sale",
            "code": "1621474513",
            "description": "The customer bought",
            "children": [
                {"name": "Paid", "code": "1048856206", "description": "Paid on the call"},
                {"name": "Call back", "code": "1048856207"},
            ],
        },
    ),
    Operation(
        "GET",
        BASE + "/queryBusinessResults",
        "Query business-result definitions, paged",
        query_business_results,
        tag="business results",
        query=QUERY_SPEC,
        returns=Returns(
            "query success",
            {
                "totalCount": integer("top-level results in the VDN"),
                "data": array(_RESULT, "the page, in the order added"),
            },
        ),
        example={"pageSize": 10, "pageNum": 1},
    ),
]
