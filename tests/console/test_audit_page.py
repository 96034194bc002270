"""The audit log page: what each operator may see, filters, paging, bounded look-ups."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest

from openisales.console import audit as audit_page
from openisales.domain.operator import Role
from openisales.services import holidays, operators
from openisales.services.audit import CLI, Actor
from openisales.store.holidays import Holiday
from tests.console.conftest import PASSWORD, Console
from tests.helpers import make_campaign

ROW = re.compile(r'<tr data-audit="(\d+)">(.*?)</tr>', re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


def rows(page: str) -> list[tuple[int, list[str]]]:
    """(audit id, cells) of each entry listed, in page order."""
    return [(int(m.group(1)), CELL.findall(m.group(2))) for m in ROW.finditer(page)]


def older_link(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', page)
    return html.unescape(found.group(1)) if found else None


async def add_holidays(console: Console, vdn_id: int, count: int, *, days: float = 0) -> None:
    """``count`` audited changes on ``vdn_id``, by operator:robot, ``days`` from now."""
    now = console.clock.now() + timedelta(days=days)
    for i in range(count):
        day = Holiday(date(2030, 1, 1) + timedelta(days=i), f"day {i}")
        await holidays.add(
            console.ctx.engine,
            vdn_id=vdn_id,
            holidays=[day],
            now=now,
            actor=Actor("operator", "robot"),
        )


async def test_a_console_change_is_listed_with_its_actor_and_snapshots(console: Console) -> None:
    browser = await console.login("root")
    reply = await browser.post(
        "/console/admin/operators/view1/access", {"role": "supervisor", "vdn": ["1", "2"]}
    )
    assert reply.status_code == 303
    page = await browser.get("/console/audit")
    assert page.status_code == 200 and "Dates and times are in UTC" in page.text
    _, cells = rows(page.text)[0]
    assert cells[2] == "operator:root" and cells[3] == "operator.access"
    assert cells[4] == "operator view1" and cells[1] == "–"  # no VDN
    before = re.search(r'<pre class="json">(.*?)</pre>', cells[5], re.S)
    after = re.search(r'<pre class="json">(.*?)</pre>', cells[6], re.S)
    assert before and after
    assert html.unescape(before.group(1)) == '{\n  "role": "viewer",\n  "vdns": [\n    1\n  ]\n}'
    assert '"role": "supervisor"' in html.unescape(after.group(1))
    assert [name for _, (_, _, name, *_) in rows(page.text)].count("cli") == 8  # the fixture's


async def test_an_operator_sees_the_entries_of_its_vdns_only(console: Console) -> None:
    async with console.api(1) as api:
        await make_campaign(api, "Mine")
    async with console.api(2) as api:
        await make_campaign(api, "Theirs")
    browser = await console.login("sup1")
    page = await browser.get("/console/audit")
    assert page.status_code == 200
    listed = rows(page.text)
    assert listed and {cells[1] for _, cells in listed} == {"1"}
    actions = {cells[3] for _, cells in listed}
    assert "campaign.create" in actions and "vdn.add" in actions
    assert "operator.add" not in actions  # entries of no VDN are the admins'
    assert f"ak:{console.tenants[1].ak}" in page.text
    assert console.tenants[2].ak not in page.text
    assert (await browser.get("/console/audit?vdn=2")).status_code == 404
    assert (await browser.get("/console/audit?vdn=none")).status_code == 404
    assert 'value="none"' not in page.text and 'value="2"' not in page.text
    viewer = await console.login("view1")
    assert {c[1] for _, c in rows((await viewer.get("/console/audit")).text)} == {"1"}
    admin = await console.login("root")
    everything = rows((await admin.get("/console/audit")).text)
    assert {cells[1] for _, cells in everything} == {"1", "2", "–"}


async def test_several_vdns_are_merged_newest_first(console: Console) -> None:
    await operators.add(
        console.ctx.engine,
        CLI,
        name="view12",
        role=Role.VIEWER,
        vdns=[1, 2],
        password=PASSWORD,
        now=console.clock.now(),
    )
    await add_holidays(console, 1, 2, days=-3)
    await add_holidays(console, 2, 2, days=-2)
    await add_holidays(console, 1, 1, days=-1)
    browser = await console.login("view12")
    listed = rows((await browser.get("/console/audit?actor=operator:robot")).text)
    assert [c[1] for _, c in listed] == ["1", "2", "2", "1", "1"]
    times = [c[0] for _, c in listed]
    assert times == sorted(times, reverse=True)
    of_two = rows((await browser.get("/console/audit?vdn=2")).text)
    assert [c[3] for _, c in of_two] == ["key.create", "vdn.add", "holiday.add", "holiday.add"]


async def test_filters_narrow_the_list(console: Console) -> None:
    await add_holidays(console, 1, 1, days=-2)
    await add_holidays(console, 2, 1)
    browser = await console.login("root")
    by_vdn = rows((await browser.get("/console/audit?vdn=2")).text)
    assert {c[1] for _, c in by_vdn} == {"2"} and len(by_vdn) == 3  # vdn, key, holiday
    of_none = rows((await browser.get("/console/audit?vdn=none")).text)
    assert {c[3] for _, c in of_none} == {"operator.add"}
    by_actor = rows((await browser.get("/console/audit?actor=operator:robot")).text)
    assert [c[1] for _, c in by_actor] == ["2", "1"]
    assert rows((await browser.get("/console/audit?actor=operator")).text) == []  # exact
    by_action = rows((await browser.get("/console/audit?action=key.create&vdn=1")).text)
    assert [(c[1], c[3]) for _, c in by_action] == [("1", "key.create")]
    today = console.clock.now().date()
    recent = await browser.get(
        f"/console/audit?from={today - timedelta(days=1)}&actor=operator:robot"
    )
    assert [c[1] for _, c in rows(recent.text)] == ["2"]
    older = await browser.get(f"/console/audit?to={today - timedelta(days=1)}")
    assert [c[1] for _, c in rows(older.text)] == ["1"]
    zoned = await browser.get(
        f"/console/audit?vdn=1&from={today - timedelta(days=3)}&to={today - timedelta(days=1)}"
    )
    assert "Asia/Shanghai (VDN 1&#39;s time zone)" in zoned.text
    assert len(rows(zoned.text)) == 1
    bad = await browser.get("/console/audit?from=2030-13-01")
    assert bad.status_code == 400 and "from: must be a date" in bad.text
    form = (await browser.get("/console/audit?actor=operator:robot&action=holiday.add")).text
    assert 'value="operator:robot"' in form and 'value="holiday.add"' in form
    assert '<option value="campaign.pause">' in form


async def test_the_log_is_paged_by_the_last_id(console: Console) -> None:
    await add_holidays(console, 1, 120)
    browser = await console.login("root")
    seen: list[int] = []
    path: str | None = "/console/audit?vdn=1"
    pages = 0
    while path is not None:
        page = await browser.get(path)
        listed = [i for i, _ in rows(page.text)]
        assert len(listed) <= audit_page.PAGE_SIZE
        seen += listed
        path = older_link(page.text)
        pages += 1
        if path:
            assert f"before={listed[-1]}" in path and "vdn=1" in path
    assert pages == 3 and len(seen) == 122 and len(set(seen)) == 122  # 120 + vdn.add + key.create
    assert seen == sorted(seen, reverse=True)  # one clock time: newest by id
    last = await browser.get(f"/console/audit?vdn=1&before={seen[-1]}")
    assert rows(last.text) == [] and "Newest" in last.text


async def test_a_rare_actor_is_looked_for_a_window_at_a_time(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_page, "SCAN", 10)
    await add_holidays(console, 1, 1, days=-1)  # the one wanted, older than 25 others
    await operators.add(
        console.ctx.engine,
        CLI,
        name="noise",
        role=Role.VIEWER,
        vdns=[1],
        password=PASSWORD,
        now=console.clock.now(),
    )
    for i in range(25):
        await operators.set_disabled(
            console.ctx.engine, CLI, name="noise", disabled=i % 2 == 0, now=console.clock.now()
        )
    browser = await console.login("root")
    page = await browser.get("/console/audit?actor=operator:robot")
    looked = 0
    while not rows(page.text):
        assert "Look further back" in page.text and "looked back to" in page.text
        link = older_link(page.text)
        assert link is not None
        page = await browser.get(link)
        looked += 1
    assert looked >= 2
    assert [c[2] for _, c in rows(page.text)] == ["operator:robot"]
    assert older_link(page.text) is None  # the last window was not full: nothing older
