"""Dialing endpoints (ours): a CTI reports attempt outcomes; an agent pulls its record."""

from __future__ import annotations

from openisales.api.endpoint import Call, Operation, Reply
from openisales.domain import dialing_config as config_rules
from openisales.domain.attempt_report import PULL_SPEC, REPORT_SPEC, plan_report
from openisales.errors import NotFound
from openisales.services import dialing, dialing_config, preview

BASE = "/rest/isales/v1/openapi/campaigns/{vdnId}"


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
        return Reply("The attempt result was already recorded or the attempt is over.")
    call.ctx.metrics.attempts.labels(report.fail_code).inc()
    return Reply(
        "The attempt result is recorded.", {"next": applied.kind.value if applied.kind else None}
    )


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
        tag="dialing",
        body=config_rules.SPEC,
    ),
    Operation(
        "GET",
        BASE + "/dialing/{campaignId}",
        "Query a campaign's dialing settings (ours)",
        get_dialing,
        tag="dialing",
    ),
    Operation(
        "POST",
        BASE + "/attemptResult",
        "Report the outcome of a call task (CTI to openisales; ours)",
        attempt_result,
        tag="dialing",
        body=REPORT_SPEC,
    ),
    Operation(
        "POST",
        BASE + "/agent/next",
        "Preview mode: an agent pulls its next due record reserved for it (ours)",
        agent_next,
        tag="dialing",
        body=PULL_SPEC,
    ),
]
