"""``addBusinessResult`` and ``queryBusinessResults``."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.domain.business_result import ADD_SPEC, QUERY_SPEC, check_query, plan_definition
from openisales.services import business_results

BASE = "/rest/isales/v1/openapi/campaigns/{vdnId}"


async def add_business_result(call: Call) -> Reply:
    definition = plan_definition(call.checked_body(ADD_SPEC))
    await business_results.add(
        call.ctx.engine,
        call.ctx.ids,
        vdn_id=call.vdn_id,
        definition=definition,
        now=call.ctx.clock.now(),
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
    ),
    Operation(
        "GET",
        BASE + "/queryBusinessResults",
        "Query business-result definitions, paged",
        query_business_results,
        tag="business results",
        query=QUERY_SPEC,
    ),
]
