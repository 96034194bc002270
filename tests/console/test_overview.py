"""The campaigns overview: every campaign of the VDN with its live figures."""

from __future__ import annotations

import asyncio
import re

from tests.console.conftest import Console
from tests.helpers import add_numbers, make_campaign


def cell(html: str, campaign_id: int, status: str) -> str:
    row = re.search(rf'<tr data-campaign="{campaign_id}">(.*?)</tr>', html, re.S)
    assert row, html
    found = re.search(rf'data-status="{status}">([^<]*)<', row.group(1))
    assert found, row.group(1)
    return found.group(1)


async def test_overview_lists_the_vdns_campaigns_with_counts(console: Console) -> None:
    async with console.api(1) as api:
        first = await make_campaign(api, "Spring sale")
        await add_numbers(api, first, "13800000001", "13800000002", "13800000003")
    async with console.api(2) as api:
        await make_campaign(api, "Other tenant")
    browser = await console.login("view1")
    page = await browser.get("/console/vdn/1/campaigns")
    assert page.status_code == 200
    assert "Spring sale" in page.text and "Other tenant" not in page.text
    assert cell(page.text, first, "waiting") == "3"
    assert "open now" in page.text
    assert "New campaign" not in page.text  # a viewer creates nothing


async def test_the_live_part_follows_changes(console: Console) -> None:
    async with console.api(1) as api:
        campaign = await make_campaign(api)
        browser = await console.login("sup1")
        before = await browser.get("/console/vdn/1/campaigns/live")
        assert "No campaign" not in before.text
        assert cell(before.text, campaign, "waiting") == "0"
        assert "<html" not in before.text  # the table alone
        await add_numbers(api, campaign, "13800000001")
    # Counts that took over 50 ms (a loaded machine) are kept up to 5 s
    # (console/cache.py): the live part catches up within that.
    for _ in range(40):
        after = await browser.get("/console/vdn/1/campaigns/live")
        if cell(after.text, campaign, "waiting") == "1":
            break
        await asyncio.sleep(0.25)
    assert cell(after.text, campaign, "waiting") == "1"
    page = await browser.get("/console/vdn/1/campaigns")
    assert "New campaign" in page.text  # a supervisor may create one


async def test_home_goes_to_the_first_visible_vdn(console: Console) -> None:
    browser = await console.login("sup2")
    reply = await browser.http.get("/console/")
    assert reply.headers["location"] == "/console/vdn/2/campaigns"
    chosen = await browser.http.get("/console/?vdn=1")  # not theirs: ignored
    assert chosen.headers["location"] == "/console/vdn/2/campaigns"
    page = await browser.get("/console/vdn/2/campaigns")
    assert 'value="1"' not in page.text  # the VDN picker lists VDN 2 alone


async def test_an_unknown_console_path_is_an_html_404(console: Console) -> None:
    browser = await console.login("root")
    reply = await browser.get("/console/nowhere")
    assert reply.status_code == 404
    assert "text/html" in reply.headers["content-type"]
    assert (await browser.get("/console/vdn/99/campaigns")).status_code == 404
    assert (await browser.get("/console/vdn/x1/campaigns")).status_code == 404
