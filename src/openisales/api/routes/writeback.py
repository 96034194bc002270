"""``callBusiResult``: the business-result write-back (the seed interface)."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.api.responses import Returns
from openisales.domain.writeback import BODY_SPEC, WriteBackRequest
from openisales.services import writeback

PATH = "/rest/isales/v1/openapi/campaigns/{vdnId}/callBusiResult/{dataId}"
SUCCESS_DESC = "The business result is written back successfully."


async def call_busi_result(call: Call) -> Reply:
    data_id = call.id_param("dataId")
    body = call.checked_body(BODY_SPEC)
    request = WriteBackRequest(
        vdn_id=call.vdn_id,
        data_id=data_id,
        busi_result=body["busiResult"],
        sub_status=body["subStatus"],
        busi_result_desc=body["busiResultDesc"],
        work_no=body["workNo"],
        now=call.ctx.clock.now(),
        nonce=call.nonce,
    )
    ctx = call.ctx
    await writeback.write_back(
        ctx.engine,
        ctx.ids,
        ctx.definitions,
        request,
        replay=ctx.replay,
        fast=ctx.writeback_fast,
        group=ctx.writeback_group,
    )
    return Reply(SUCCESS_DESC)


OPERATIONS = [
    Operation(
        "POST",
        PATH,
        "Write back the business result of an outbound call",
        call_busi_result,
        tag="write-back",
        body=BODY_SPEC,
        failure_code=writeback.WRITE_FAILED,
        replay_in_handler=True,
        returns=Returns(SUCCESS_DESC),
        # Huawei's own example (cec_07_4048).
        example={
            "busiResult": "1621474513",
            "subStatus": "1048856206",
            "busiResultDesc": "1",
            "workNo": "2033",
        },
    ),
]
