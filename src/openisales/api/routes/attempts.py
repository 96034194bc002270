"""Dialing endpoints (ours): a CTI reports attempt outcomes; an agent pulls its record."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.api.responses import (
    Returns,
    array,
    id_string,
    integer,
    mapping,
    obj,
    stored,
    string,
)
from openisales.domain import dialing_config as config_rules
from openisales.domain.attempt_report import PULL_SPEC, REPORT_SPEC, plan_report
from openisales.errors import NotFound
from openisales.services import dialing, dialing_config, preview

BASE = "/rest/isales/v1/openapi/campaigns/{vdnId}"
TAG = "dialing"
RECORDED = "The attempt result is recorded."
ALREADY = "The attempt result was already recorded or the attempt is over."

_TASK = obj(
    "The call task claimed for the agent (null when nothing is due)",
    {
        "attemptId": string("dataId:attemptNo, for attemptResult"),
        "campaignId": integer("the campaign"),
        "dataId": id_string("the record"),
        "attemptNo": integer("this attempt's number, from 1"),
        "called": string("the number to dial"),
        "calledNos": array(
            obj(
                "A number of the record",
                {"calledNo": string("the number"), "type": string("its type, or empty")},
            ),
            "all the record's numbers",
        ),
        "callData": string("the record's call data", nullable=True),
        "workNo": string("the agent"),
    },
    nullable=True,
)


async def attempt_result(call: Call) -> Reply:
    report = plan_report(call.checked_body(REPORT_SPEC))
    settings = call.ctx.settings
    (applied,) = await dialing.record_attempts(
        call.ctx.engine,
        call.ctx.ids,
        [
            dialing.AttemptReport(
                call.vdn_id,
                report.data_id,
                report.attempt_no,
                report.fail_code,
                report.call_id,
                report.ring_time,
                report.answer_time,
                report.end_time,
                report.work_no,
            )
        ],
        now=call.ctx.clock.now(),
        timing=dialing.DialerTiming(settings.result_wait_s, settings.common_retry_interval_s),
        displays=dialing.display_map,
    )
    if applied.missing:
        raise NotFound("The outbound call data does not exist.", result_code="0200033")
    if not applied.applied:
        return Reply(ALREADY)
    call.ctx.metrics.attempts.labels(report.fail_code).inc()
    return Reply(RECORDED, {"next": applied.kind.value if applied.kind else None})


async def agent_next(call: Call) -> Reply:
    body = call.checked_body(PULL_SPEC)
    task = await preview.pull(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        work_no=body["workNo"],
        campaign_id=body["campaignId"],
        now=call.ctx.clock.now(),
        lease_s=call.ctx.settings.lease_s,
    )
    return Reply("query success", {"data": task})


async def set_dialing(call: Call) -> Reply:
    await dialing_config.set_dialing(
        call.ctx.engine,
        vdn_id=call.vdn_id,
        campaign_id=call.id_param("campaignId"),
        settings=config_rules.check(call.checked_body(config_rules.SPEC)),
        now=call.ctx.clock.now(),
        actor=call.actor,
    )
    return Reply("update success")


async def get_dialing(call: Call) -> Reply:
    found = await dialing_config.get_dialing(
        call.ctx.engine, vdn_id=call.vdn_id, campaign_id=call.id_param("campaignId")
    )
    return Reply("query success", {"data": found})


OPERATIONS = [
    Operation(
        "POST",
        BASE + "/dialing/{campaignId}",
        "Set a campaign's gateway, gateway configuration and concurrency cap (ours)",
        set_dialing,
        tag=TAG,
        body=config_rules.SPEC,
        returns=Returns("update success"),
        example={
            "gateway": "webhook",
            "gatewayConfig": {"url": "https://cti.example.com/isales/tasks"},
            "maxConcurrency": 20,
        },
    ),
    Operation(
        "GET",
        BASE + "/dialing/{campaignId}",
        "Query a campaign's dialing settings (ours)",
        get_dialing,
        tag=TAG,
        returns=Returns(
            "query success",
            {
                "data": obj(
                    "The campaign's dialing settings",
                    {
                        "gateway": string("simulator, webhook, or empty: the server default"),
                        "gatewayConfig": mapping(
                            stored("a setting"), "the gateway's configuration, as set"
                        ),
                        "maxConcurrency": integer(
                            "calls in progress at once; null: the server default", nullable=True
                        ),
                    },
                )
            },
        ),
    ),
    Operation(
        "POST",
        BASE + "/attemptResult",
        "Report the outcome of a call task (CTI to openisales; ours)",
        attempt_result,
        tag=TAG,
        body=REPORT_SPEC,
        returns=Returns(
            (RECORDED, ALREADY),
            {
                "next": string(
                    "what follows for the record (recorded only): await its write-back, "
                    "retry, or complete",
                    nullable=True,
                    enum=["await", "retry", "complete"],
                )
            },
            optional=("next",),
        ),
        example={
            "attemptId": "1803096731904991234:1",
            "failCode": "00000",
            "callStatus": 6,
            "callId": "1644464743-1388",
            "ringTime": "2030-04-01 09:30:00",
            "answerTime": "2030-04-01 09:30:08",
            "endTime": "2030-04-01 09:32:41",
            "workNo": "2033",
        },
    ),
    Operation(
        "POST",
        BASE + "/agent/next",
        "Preview mode: an agent pulls its next due record reserved for it (ours)",
        agent_next,
        tag=TAG,
        body=PULL_SPEC,
        returns=Returns("query success", {"data": _TASK}),
        example={"workNo": "2033", "campaignId": 3},
    ),
]
