"""The console's home and the campaigns overview, refreshed live while campaigns dial."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openisales.console.cache import Kept
from openisales.console.page import Page, view
from openisales.domain.calldata import DataStatus
from openisales.domain.operator import Permission, Role
from openisales.services import activity

STATUS_NAMES = {
    DataStatus.WAITING: "waiting",
    DataStatus.CALLING: "in call",
    DataStatus.AWAITING_RESULT: "awaiting write-back",
    DataStatus.COMPLETED: "completed",
}
REFRESH_MS = 3000


@view(Permission.READ)
async def home(page: Page) -> Response:
    """``/console/``: the chosen (``?vdn=``) or first VDN's campaigns."""
    wanted = page.request.query_params.get("vdn", "")
    ids = [v.vdn_id for v in page.vdns]
    if wanted.isdigit() and int(wanted) in ids:
        return page.redirect(f"/console/vdn/{int(wanted)}/campaigns")
    if ids:
        return page.redirect(f"/console/vdn/{ids[0]}/campaigns")
    if page.operator.role is Role.ADMIN:
        return page.redirect("/console/admin/vdns")
    return page.render("empty.html", title="No VDN")


async def _figures(page: Page) -> Kept[list[activity.Figures]]:
    vdn_id = page.vdn_id
    assert vdn_id is not None
    return await page.figures.get(
        ("overview", vdn_id), lambda: activity.overview(page.engine, vdn_id, page.now), page.now
    )


@view(Permission.READ)
async def campaigns(page: Page) -> Response:
    return page.render(
        "overview.html",
        section="campaigns",
        title="Campaigns",
        kept=await _figures(page),
        statuses=STATUS_NAMES,
        refresh_ms=REFRESH_MS,
        can_operate=page.may(Permission.OPERATE),
    )


@view(Permission.READ)
async def campaigns_live(page: Page) -> Response:
    """The overview's table alone: what the page's live region reloads."""
    return page.render("_overview_table.html", kept=await _figures(page), statuses=STATUS_NAMES)


ROUTES: list[BaseRoute] = [
    Route("/console/", home, methods=["GET"]),
    Route("/console/vdn/{vdn}/campaigns", campaigns, methods=["GET"]),
    Route("/console/vdn/{vdn}/campaigns/live", campaigns_live, methods=["GET"]),
]
