"""Finding a record and its attempts, and an import whose bad rows are shown."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.live import (
    POWERED_OFF,
    Live,
    add_numbers,
    attempts,
    dialling_campaign,
    make_campaign,
    wait_for,
)


def test_a_search_finds_a_record_and_shows_its_attempts(
    live: Live, login: Callable[[str], Page]
) -> None:
    called = ["13810000001", "13810000002", "13810000003"]
    with live.api() as api:
        campaign = dialling_campaign(api, "Search me", mix=POWERED_OFF, seed=3)
        ids = add_numbers(api, campaign, called, sessionId="search-case")
        wait_for(lambda: attempts(api, campaign) == 3, what="one attempt per record")

    page = login("view1")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Call data").click()
    search = page.get_by_role("search", name="Find records")
    search.get_by_label("Find by").select_option(label="called number")
    search.get_by_label("Value").fill(called[1])
    search.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(rf"/console/vdn/1/calldata\?.*q={called[1]}"))

    found = page.locator("table.calldata-found tbody tr")
    expect(found).to_have_count(1)
    row = page.locator(f'tr[data-record="{ids[1]}"]')
    expect(row).to_contain_text("Search me")
    expect(row).to_contain_text("00548")  # its last failure: powered off
    expect(row.locator("td.num")).to_have_text("1")  # one attempt

    row.get_by_role("link", name=ids[1]).click()
    expect(page.get_by_role("heading", name=f"Record {ids[1]}")).to_be_visible()
    timeline = page.get_by_role("table", name="Timeline")
    attempt_rows = timeline.locator('tr[data-kind="attempt"]')
    expect(attempt_rows).to_have_count(1)
    expect(attempt_rows).to_contain_text("Attempt 1")
    expect(attempt_rows).to_contain_text(called[1])
    expect(attempt_rows).to_contain_text("00548")

    by_session = page.goto("/console/vdn/1/calldata?by=session&q=search-case")
    assert by_session is not None and by_session.status == 200
    expect(found).to_have_count(3)


CSV = (
    "called,sessionId,customField\n"
    "13820000001,imp-1,batch-a\n"
    "13820000002,imp-2,batch-a\n"
    "1382000000x,imp-3,batch-a\n"  # an illegal character
    ",imp-4,batch-a\n"  # no number
)


def test_an_import_with_bad_rows_shows_them(live: Live, login: Callable[[str], Page]) -> None:
    with live.api() as api:
        campaign = make_campaign(api, "Import target", initStatus=3)  # paused: nothing dials

    page = login("sup1")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    form = page.get_by_role("form", name="Upload a file")
    form.get_by_label("Campaign").select_option(label=f"Import target (#{campaign})")
    form.get_by_label("File").set_input_files(
        {"name": "customers.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    )
    form.get_by_label("load the good rows").check()
    form.get_by_role("button", name="Import").click()

    expect(page).to_have_url(re.compile(r"/console/vdn/1/imports/[^/]+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("customers.csv")
    # the import runs in the background; its page follows it until it is done
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "done")
    expect(page.locator('[data-count="read"]')).to_have_text("4")
    expect(page.locator('[data-count="loaded"]')).to_have_text("2")
    expect(page.locator('[data-count="refused"]')).to_have_text("2")
    refused = page.get_by_role("table", name="Refused rows").locator("tbody tr")
    expect(refused).to_have_count(2)
    expect(refused.nth(0)).to_contain_text("02000002")  # illegal character
    expect(refused.nth(1)).to_contain_text("02000001")  # empty
    expect(page.get_by_role("link", name=re.compile("Download every refused row"))).to_be_visible()

    with live.api() as api:
        counted = api.statistics(campaign)["countDetail"][0]
    assert counted["totalCount"] == 2  # the good rows, and only they
