"""Campaigns while the simulator dials them: the live overview, pausing, and a viewer's limits.

Waiting is always for a condition with a timeout (Playwright's ``expect`` or
``live.wait_for``), never a sleep taken as proof, except in one place: that a
paused campaign places no call is an absence, so the test watches a window of
dispatcher rounds and then shows, by resuming, that the dispatcher was alive
all along.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import csrf_token
from tests.browser.live import (
    POWERED_OFF,
    Live,
    add_numbers,
    attempts,
    dialling_campaign,
    make_campaign,
    status,
    wait_for,
)

RUNNING, PAUSED = 2, 3
POLL_INTERVAL_S = 0.2  # the dispatcher's idle poll (dialing/dispatcher.py)


def numbers(count: int, first: int = 13_800_000_000) -> list[str]:
    return [str(first + i) for i in range(count)]


def counters(live: Live, campaign_id: int) -> dict[str, Any]:
    with live.api() as api:
        reply = api.statistics(campaign_id)
    assert reply["resultCode"] == "0200000", reply
    found: dict[str, Any] = reply["countDetail"][0]
    return found


def in_flight(found: dict[str, Any]) -> int:
    """Records being called: neither waiting for a first call nor completed."""
    return int(found["totalCount"]) - int(found["unCallCount"]) - int(found["finishCount"])


def idle(live: Live, campaign_id: int) -> dict[str, Any] | None:
    """The campaign's counters once no record is being called, else None."""
    found = counters(live, campaign_id)
    return found if in_flight(found) == 0 else None


def test_the_overview_follows_the_dialing_without_reloading(
    live: Live, login: Callable[[str], Page]
) -> None:
    with live.api() as api:
        campaign = dialling_campaign(
            api, "Live overview", concurrency=1, mix=POWERED_OFF, seed=1, ring_s=0.5
        )
        page = login("view1")
        expect(page).to_have_url(re.compile(r"/console/vdn/1/campaigns$"))
        row = page.locator(f'tr[data-campaign="{campaign}"]')
        expect(row.locator('[data-figure="attempts"]')).to_have_text("0")
        expect(row.locator('[data-status="completed"]')).to_have_text("0")
        page.evaluate("window.__stayed = true")  # gone if the page reloads
        add_numbers(api, campaign, numbers(6))

    # the live region refreshes every 3 s while the simulator places a call every ~0.6 s
    expect(row.locator('[data-figure="attempts"]')).not_to_have_text("0", timeout=15_000)
    expect(row.locator('[data-status="completed"]')).to_have_text("6", timeout=20_000)
    expect(row.locator('[data-figure="attempts"]')).to_have_text("6")
    expect(row.locator('[data-status="waiting"]')).to_have_text("0")
    expect(page.locator("#overview")).to_have_attribute("data-updated", re.compile(r"^\d+$"))
    assert page.evaluate("window.__stayed === true"), "the page was reloaded"


def test_pausing_from_the_campaign_page_stops_the_claims(
    live: Live, login: Callable[[str], Page]
) -> None:
    with live.api() as api:
        campaign = dialling_campaign(
            api, "Pause me", concurrency=1, mix=POWERED_OFF, seed=2, ring_s=0.3
        )
        add_numbers(api, campaign, numbers(60))
        page = login("sup1")
        page.goto(f"/console/vdn/1/campaigns/{campaign}")
        expect(page.get_by_role("heading", name=re.compile("Pause me"))).to_be_visible()
        wait_for(lambda: attempts(api, campaign) >= 2, what="the first attempts")

        page.on("dialog", lambda dialog: dialog.accept())  # a data-confirm form asks first
        page.get_by_role("button", name="Pause", exact=True).click()
        expect(page.get_by_role("button", name="Resume", exact=True)).to_be_visible()
        assert status(api, campaign) == PAUSED

        # the call in progress when it was paused ends; after that nothing is claimed
        settled = wait_for(lambda: idle(live, campaign), what="the call in progress to end")
        placed = attempts(api, campaign)
        assert 0 < settled["unCallCount"] < 60, settled
        time.sleep(15 * POLL_INTERVAL_S)  # the window watched: about 15 dispatcher rounds
        assert counters(live, campaign)["unCallCount"] == settled["unCallCount"]
        assert attempts(api, campaign) == placed

        # the dispatcher was alive all along: resumed, the campaign dials again
        assert api.resume_campaign(campaign)["resultCode"] == "0200000"
        wait_for(lambda: attempts(api, campaign) > placed, what="dialing after the resume")
        assert api.pause_campaign(campaign)["resultCode"] == "0200000"  # quiet for the others


def test_a_viewer_cannot_pause(live: Live, login: Callable[[str], Page]) -> None:
    with live.api() as api:
        campaign = make_campaign(api, "Viewer watches")
    page = login("view1")
    page.goto(f"/console/vdn/1/campaigns/{campaign}")
    expect(page.get_by_role("heading", name=re.compile("Viewer watches"))).to_be_visible()
    expect(page.get_by_role("button", name="Pause", exact=True)).to_have_count(0)

    # forged from the viewer's own page: the session's real CSRF token and this origin
    target = f"/console/vdn/1/campaigns/{campaign}/pause"
    token = csrf_token(page)
    replies = page.evaluate(
        """async ([target, token]) => {
            const form = new URLSearchParams({csrf: token});
            const sent = await fetch(target, {method: "POST", body: form});
            const header = await fetch(target, {method: "POST", headers: {"X-CSRF-Token": token}});
            return [sent.status, header.status];
        }""",
        [target, token],
    )
    assert replies == [403, 403]
    assert page.request.post(target, form={"csrf": token}).status == 403
    with live.api() as api:
        assert status(api, campaign) == RUNNING
