"""Failed result pushes of a VDN (or one campaign), and sending them again.

A resend queues the push with its pushId and payload unchanged (the pusher
delivers it as a new push; receivers recognise what they already have), as
``openisales push resend`` does, and is audited (``push.resend``).
"""

from __future__ import annotations

import re

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openisales.console.campaigns import MAX_ID, NOTICES, Refusal
from openisales.console.page import Page, view
from openisales.domain.operator import Permission
from openisales.domain.push import push_id
from openisales.services import activity, outcomes, pushes

FORM_BYTES = 4096
PAGE_ROWS = 50
_SAFE = re.compile(r"/console/vdn/[0-9]+/[A-Za-z0-9/_.?&=-]*")


def _number(raw: object) -> int | None:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text.isdigit() or len(text) > 19 or int(text) > MAX_ID:
        return None
    return int(text)


def _notice(page: Page) -> str:
    query = page.request.query_params
    return NOTICES.get(query.get("done", ""), "").format(query.get("what", "")[:20])


async def _list(page: Page, status: int = 200, error: Refusal | None = None) -> Response:
    vdn_id = page.vdn_id
    assert vdn_id is not None
    query = page.request.query_params
    campaign_id = _number(query.get("campaign", ""))
    found = await outcomes.failed_pushes(
        page.engine, vdn_id, campaign_id=campaign_id, after=query.get("after"), limit=PAGE_ROWS
    )
    states = await activity.states(page.engine, vdn_id, page.now)
    here = page.vdn_path("/pushes") + (
        f"?campaign={campaign_id}" if campaign_id is not None else ""
    )
    return page.render(
        "pushes.html",
        status,
        section="pushes",
        title="Failed pushes",
        notice=_notice(page),
        error=error,
        campaign_id=campaign_id,
        names={s.campaign.campaign_id: s.campaign.fields.name for s in states},
        found=found,
        first_page=not query.get("after"),
        here=here,
        can_operate=page.may(Permission.OPERATE),
    )


@view(Permission.READ)
async def failed(page: Page) -> Response:
    return await _list(page)


async def _resend(page: Page, form: FormData) -> int:
    """Queue what the form names; returns how many were queued."""
    vdn_id = page.vdn_id
    assert vdn_id is not None
    campaign_id = _number(form.get("campaign"))
    if form.get("all") == "campaign" and campaign_id is not None:
        return await pushes.resend(
            page.engine, now=page.now, actor=page.actor, vdn_id=vdn_id, campaign_id=campaign_id
        )
    if form.get("all") == "vdn":
        return await pushes.resend(page.engine, now=page.now, actor=page.actor, vdn_id=vdn_id)
    data_id, seq = _number(form.get("data_id")), _number(form.get("seq"))
    if data_id is None or seq is None:
        raise ValueError("name a push (dataId and seq) or the failed pushes to resend")
    pid = push_id(data_id, seq)
    count = await pushes.resend(
        page.engine, now=page.now, actor=page.actor, vdn_id=vdn_id, push_id=pid
    )
    if not count:
        raise ValueError(f"no failed or delivered push {pid} in this VDN")
    return count


@view(Permission.OPERATE)
async def resend(page: Page) -> Response:
    form = await page.form(FORM_BYTES)
    try:
        count = await _resend(page, form)
    except ValueError as exc:
        return await _list(page, 400, Refusal(str(exc)))
    page.figures.forget(("counts", page.vdn_id))
    back = form.get("back")
    path = back if isinstance(back, str) and _ours(page, back) else page.vdn_path("/pushes")
    path = re.sub(r"[?&](done|what)=[^&]*", "", path)
    return page.redirect(f"{path}{'&' if '?' in path else '?'}done=resent&what={count}")


def _ours(page: Page, path: str) -> bool:
    """A path of this VDN's console pages (never another site: no open redirect)."""
    return (
        path.startswith(page.vdn_path("/"))
        and len(path) < 1000
        and ".." not in path
        and _SAFE.fullmatch(path) is not None
    )


ROUTES: list[BaseRoute] = [
    Route("/console/vdn/{vdn}/pushes", failed, methods=["GET"]),
    Route("/console/vdn/{vdn}/pushes/resend", resend, methods=["POST"]),
]
