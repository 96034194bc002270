"""A campaign's page (figures, policy in words, charts, retry queue, failed pushes),
its pause and resume, and the new / edit campaign form.

The form is converted to the body the campaign API receives and goes through
the API's own spec, ``plan_campaign`` and ``services.campaigns`` (see
``console.campaign_form``), so a console change is checked, coded and audited
as an API change is. A refusal is shown next to the form with its result
code, and the form keeps what was typed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openisales.console import campaign_form, charts, dialing_form
from openisales.console.campaign_form import Typed
from openisales.console.overview import STATUS_NAMES, overview_of
from openisales.console.page import Page, error_page, view
from openisales.domain import dialing_config as dialing_rules, policy_text
from openisales.domain.attempt import RESULT_TYPES
from openisales.domain.campaign import (
    CREATE_V1_SPEC,
    CREATE_V2_SPEC,
    Campaign,
    StoredPolicy,
    plan_campaign,
    plan_retry_policy,
)
from openisales.domain.operator import Permission
from openisales.domain.retry_policy import RetryPolicy, policy_from_stored
from openisales.domain.schedule import SLOTS
from openisales.errors import NotFound, OpenISalesError
from openisales.services import (
    activity,
    business_results,
    campaigns,
    dialing_config,
    obs_results,
    outcomes,
)

FORM_BYTES = 262_144
QUEUE_ROWS = 50
PUSH_ROWS = 10
REFRESH_MS = 3000
MAX_ID = 2**63 - 1
NOTICES = {
    "created": "Campaign created.",
    "saved": "Campaign saved.",
    "paused": "Campaign paused.",
    "resumed": "Campaign resumed.",
    "dialing": "Dialling settings saved.",
    "resent": "{} push(es) queued again.",
}


@dataclass(frozen=True)
class Refusal:
    text: str
    code: str | None = None


def refusal(exc: OpenISalesError) -> Refusal:
    return Refusal(exc.description, exc.result_code)


def campaign_id(page: Page) -> int | None:
    raw = str(page.request.path_params.get("id", ""))
    if not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_ID:
        return None
    return int(raw)


def notice(page: Page) -> str:
    query = page.request.query_params
    return NOTICES.get(query.get("done", ""), "").format(query.get("what", "")[:20])


def _not_found(page: Page) -> Response:
    return error_page(page.request, 404, "Not found", "No such campaign in this VDN.")


def retry_policy_of(c: Campaign) -> RetryPolicy | None:
    """The campaign's policy as the dialing engine reads it (``callPolicy`` turns included)."""
    p, call_policy = c.policy, c.fields.call_policy
    if p is None and call_policy is None:
        return None
    return policy_from_stored(
        p.policy_type if p else None,
        p.policy_json if p else None,
        json.dumps(list(p.no_retry)) if p else None,
        json.dumps(call_policy) if call_policy is not None else None,
        p.busi_json if p else None,
    )


def schedule_text(schedule: dict[str, str]) -> dict[str, str]:
    """``{"workday": "09:00–12:00, 14:00–18:00", "holiday": "none"}``."""
    out: dict[str, list[str]] = {"workday": [], "holiday": []}
    for day, i in SLOTS:
        begin, end = schedule.get(f"{day}BeginTime{i}"), schedule.get(f"{day}EndTime{i}")
        if begin and end:
            out[day].append(f"{begin}–{end}")
    return {day: ", ".join(slots) or "no calls" for day, slots in out.items()}


# ---- The campaign page -------------------------------------------------------


async def _figures(page: Page, cid: int) -> dict[str, Any] | None:
    found = await overview_of(page, [cid])
    if not found.states:
        return None
    state, counts = found.rows()[0]
    parts = [(name, counts.by_status.get(s, 0)) for s, name in STATUS_NAMES.items()]
    return {
        "state": state,
        "counts": counts,
        "computed_at": found.counts.computed_at,
        "status_chart": charts.status_bar(parts, title="Records by status"),
    }


async def _campaign_page(
    page: Page,
    cid: int,
    status: int = 200,
    error: Refusal | None = None,
    dialing_typed: dict[str, str] | None = None,
    dialing_error: Refusal | None = None,
) -> Response:
    vdn_id, settings = page.vdn_id, page.ctx.settings
    assert vdn_id is not None and page.tz is not None
    figures = await _figures(page, cid)
    if figures is None:
        return _not_found(page)
    dialing = await dialing_config.get_dialing(page.engine, vdn_id=vdn_id, campaign_id=cid)
    c: Campaign = figures["state"].campaign
    period = page.request.query_params.get("period", "")
    if period not in outcomes.PERIODS:
        period = outcomes.DEFAULT_PERIOD
    tz, now = page.tz, page.now
    hourly = await page.figures.get(
        ("hourly", vdn_id, cid),
        lambda: outcomes.attempts_per_hour(page.engine, vdn_id, cid, now, tz),
        now,
    )
    found = await page.figures.get(
        ("outcomes", vdn_id, cid, period),
        lambda: outcomes.outcomes_since(page.engine, vdn_id, cid, now - outcomes.PERIODS[period]),
        now,
    )
    fallback_s = settings.reservation_fallback_s
    queue = await outcomes.retry_queue(
        page.engine, vdn_id, cid, fallback_s=fallback_s, limit=QUEUE_ROWS
    )
    failed = await outcomes.failed_pushes(page.engine, vdn_id, campaign_id=cid, limit=PUSH_ROWS)
    o = found.value
    return page.render(
        "campaign.html",
        status,
        section="campaigns",
        title=c.fields.name,
        notice=notice(page),
        error=error,
        c=c,
        cid=cid,
        f=c.fields,
        schedule=schedule_text(c.fields.schedule),
        device_types=campaign_form.DEVICE_TYPES,
        policy_lines=policy_text.describe(
            retry_policy_of(c),
            reservation_fallback_s=fallback_s,
            common_interval_s=settings.common_retry_interval_s,
        ),
        fallback=policy_text.duration(fallback_s) if fallback_s else None,
        period=period,
        periods=list(outcomes.PERIODS),
        outcomes=o,
        outcome_charts=[
            charts.time_series(hourly.value, title="Attempts per hour, last 24 h (VDN time)"),
            charts.bar_chart(o.by_fail_code, title=f"Attempts by failure code ({period})"),
            charts.bar_chart(o.by_display_result, title=f"Attempts by display result ({period})"),
            charts.bar_chart(o.by_busi_result, title=f"Write-backs by business result ({period})"),
        ],
        charts_at=min(hourly.computed_at, found.computed_at),
        queue=queue,
        queue_rows=QUEUE_ROWS,
        failed=failed,
        dialing=dialing,
        dialing_now=dialing_form.from_settings(dialing),
        dialing_typed=dialing_typed or dialing_form.from_settings(dialing),
        dialing_error=dialing_error,
        gateways=dialing_form.GATEWAYS,
        mixes=dialing_form.MIXES,
        server_gateway=settings.gateway,
        default_concurrency=settings.default_concurrency,
        refresh_ms=REFRESH_MS,
        can_operate=page.may(Permission.OPERATE),
        **figures,
    )


@view(Permission.READ)
async def campaign(page: Page) -> Response:
    cid = campaign_id(page)
    return _not_found(page) if cid is None else await _campaign_page(page, cid)


@view(Permission.READ)
async def campaign_live(page: Page) -> Response:
    """The campaign's figures alone: what the page's live region reloads."""
    cid = campaign_id(page)
    figures = await _figures(page, cid) if cid is not None else None
    if figures is None:
        return _not_found(page)
    return page.render("_campaign_figures.html", **figures)


async def _transition(page: Page, step: Any, done: str) -> Response:
    cid, vdn_id = campaign_id(page), page.vdn_id
    if cid is None or vdn_id is None:
        return _not_found(page)
    try:
        await step(page.engine, vdn_id=vdn_id, campaign_id=cid, now=page.now, actor=page.actor)
    except OpenISalesError as exc:
        return await _campaign_page(page, cid, 400, refusal(exc))
    return page.redirect(page.vdn_path(f"/campaigns/{cid}"), done=done)


@view(Permission.OPERATE)
async def pause(page: Page) -> Response:
    return await _transition(page, campaigns.pause, "paused")


@view(Permission.OPERATE)
async def resume(page: Page) -> Response:
    return await _transition(page, campaigns.resume, "resumed")


@view(Permission.OPERATE)
async def set_dialing(page: Page) -> Response:
    """The dialling form: the dialing API's checks, codes and service (``campaign.dialing``)."""
    cid, vdn_id = campaign_id(page), page.vdn_id
    if cid is None or vdn_id is None:
        return _not_found(page)
    typed = dialing_form.from_form(await page.form(FORM_BYTES))
    try:
        current = await dialing_config.get_dialing(page.engine, vdn_id=vdn_id, campaign_id=cid)
        checked = dialing_rules.SPEC.check(dialing_form.body(typed, current))
        assert checked is not None  # the spec is required
        await dialing_config.set_dialing(
            page.engine,
            vdn_id=vdn_id,
            campaign_id=cid,
            settings=dialing_rules.check(checked),
            now=page.now,
            actor=page.actor,
        )
    except NotFound:
        return _not_found(page)
    except OpenISalesError as exc:
        return await _campaign_page(page, cid, 400, dialing_typed=typed, dialing_error=refusal(exc))
    return page.redirect(page.vdn_path(f"/campaigns/{cid}"), done="dialing")


# ---- New and edit ------------------------------------------------------------


async def _form_page(
    page: Page,
    typed: Typed,
    current: Campaign | None,
    status: int = 200,
    error: Refusal | None = None,
) -> Response:
    vdn_id = page.vdn_id
    assert vdn_id is not None
    _, defined = await business_results.query(page.engine, vdn_id=vdn_id, page_size=200, page_num=1)
    busi_rows = []
    for parent in defined:
        busi_rows.append((parent["code"], f"{parent['code']} · {parent['name']}", False))
        busi_rows += [
            (campaign_form.busi_key(parent["code"], child["code"]), child["name"], True)
            for child in parent["children"]
        ]
    known = {key for key, _, _ in busi_rows}
    busi_rows += [
        (key, f"{key} (not defined in this VDN)", False)
        for key in campaign_form.busi_keys(typed)
        if key not in known
    ]
    _, displays = await obs_results.query(page.engine, vdn_id=vdn_id, page_size=500, page_num=1)
    version = current.fields.api_version if current else 2
    fallback_s = page.ctx.settings.reservation_fallback_s
    return page.render(
        "campaign_form.html",
        status,
        section="campaigns",
        title=f"Edit {current.fields.name}" if current else "New campaign",
        current=current,
        v=typed,
        version=version,
        error=error,
        caller_rows=1
        if version == 1
        else typed.rows("caller", "code", spare=2, limit=100, least=3),
        entry_rows=typed.rows("entry", "kind", spare=1, limit=campaign_form.MAX_ENTRIES),
        device_types=campaign_form.DEVICE_TYPES,
        init_statuses=campaign_form.INIT_STATUSES,
        busi_rows=busi_rows,
        busi_actions=campaign_form.BUSI_ACTIONS,
        no_retry_choices=campaign_form.choices(
            ((d["resultCode"], f"{d['resultCode']} · {d['displayResult']}") for d in displays),
            typed.no_retry,
        ),
        result_types=list(RESULT_TYPES.items()),
        fallback=policy_text.duration(fallback_s) if fallback_s else None,
        slots=SLOTS,
    )


@view(Permission.OPERATE)
async def new_campaign(page: Page) -> Response:
    return await _form_page(page, campaign_form.new(page.now), None)


@view(Permission.OPERATE)
async def create_campaign(page: Page) -> Response:
    vdn_id = page.vdn_id
    assert vdn_id is not None
    typed = campaign_form.from_form(await page.form(FORM_BYTES))
    try:
        checked = CREATE_V2_SPEC.check(campaign_form.body(typed, 2), "")
        assert checked is not None  # the spec is required
        cid = await campaigns.create(
            page.engine,
            page.ctx.ids,
            vdn_id=vdn_id,
            draft=plan_campaign(checked, 2),
            now=page.now,
            actor=page.actor,
        )
    except OpenISalesError as exc:
        return await _form_page(page, typed, None, 400, refusal(exc))
    return page.redirect(page.vdn_path(f"/campaigns/{cid}"), done="created")


async def _current(page: Page) -> Campaign | None:
    cid = campaign_id(page)
    if cid is None or page.vdn_id is None:
        return None
    found = await activity.states(page.engine, page.vdn_id, page.now, [cid])
    return found[0].campaign if found else None


@view(Permission.OPERATE)
async def edit_campaign(page: Page) -> Response:
    current = await _current(page)
    if current is None:
        return _not_found(page)
    return await _form_page(page, campaign_form.from_campaign(current), current)


@view(Permission.OPERATE)
async def save_campaign(page: Page) -> Response:
    current = await _current(page)
    if current is None:
        return _not_found(page)
    typed = campaign_form.from_form(await page.form(FORM_BYTES))
    cid, version, vdn_id = current.campaign_id, current.fields.api_version, page.vdn_id
    assert vdn_id is not None
    try:
        checked = (CREATE_V1_SPEC if version == 1 else CREATE_V2_SPEC).check(
            campaign_form.body(typed, version), ""
        )
        assert checked is not None  # the spec is required
        draft = plan_campaign(checked, version)
        # A v1 campaign keeps the v1 shape: its policy is set as the v1 API sets it,
        # after the fields (both checked before anything is written).
        policy = plan_retry_policy(campaign_form.retry_policy(typed)) if version == 1 else None
        await campaigns.modify(
            page.engine,
            vdn_id=vdn_id,
            campaign_id=cid,
            draft=draft,
            now=page.now,
            actor=page.actor,
        )
        if policy is not None and _changed(current.policy, policy):
            await campaigns.set_retry_policy(
                page.engine,
                vdn_id=vdn_id,
                campaign_id=cid,
                policy=policy,
                now=page.now,
                actor=page.actor,
            )
    except OpenISalesError as exc:
        return await _form_page(page, typed, current, 400, refusal(exc))
    return page.redirect(page.vdn_path(f"/campaigns/{cid}"), done="saved")


def _changed(stored: StoredPolicy | None, policy: RetryPolicy) -> bool:
    if stored is None:
        return bool(policy.policy_type or policy.policy_entries or policy.no_retry or policy.busi)
    return (stored.policy_type, stored.policy_json, stored.no_retry, stored.busi_json) != (
        policy.policy_type,
        policy.policy_json(),
        policy.no_retry,
        policy.busi_json(),
    )


ROUTES: list[BaseRoute] = [
    Route("/console/vdn/{vdn}/campaigns/new", new_campaign, methods=["GET"]),
    Route("/console/vdn/{vdn}/campaigns/new", create_campaign, methods=["POST"]),
    Route("/console/vdn/{vdn}/campaigns/{id}", campaign, methods=["GET"]),
    Route("/console/vdn/{vdn}/campaigns/{id}/live", campaign_live, methods=["GET"]),
    Route("/console/vdn/{vdn}/campaigns/{id}/pause", pause, methods=["POST"]),
    Route("/console/vdn/{vdn}/campaigns/{id}/resume", resume, methods=["POST"]),
    Route("/console/vdn/{vdn}/campaigns/{id}/dialing", set_dialing, methods=["POST"]),
    Route("/console/vdn/{vdn}/campaigns/{id}/edit", edit_campaign, methods=["GET"]),
    Route("/console/vdn/{vdn}/campaigns/{id}/edit", save_campaign, methods=["POST"]),
]
