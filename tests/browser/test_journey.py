"""The operator console's "Done when", end to end in the browser, as one supervisor's journey.

sup1 (supervisor of VDN 1), with nothing but the browser and a CSV file, on a
server started as ``make serve`` starts it (no default gateway): creates a
campaign with the form, chooses the simulator in its Dialling section, imports
five customers, watches it dial without reloading, pauses and resumes it, finds
a customer's history, and resends a failed result push (its ``callBackUrl`` is a
closed port, and the live server gives a failed push up at once). The only
thing arranged beforehand is the admin's: a business result defined for VDN 1.

Waiting is for conditions with timeouts. The one absence (a paused campaign
places no call) is watched over a window of dispatcher rounds, and the resume
that follows shows that the dispatcher was alive all along.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.live import Live, attempts, wait_for

NAME = "Journey"
CALLBACK_URL = "http://127.0.0.1:9/results"  # the discard port, closed: every push fails
NUMBERS = [f"1383000000{i}" for i in range(1, 6)]
CSV = "called,sessionId,customField\n" + "".join(
    f"{n},journey-{i},batch-journey\n" for i, n in enumerate(NUMBERS, 1)
)
RING_S = "3"  # a simulated call's length: slow enough to pause half way through five
WATCHED_S = 3.0  # the window over which a paused campaign must place no call (~15 rounds)


@pytest.fixture
def business_result(live: Live) -> str:
    """The admin's part: a business result defined for VDN 1 (through the signed API)."""
    with live.api() as api:
        reply = api.add_business_result({"name": "Recall", "code": "RECALL"})
    assert reply["resultCode"] in ("0200000", "0200001"), reply  # 0200001: already there
    return "RECALL"


def completed(page: Page) -> int:
    return int(page.locator('#campaign-figures [data-status="completed"]').inner_text())


def test_a_supervisor_runs_a_campaign_end_to_end_in_the_console(
    live: Live, login: Callable[[str], Page], business_result: str
) -> None:
    page = login("sup1")
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm forms ask first
    nav = page.get_by_role("navigation", name="Main")

    # ---- a new campaign, with the form
    page.get_by_role("link", name="New campaign").click()
    expect(page.get_by_role("heading", name="New campaign")).to_be_visible()
    today = datetime.now(UTC)
    page.get_by_label("Name", exact=True).fill(NAME)
    page.get_by_label("Begins (UTC)").fill(today.strftime("%Y-%m-%dT00:00:00"))
    page.get_by_label("Ends (UTC)").fill((today + timedelta(days=30)).strftime("%Y-%m-%dT23:59:59"))
    page.get_by_label("Result pushes to (callBackUrl)").fill(CALLBACK_URL)
    page.get_by_label("Calling number 1", exact=True).fill("88889527")
    page.get_by_label("Workdays slot 1 from").fill("00:00")
    page.get_by_label("Workdays slot 1 until").fill("23:59")
    page.get_by_label("Holidays slot 1 from").fill("00:00")
    page.get_by_label("Holidays slot 1 until").fill("23:59")
    page.get_by_label("Skill id").fill("2")
    page.get_by_label("Skill name").fill("defaultAudioSkill")
    page.get_by_label("Outbound type").fill("2")
    page.get_by_label(f"{business_result}: what follows", exact=True).select_option("2")
    page.get_by_label(f"{business_result}: wait in seconds", exact=True).fill("60")
    page.get_by_role("button", name="Create campaign").click()

    expect(page.get_by_role("status")).to_have_text("Campaign created.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(NAME)
    found = re.search(r"/console/vdn/1/campaigns/(\d+)", page.url)
    assert found, page.url
    campaign = int(found.group(1))
    dialing = page.locator('[data-dialing="gateway"]')
    expect(dialing).to_contain_text("server default: none")  # as `make serve`: no dialling

    # ---- Dialling: the simulator, every phone powered off (each record completes at once)
    form = page.get_by_role("form", name="Dialling settings")
    form.get_by_label("Gateway").select_option("simulator")
    form.get_by_label("Simulated agents (work numbers)").fill("2033, 2034")
    form.get_by_label("Answer mix").select_option(label="every phone powered off (00548)")
    form.get_by_label("Call length (s)").fill(RING_S)
    form.get_by_label("Max concurrency").fill("1")
    form.get_by_role("button", name="Save dialling").click()
    expect(page.get_by_role("status")).to_have_text("Dialling settings saved.")
    expect(dialing).to_have_text("simulator")
    expect(page.locator('[data-dialing="agents"]')).to_have_text("2033, 2034")
    expect(page.locator('[data-dialing="concurrency"]')).to_have_text("1 calls at once")

    # ---- Import five customers
    nav.get_by_role("link", name="Import").click()
    upload = page.get_by_role("form", name="Upload a file")
    upload.get_by_label("Campaign").select_option(label=f"{NAME} (#{campaign})")
    upload.get_by_label("File").set_input_files(
        {"name": "journey.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    )
    upload.get_by_role("button", name="Import").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "done")
    expect(page.locator('[data-count="loaded"]')).to_have_text("5")

    # ---- watch it dial, without reloading
    nav.get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name=NAME, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(NAME)
    page.evaluate("window.__stayed = true")  # gone if the page reloads
    figures = page.locator("#campaign-figures")
    expect(figures.locator('[data-status="completed"]')).not_to_have_text("0", timeout=15_000)
    expect(figures.locator('[data-figure="attempts"]')).not_to_have_text("0")
    assert page.evaluate("window.__stayed === true"), "the page was reloaded"

    # ---- pause: the call in progress ends, then nothing moves
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Campaign paused.")
    expect(page.get_by_role("button", name="Resume", exact=True)).to_be_visible()
    with live.api() as api:
        wait_for(lambda: _idle(live, campaign), what="the call in progress to end")
        placed = attempts(api, campaign)
        assert placed < len(NUMBERS), "all dialled before the pause: nothing to resume"
        # The figure follows: on a busy machine a count slow to compute is
        # kept a few seconds (docs/console.md, "Figures on large campaigns").
        page.reload()
        expect(figures.locator('[data-status="completed"]')).to_have_text(
            str(placed), timeout=20_000
        )
        before = placed
        time.sleep(WATCHED_S)  # the window watched: about 15 dispatcher rounds
        page.reload()
        assert completed(page) == before
        assert attempts(api, campaign) == placed

    # ---- resume: it dials again, and the page follows it to the end
    page.get_by_role("button", name="Resume", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Campaign resumed.")
    page.evaluate("window.__stayed = true")
    completed_figure = figures.locator('[data-status="completed"]')
    expect(completed_figure).not_to_have_text(str(before), timeout=15_000)
    expect(completed_figure).to_have_text(str(len(NUMBERS)), timeout=30_000)
    expect(figures.locator('[data-figure="attempts"]')).to_have_text(str(len(NUMBERS)))
    assert page.evaluate("window.__stayed === true"), "the page was reloaded"

    # ---- a customer's history
    nav.get_by_role("link", name="Call data").click()
    search = page.get_by_role("search", name="Find records")
    search.get_by_label("Find by").select_option(label="called number")
    search.get_by_label("Value").fill(NUMBERS[2])
    search.get_by_role("button", name="Search").click()
    rows = page.locator("table.calldata-found tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(NAME)
    rows.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^Record \d+$"))).to_be_visible()
    attempt_rows = page.get_by_role("table", name="Timeline").locator('tr[data-kind="attempt"]')
    expect(attempt_rows).to_have_count(1)
    expect(attempt_rows).to_contain_text(NUMBERS[2])
    expect(attempt_rows).to_contain_text("00548")

    # ---- the failed pushes, and a resend
    nav.get_by_role("link", name="Pushes").click()
    failed = page.locator("table.failed-pushes tbody tr[data-push]")

    def listed() -> bool:
        page.reload()
        return failed.count() > 0

    wait_for(listed, timeout=20, every=0.5, what="a failed push on the Pushes page")
    expect(failed.first).to_contain_text(NAME)
    expect(failed.first).to_contain_text(CALLBACK_URL)
    push_id = failed.first.get_attribute("data-push")
    failed.first.get_by_role("button", name=f"Resend push {push_id}").click()
    expect(page.get_by_role("status")).to_have_text("1 push(es) queued again.")


def _idle(live: Live, campaign_id: int) -> bool:
    """No record of the campaign is being called."""
    with live.api() as api:
        found = api.statistics(campaign_id)["countDetail"][0]
    return int(found["totalCount"]) - int(found["unCallCount"]) - int(found["finishCount"]) == 0
