"""The blocklist page: list and look-up for every role, adds and deletes for supervisors,
each checked and audited as through the API."""

from __future__ import annotations

from openisales.services import audit
from openisales.store.audit import Filter
from tests.console.conftest import Console

BASE = "/console/vdn/1/blocklist"


async def _listed(console: Console, *numbers: str) -> dict[str, dict[str, object]]:
    async with console.api(1) as client:
        reply = await client.query_blocklist({"blocklist": list(numbers)})
    assert reply["resultCode"] == "0200000", reply
    return {e["blockNum"]: e for e in reply["data"]}


async def test_a_supervisor_adds_and_removes_numbers_visible_through_the_api(
    console: Console,
) -> None:
    browser = await console.login("sup1")
    page = await browser.get(BASE)
    assert page.status_code == 200 and "No number listed." in page.text
    added = await browser.post(
        f"{BASE}/add",
        {
            "numbers": "13800000001, 13800000002",
            "validity": "2",
            "unit": "3",
            "restrict_times": "2",
            "restrict_period": "1",
            "category": "complaint",
        },
        follow_redirects=True,
    )
    assert added.status_code == 200, added.text
    assert "Listed: 13800000001, 13800000002." in added.text
    entries = await _listed(console, "13800000001", "13800000002")
    assert set(entries) == {"13800000001", "13800000002"}
    first = entries["13800000001"]
    assert (first["restrictTimes"], first["restrictPeriod"], first["flag"]) == (2, "1", 1)
    assert first["relCategoryId"] == "complaint" and first["validityExpirationTime"]
    assert 'data-number="13800000002"' in added.text and "2 calls per day" in added.text

    looked_up = await browser.get(f"{BASE}?number=13800000002")
    assert 'data-number="13800000002"' in looked_up.text
    assert 'data-number="13800000001"' not in looked_up.text

    removed = await browser.post(f"{BASE}/delete", {"number": "13800000001"}, follow_redirects=True)
    assert "Removed from the blocklist: 13800000001." in removed.text
    assert set(await _listed(console, "13800000001", "13800000002")) == {"13800000002"}

    entries_audited = await audit.search(console.ctx.engine, Filter(vdns=[1]))
    actions = {(e.action, e.actor) for e in entries_audited}
    assert ("blocklist.add", "operator:sup1") in actions
    assert ("blocklist.delete", "operator:sup1") in actions


async def test_a_refusal_shows_its_code_keeps_the_form_and_changes_nothing(
    console: Console,
) -> None:
    browser = await console.login("sup1")
    await browser.get(BASE)
    await browser.post(f"{BASE}/add", {"numbers": "13800000009"})
    refused = await browser.post(
        f"{BASE}/add", {"numbers": "13800000009 13800000010", "category": "kept"}
    )
    assert refused.status_code == 400
    assert '<span class="code">0200007</span>' in refused.text
    assert "13800000009 13800000010" in refused.text and 'value="kept"' in refused.text
    assert set(await _listed(console, "13800000009", "13800000010")) == {"13800000009"}
    bad = await browser.post(f"{BASE}/add", {"numbers": "12ab"})
    assert bad.status_code == 400 and '<span class="code">02000002</span>' in bad.text
    paired = await browser.post(f"{BASE}/add", {"numbers": "139", "restrict_times": "3"})
    assert paired.status_code == 400 and "restrictPeriod go together" in paired.text
    missing = await browser.post(f"{BASE}/delete", {"number": "13811111111"})
    assert missing.status_code == 400 and '<span class="code">0200001</span>' in missing.text
    past = await browser.post(f"{BASE}/add", {"numbers": "140", "until": "2001-01-01T10:00"})
    assert past.status_code == 400 and "must be later than now" in past.text
    assert set(await _listed(console, "139", "140")) == set()


async def test_the_list_pages_by_number(console: Console) -> None:
    async with console.api(1) as client:
        for start in range(0, 60, 20):
            numbers = [f"1380000{n:04d}" for n in range(start, start + 20)]
            assert (await client.add_blocklist({"blocklist": numbers}))["resultCode"] == "0200000"
    browser = await console.login("view1")
    first = await browser.get(BASE)
    assert first.text.count("data-number=") == 50 and "Remove" not in first.text
    assert 'action="/console/vdn/1/blocklist/add"' not in first.text
    assert "?after=13800000049" in first.text
    second = await browser.get(f"{BASE}?after=13800000049")
    assert second.text.count("data-number=") == 10 and "Next numbers" not in second.text


async def test_viewers_and_other_vdns_change_nothing(console: Console) -> None:
    async with console.api(1) as client:
        await client.add_blocklist({"blocklist": ["13800000005"]})
    viewer = await console.login("view1")
    await viewer.get(BASE)
    assert (await viewer.post(f"{BASE}/add", {"numbers": "13800000006"})).status_code == 403
    assert (await viewer.post(f"{BASE}/delete", {"number": "13800000005"})).status_code == 403
    other = await console.login("sup2")
    await other.get("/console/vdn/2/blocklist")
    assert (await other.get(BASE)).status_code == 404
    assert (await other.post(f"{BASE}/delete", {"number": "13800000005"})).status_code == 404
    assert set(await _listed(console, "13800000005", "13800000006")) == {"13800000005"}
