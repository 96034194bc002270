"""The console's home and the campaigns overview, refreshed live while campaigns dial."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Overview:
    states: list[activity.State]
    counts: Kept[dict[int, activity.Counts]]

    def rows(self) -> list[tuple[activity.State, activity.Counts]]:
        found = self.counts.value
        return [(s, found.get(s.campaign.campaign_id, activity.NO_COUNTS)) for s in self.states]


async def overview_of(page: Page, campaign_ids: list[int] | None = None) -> Overview:
    """The VDN's campaigns: states read now, counts possibly kept (``console.cache``)."""
    vdn_id = page.vdn_id
    assert vdn_id is not None
    states = await activity.states(page.engine, vdn_id, page.now, campaign_ids)
    ids = tuple(s.campaign.campaign_id for s in states)
    kept = await page.figures.get(
        ("counts", vdn_id, ids),
        lambda: activity.counts(page.engine, vdn_id, ids, page.now),
        page.now,
    )
    return Overview(states, kept)


@view(Permission.READ)
async def campaigns(page: Page) -> Response:
    return page.render(
        "overview.html",
        section="campaigns",
        title="Campaigns",
        overview=await overview_of(page),
        statuses=STATUS_NAMES,
        refresh_ms=REFRESH_MS,
        can_operate=page.may(Permission.OPERATE),
    )


@view(Permission.READ)
async def campaigns_live(page: Page) -> Response:
    """The overview's table alone: what the page's live region reloads."""
    return page.render(
        "_overview_table.html", overview=await overview_of(page), statuses=STATUS_NAMES
    )


ROUTES: list[BaseRoute] = [
    Route("/console/", home, methods=["GET"]),
    Route("/console/vdn/{vdn}/campaigns", campaigns, methods=["GET"]),
    Route("/console/vdn/{vdn}/campaigns/live", campaigns_live, methods=["GET"]),
]
