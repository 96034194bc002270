"""Logging in and out, sessions that end elsewhere, CSRF, and the VDNs an operator sees."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import csrf_token, log_in, new_context
from tests.browser.live import Live, make_campaign

LOGIN = re.compile(r"/console/login(\?|$)")


def test_log_in_and_out(page: Page) -> None:
    page.goto("/console/vdn/1/campaigns")
    expect(page).to_have_url(re.compile(r"/console/login\?next=%2Fconsole%2Fvdn%2F1%2Fcampaigns$"))
    page.get_by_label("Name").fill("sup1")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("sup1")  # the form keeps the name

    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/console/vdn/1/campaigns$"))  # where it was going
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    expect(page.locator("header .who")).to_contain_text("sup1")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(LOGIN)
    page.goto("/console/vdn/1/campaigns")  # the cookie is gone: back to the form
    expect(page).to_have_url(LOGIN)


def test_a_session_ended_elsewhere_sends_the_next_page_to_login(
    browser: Browser, live: Live, page: Page, context: BrowserContext
) -> None:
    log_in(page, "view1")
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    page.evaluate("window.__stayed = true")  # gone if the page reloads

    # another tab with the same session cookie logs out: the server ends the session
    other = new_context(browser, live)
    try:
        other.add_cookies(context.cookies())
        tab = other.new_page()
        tab.goto("/console/vdn/1/campaigns")
        expect(tab.get_by_role("heading", name="Campaigns")).to_be_visible()
        tab.get_by_role("button", name="Log out").click()
        expect(tab).to_have_url(LOGIN)
    finally:
        other.close()

    # the open overview's next live refresh finds the session ended and reloads to the login
    # form (console.js), with no click; the old cookie opens no page either
    expect(page).to_have_url(LOGIN, timeout=15_000)
    page.goto("/console/audit")
    expect(page).to_have_url(re.compile(r"/console/login\?next=%2Fconsole%2Faudit$"))


def test_a_post_with_a_wrong_csrf_token_is_refused(page: Page) -> None:
    log_in(page, "sup1")
    token = csrf_token(page)
    refused = page.request.post("/console/logout", form={"csrf": token[::-1]})
    assert refused.status == 403
    assert "Refused" in refused.text()
    missing = page.request.post("/console/logout", form={})
    assert missing.status == 403
    page.reload()  # the session is still open: the refused logout changed nothing
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    accepted = page.request.post("/console/logout", form={"csrf": token}, max_redirects=0)
    assert accepted.status == 303  # the same request with the right token goes through


def test_an_operator_of_vdn_1_never_sees_vdn_2(live: Live, page: Page) -> None:
    with live.api(2) as api:
        other = make_campaign(api, "Insurance renewals")
    log_in(page, "sup1")
    picker = page.get_by_label("VDN")
    expect(picker.locator("option")).to_have_count(1)
    expect(picker.locator("option")).to_have_text(re.compile(r"^1 · "))

    for path in (
        "/console/vdn/2/campaigns",
        "/console/vdn/2/campaigns/live",
        f"/console/vdn/2/campaigns/{other}",
        "/console/vdn/2/calldata",
        "/console/vdn/2/imports",
    ):
        reply = page.goto(path)
        assert reply is not None and reply.status == 404, path
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        expect(page.get_by_text("Insurance")).to_have_count(0)
    page.goto("/console/?vdn=2")  # asking for it picks the operator's own VDN instead
    expect(page).to_have_url(re.compile(r"/console/vdn/1/campaigns$"))
    expect(page.get_by_text("Insurance renewals")).to_have_count(0)
