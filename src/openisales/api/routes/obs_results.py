"""Display results and platform failure codes (spec 2.7): ``createObResult``,
``queryOBSResults``, ``deleteObsResult``, ``queryOBSResultCode``."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.api.responses import Returns, array, id_string, integer, obj, string
from openisales.domain.obs_result import CREATE_SPEC, PAGE_SPEC, plan_obs_result
from openisales.services import obs_results

BASE = "/rest/isales/v1/openapi/campaigns/{vdnId}"
TAG = "display results"

_MAP = obj(
    "A failure code of the display result",
    {
        "mapId": id_string("the mapping's id"),
        "defId": id_string("the display result"),
        "failCode": string("the platform failure code"),
        "vdnId": integer("the VDN"),
    },
)
_OB_RESULT = obj(
    "A display result with its failure codes",
    {
        "defId": id_string("its id"),
        "displayResult": string("its text"),
        "vdnId": integer("the VDN"),
        "resultCode": string("its code (resultCode of the call results, noRetryPolicy)"),
        "resultMapList": array(_MAP, "its failure codes, in the order given"),
    },
)


async def create_obs_result(call: Call) -> Reply:
    def_id = await obs_results.create(
        call.ctx.engine,
        call.ctx.ids,
        vdn_id=call.vdn_id,
        new=plan_obs_result(call.checked_body(CREATE_SPEC)),
        now=call.ctx.clock.now(),
        actor=call.actor,
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
    await obs_results.delete(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        def_id=call.id_param("defId"),
        now=call.ctx.clock.now(),
        actor=call.actor,
    )
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
        returns=Returns(
            "createObResult Success!", {"defId": id_string("the new display result's id")}
        ),
        # Huawei's own example (cec_07_0798).
        example={
            "resultCode": "007",
            "displayResult": "Unreachable",
            "obsCodes": ["00602", "00606"],
        },
    ),
    Operation(
        "GET",
        BASE + "/queryOBSResults",
        "Query the VDN's display results with their failure codes, paged",
        query_obs_results,
        TAG,
        query=PAGE_SPEC,
        returns=Returns(
            "queryObsResultDetail success",
            {
                "totalCount": integer("the VDN's display results"),
                "data": array(_OB_RESULT, "the page, oldest first"),
            },
        ),
        example={"pageSize": 10, "pageNum": 1},
    ),
    Operation(
        "GET",
        BASE + "/queryOBSResultCode",
        "Query the platform failure-code catalogue, paged",
        query_obs_result_codes,
        TAG,
        query=PAGE_SPEC,
        returns=Returns(
            "query success",
            {
                "totalCount": integer("codes in the catalogue"),
                "obsCodes": array(
                    obj(
                        "A platform failure code",
                        {
                            "obsCode": string("the code (5 digits)"),
                            "obsCodeDesc": string("what it means, in English"),
                        },
                    ),
                    "the page, in code order",
                ),
            },
        ),
        example={"pageSize": 50, "pageNum": 1},
    ),
    Operation(
        "DELETE",
        BASE + "/{defId}/deleteObsResult",
        "Delete a display result and its failure-code maps",
        delete_obs_result,
        TAG,
        returns=Returns("deleteObsResult Success!"),
    ),
]
