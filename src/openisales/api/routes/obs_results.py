"""Display results and platform failure codes (spec 2.7): ``createObResult``,
``queryOBSResults``, ``deleteObsResult``, ``queryOBSResultCode``."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.domain.obs_result import CREATE_SPEC, PAGE_SPEC, plan_obs_result
from openisales.services import obs_results

BASE = "/rest/isales/v1/openapi/campaigns/{vdnId}"
TAG = "display results"


async def create_obs_result(call: Call) -> Reply:
    def_id = await obs_results.create(
        call.ctx.engine,
        call.ctx.ids,
        vdn_id=call.vdn_id,
        new=plan_obs_result(call.checked_body(CREATE_SPEC)),
        now=call.ctx.clock.now(),
    )
    return Reply("createObResult Success!", {"defId": str(def_id)})


async def query_obs_results(call: Call) -> Reply:
    params = call.checked_query(PAGE_SPEC)
    total, data = await obs_results.query(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        page_size=params["pageSize"],
        page_num=params["pageNum"],
    )
    return Reply("queryObsResultDetail success", {"totalCount": total, "data": data})


async def delete_obs_result(call: Call) -> Reply:
    await obs_results.delete(call.ctx.engine, vdn_id=call.vdn_id, def_id=call.id_param("defId"))
    return Reply("deleteObsResult Success!")


async def query_obs_result_codes(call: Call) -> Reply:
    params = call.checked_query(PAGE_SPEC)
    total, codes = obs_results.result_codes(
        page_size=params["pageSize"], page_num=params["pageNum"]
    )
    return Reply("query success", {"totalCount": total, "obsCodes": codes})


OPERATIONS: list[Operation] = [
    Operation(
        "POST",
        BASE + "/createObResult",
        "Define a display result grouping platform failure codes",
        create_obs_result,
        TAG,
        body=CREATE_SPEC,
    ),
    Operation(
        "GET",
        BASE + "/queryOBSResults",
        "Query the VDN's display results with their failure codes, paged",
        query_obs_results,
        TAG,
        query=PAGE_SPEC,
    ),
    Operation(
        "GET",
        BASE + "/queryOBSResultCode",
        "Query the platform failure-code catalogue, paged",
        query_obs_result_codes,
        TAG,
        query=PAGE_SPEC,
    ),
    Operation(
        "DELETE",
        BASE + "/{defId}/deleteObsResult",
        "Delete a display result and its failure-code maps",
        delete_obs_result,
        TAG,
    ),
]
