"""The campaign page, pause / resume, and the new / edit campaign form."""

from __future__ import annotations

import html
import itertools
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from openisales.client import AsyncClient, C2Auth
from openisales.dialing.dispatcher import Dispatcher
from openisales.services import audit
from openisales.store.audit import Filter
from tests.console.conftest import Browser, Console
from tests.dialing.conftest import make_dispatcher
from tests.helpers import add_numbers, campaign_body, define, make_campaign

SHANGHAI = ZoneInfo("Asia/Shanghai")
RETRY_POLICY = {
    "policyType": 0,
    "policyJson": "[{'type':1,'policy':[{'result':1,'retryNumber':2,'callInterval':300}]}]",
    "busiPolicy": [{"busiResultCode": "X", "busiResultPolicy": 2, "callInterval": 60}],
}
_MS = itertools.count(1)  # signing times apart, so that no two requests sign alike


def at_noon(console: Console) -> Console:
    """The console's clock at noon in the VDNs' zone today, inside every calling slot."""
    console.clock.set(datetime.now(UTC).replace(hour=4, minute=0, second=0, microsecond=0))
    return console


@pytest.fixture
def noon(console: Console) -> Console:
    return at_noon(console)


def api(console: Console, vdn_id: int = 1) -> AsyncClient:
    """The signed API client, signing on the console's clock."""
    client = console.api(vdn_id)
    tenant = console.tenants[vdn_id]
    client.http.auth = C2Auth(
        tenant.ak, tenant.sk, now=lambda: console.clock.now() + timedelta(milliseconds=next(_MS))
    )
    return client


def dispatcher(console: Console) -> Dispatcher:
    made, _ = make_dispatcher(SimpleNamespace(ctx=console.ctx), console.clock)  # type: ignore[arg-type]
    return made


def form_of(**overrides: str | list[str]) -> dict[str, Any]:
    """The new-campaign form as a supervisor fills it in."""
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    data: dict[str, Any] = {
        "name": "Form made",
        "description": "Renewals due in April",
        "begin": f"{today}T00:00",
        "end": f"{today[:4]}-12-31T23:59:59",
        "device_type": "2",
        "max_alerting": "25",
        "priority": "4",
        "init_status": "0",
        "callback_url": "https://crm.example.com/isales/results",
        "caller0_code": "88889527",
        "caller0_priority": "3",
        "caller1_code": "88880066",
        "caller1_priority": "",
        "caller2_code": "",
        "workdayBeginTime1": "09:00",
        "workdayEndTime1": "12:00",
        "workdayBeginTime2": "14:00",
        "workdayEndTime2": "18:00",
        "holidayBeginTime1": "10:00",
        "holidayEndTime1": "16:00",
        "skill_skillId": "2",
        "skill_skillName": "defaultAudioSkill",
        "skill_outBoundType": "2",
        "skill_extra": '{"predictParam": {"predictMethod": 1}}',
        "policy_type": "0",
        "entry0_kind": "result",
        "entry0_r1_number": "2",
        "entry0_r1_interval": "300",
        "entry0_r2_number": "1",
        "entry0_r2_interval": "600",
        "entry1_kind": "",
        "busi.X": "2",
        "wait.X": "60",
        "busi.X.X1": "0",
        "wait.X.X1": "",
        "busi.Y": "",
        "wait.Y": "",
    }
    data.update(overrides)
    return data


async def details(console: Console, campaign_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    async with api(console) as client:
        found = await client.campaign_detail(campaign_id)
        policy = await client.query_retry_policy(campaign_id)
    assert found["resultCode"] == "0200000", found
    return found["returnObject"], policy["data"]


async def count_campaigns(console: Console) -> int:
    async with api(console) as client:
        return int((await client.list_campaigns())["totalSize"])


def error_code(page: str) -> str:
    found = re.search(r'<p class="error" role="alert"[^>]*><span class="code">(\d+)</span>', page)
    assert found, page
    return found.group(1)


def audited(entries: list[Any], action: str) -> list[Any]:
    return [e for e in entries if e.action == action]


async def test_a_campaign_made_with_the_form_is_the_one_the_api_makes(noon: Console) -> None:
    console = noon
    async with api(console) as client:
        await define(client, "X", "X1")
        await define(client, "Y")
        same = campaign_body(
            "API made",
            description="Renewals due in April",
            strEndTime=f"{datetime.now(UTC).year}-12-31 23:59:59",
            callerNo=[{"accessCode": "88889527", "priority": 3}, {"accessCode": "88880066"}],
            maxAlertingTime=25,
            priority=4,
            initStatus=0,
            callBackUrl="https://crm.example.com/isales/results",
            scheduleParam={
                "workdayBeginTime1": "09:00",
                "workdayEndTime1": "12:00",
                "workdayBeginTime2": "14:00",
                "workdayEndTime2": "18:00",
                "holidayBeginTime1": "10:00",
                "holidayEndTime1": "16:00",
            },
            skillParam={
                "predictParam": {"predictMethod": 1},
                "skillId": 2,
                "skillName": "defaultAudioSkill",
                "outBoundType": 2,
            },
            retryPolicy={
                "policyType": 0,
                "policyJson": '[{"type":1,"policy":[{"result":1,"retryNumber":2,'
                '"callInterval":300},{"result":2,"retryNumber":1,"callInterval":600}]}]',
                "busiPolicy": [
                    {"busiResultCode": "X", "busiResultPolicy": 2, "callInterval": 60},
                    {"busiResultCode": "X", "busiResultSubCode": "X1", "busiResultPolicy": 0},
                ],
            },
        )
        by_api = await make_campaign(client, **same)
    browser = await console.login("sup1")
    form = await browser.get("/console/vdn/1/campaigns/new")
    assert form.status_code == 200 and 'name="busi.X.X1"' in form.text
    reply = await browser.post("/console/vdn/1/campaigns/new", form_of())
    assert reply.status_code == 303, reply.text
    location = reply.headers["location"]
    made = int(re.fullmatch(r"/console/vdn/1/campaigns/(\d+)\?done=created", location).group(1))  # type: ignore[union-attr]
    page = await browser.get(location)
    assert page.status_code == 200 and "Campaign created." in page.text

    ours, our_policy = await details(console, made)
    theirs, their_policy = await details(console, by_api)
    assert ours.pop("name") == "Form made" and theirs.pop("name") == "API made"
    assert ours.pop("campaignId") == made and theirs.pop("campaignId") == by_api
    assert ours == theirs
    assert {k: v for k, v in our_policy.items() if k != "retryPolicyId"} == {
        k: v for k, v in their_policy.items() if k != "retryPolicyId"
    }
    entries = await audit.search(console.ctx.engine, Filter(vdns=[1], action="campaign.create"))
    assert [(e.actor, e.target) for e in entries if e.target == f"campaign {made}"] == [
        ("operator:sup1", f"campaign {made}")
    ]

    # the edit form shows the API's campaign as it is: saved unchanged, nothing changes
    before = await details(console, by_api)
    form = await browser.get(f"/console/vdn/1/campaigns/{by_api}/edit")
    unchanged = await browser.post(f"/console/vdn/1/campaigns/{by_api}/edit", fields_of(form.text))
    assert unchanged.status_code == 303, unchanged.text
    assert await details(console, by_api) == before


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"begin": "2020-01-01T00:00"}, "0200002"),  # before today
        ({"name": "Taken"}, "0200005"),
        ({"begin": "yesterday"}, "02000002"),
        ({"max_alerting": "4"}, "02000007"),
        ({"skill_extra": "{not json"}, "02000008"),
        ({"busi.Z": "1", "wait.Z": "60"}, "0200001"),  # not a business result of the VDN
        ({"workdayEndTime2": ""}, "02000009"),
    ],
)
async def test_a_refused_form_shows_the_code_keeps_the_input_and_creates_nothing(
    noon: Console, change: dict[str, str], code: str
) -> None:
    console = noon
    async with api(console) as client:
        await define(client, "X", "X1")
        await define(client, "Y")
        await make_campaign(client, "Taken")
    browser = await console.login("sup1")
    await browser.get("/console/vdn/1/campaigns/new")
    reply = await browser.post(
        "/console/vdn/1/campaigns/new", form_of(description="kept as typed", **change)
    )
    assert reply.status_code == 400
    assert error_code(reply.text) == code
    assert 'value="kept as typed"' in reply.text
    assert await count_campaigns(console) == 1


async def test_edit_changes_the_campaign_and_keeps_its_status(noon: Console) -> None:
    console = noon
    async with api(console) as client:
        await define(client, "X")
        cid = await make_campaign(client, "Before", retryPolicy=RETRY_POLICY, initStatus=3)
    browser = await console.login("sup1")
    form = await browser.get(f"/console/vdn/1/campaigns/{cid}/edit")
    assert form.status_code == 200
    assert 'value="Before"' in form.text
    assert re.search(r'name="busi\.X"[^>]*>.*?<option value="2" selected>', form.text, re.S)
    reply = await browser.post(
        f"/console/vdn/1/campaigns/{cid}/edit",
        {**fields_of(form.text), "name": "After", "max_alerting": "30", "busi.X": "0"},
    )
    assert reply.status_code == 303, reply.text
    found, policy = await details(console, cid)
    assert (found["name"], found["maxAlertingTime"], found["status"]) == ("After", 30, 3)
    assert policy["busiPolicy"] == '[{"busiResultCode":"X","busiResultPolicy":0}]'
    assert policy["policyJson"] == (
        '[{"type":1,"policy":[{"result":1,"retryNumber":2,"callInterval":300}]}]'
    )
    entries = await audit.search(console.ctx.engine, Filter(vdns=[1], action="campaign.modify"))
    assert [e.actor for e in entries] == ["operator:sup1"]
    refused = await browser.post(
        f"/console/vdn/1/campaigns/{cid}/edit",
        {**fields_of(form.text), "name": "Refused", "device_type": "3", "ivr_param": "{}"},
    )
    assert refused.status_code == 400 and error_code(refused.text) == "02000007"
    assert (await details(console, cid))[0]["name"] == "After"


async def test_a_v1_campaign_keeps_the_v1_shape_when_edited(noon: Console) -> None:
    console = noon
    async with api(console) as client:
        body = campaign_body("Old style", callerNo="88889527")
        del body["retryPolicy"]
        reply = await client.create_campaign(body, version=1)
        cid = int(reply["returnObject"]["id"])
    browser = await console.login("sup1")
    form = await browser.get(f"/console/vdn/1/campaigns/{cid}/edit")
    fields = {
        **fields_of(form.text),
        "caller0_code": "88880001",
        "entry0_kind": "common",
        "entry0_days": "2",
        "entry0_times": "3",
    }
    assert (await browser.post(f"/console/vdn/1/campaigns/{cid}/edit", fields)).status_code == 303
    found, policy = await details(console, cid)
    assert found["callerNo"] == "88880001"  # a string, as v1 shows it
    assert policy["policyJson"] == '[{"type":0,"policy":{"retryDay":2,"retryTimes":3}}]'


def fields_of(page: str) -> dict[str, Any]:
    """What a browser submits from the form on ``page`` (inputs, selected options, checks)."""
    form = re.search(
        r'<form method="post" action="[^"]*" class="campaign-form".*?</form>', page, re.S
    )
    assert form, page
    out: dict[str, Any] = {}
    for tag in re.finditer(r"<input ([^>]*)>", form.group(0)):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(1)))
        if "name" not in attrs or attrs["name"] == "csrf":
            continue
        if attrs.get("type") == "checkbox":
            if "checked" in tag.group(1):
                out.setdefault(attrs["name"], []).append(html.unescape(attrs["value"]))
            continue
        out[attrs["name"]] = html.unescape(attrs.get("value", ""))
    for select in re.finditer(
        r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', form.group(0), re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected', select.group(2))
        first = re.search(r'<option value="([^"]*)"', select.group(2))
        out[select.group(1)] = html.unescape((chosen or first).group(1))  # type: ignore[union-attr]
    for area in re.finditer(
        r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form.group(0), re.S
    ):
        out[area.group(1)] = html.unescape(area.group(2))
    return out


async def test_pause_and_resume_from_the_page_and_a_viewers_forged_post_is_refused(
    console: Console,
) -> None:
    async with console.api(1) as client:
        cid = await make_campaign(client)
    sup = await console.login("sup1")
    page = await sup.get(f"/console/vdn/1/campaigns/{cid}")
    assert f'action="/console/vdn/1/campaigns/{cid}/pause"' in page.text
    reply = await sup.post(f"/console/vdn/1/campaigns/{cid}/pause")
    assert reply.status_code == 303
    assert (await details(console, cid))[0]["status"] == 3
    again = await sup.post(f"/console/vdn/1/campaigns/{cid}/pause")
    assert again.status_code == 400 and error_code(again.text) == "0200011"

    viewer = await console.login("view1")
    seen = await viewer.get(f"/console/vdn/1/campaigns/{cid}")
    assert seen.status_code == 200 and "/resume" not in seen.text and "/edit" not in seen.text
    assert viewer.csrf
    forged = await viewer.post(f"/console/vdn/1/campaigns/{cid}/resume")
    assert forged.status_code == 403
    assert (await details(console, cid))[0]["status"] == 3

    assert (await sup.post(f"/console/vdn/1/campaigns/{cid}/resume")).status_code == 303
    assert (await details(console, cid))[0]["status"] == 2
    entries = await audit.search(console.ctx.engine, Filter(vdns=[1]))
    assert [e.actor for e in audited(entries, "campaign.pause")] == ["operator:sup1"]
    assert [e.actor for e in audited(entries, "campaign.resume")] == ["operator:sup1"]


async def test_roles_and_vdns_are_enforced_on_every_campaign_route(console: Console) -> None:
    async with console.api(1) as client:
        cid = await make_campaign(client)
    viewer = await console.login("view1")
    for path in ("/campaigns/new", f"/campaigns/{cid}/edit"):
        assert (await viewer.get(f"/console/vdn/1{path}")).status_code == 403
    for path in ("/campaigns/new", f"/campaigns/{cid}/edit", f"/campaigns/{cid}/pause"):
        assert (await viewer.post(f"/console/vdn/1{path}", form_of())).status_code == 403
    assert await count_campaigns(console) == 1
    other = await console.login("sup2")
    for path in (f"/campaigns/{cid}", f"/campaigns/{cid}/live", f"/campaigns/{cid}/edit"):
        assert (await other.get(f"/console/vdn/1{path}")).status_code == 404
    assert (await other.post(f"/console/vdn/1/campaigns/{cid}/pause")).status_code == 404
    assert (await other.get(f"/console/vdn/2/campaigns/{cid}")).status_code == 404
    sup = await console.login("sup1")
    for path in ("/campaigns/999", "/campaigns/99999999999999999999", "/campaigns/x/edit"):
        assert (await sup.get(f"/console/vdn/1{path}")).status_code == 404
    assert (await details(console, cid))[0]["status"] == 2


async def reserved_retry(console: Console) -> tuple[int, str, Browser]:
    """A campaign whose one record was answered and written back with a reserved retry."""
    async with api(console) as client:
        await define(client, "X")
        cid = await make_campaign(client, "Dialer", retryPolicy=RETRY_POLICY)
        (data_id,) = await add_numbers(client, cid, "5001")
        reply = await client.set_dialing(
            cid, {"gateway": "simulator", "gatewayConfig": {"mix": {"00000": 1}, "agents": []}}
        )
        assert reply["resultCode"] == "0200000", reply
        assert await dispatcher(console).tick() == 1
        reply = await client.write_back(data_id, {"busiResult": "X", "workNo": "2033"})
        assert reply["resultCode"] == "0200000", reply
    return cid, data_id, await console.login("view1")


async def test_the_page_shows_policy_in_words_charts_and_the_reserved_retry(noon: Console) -> None:
    console = noon
    cid, data_id, browser = await reserved_retry(console)
    page = await browser.get(f"/console/vdn/1/campaigns/{cid}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "X → same number after 1 min, reserved for the agent who wrote it back, " in text
    assert "open to any agent 5 min after it is due" in text
    assert "busy (00145, 00537) → same number after 5 min, up to 2 times per number" in text
    row = re.search(rf'<tr data-record="{data_id}">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    due = console.clock.now() + timedelta(seconds=60)
    assert "5001" in cells[1]
    assert cells[2] == due.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    assert cells[3] == "2033"
    assert cells[4] == (due + timedelta(seconds=300)).astimezone(SHANGHAI).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    svgs = re.findall(r"<svg .*?</svg>", page.text, re.S)
    assert len(svgs) >= 5  # records by status, attempts per hour, three outcome charts
    assert any("Attempts per hour" in s and "1" in s for s in svgs)
    assert any("by failure code" in s and "00000 Success: 1" in s for s in svgs)
    assert any("by business result" in s and "X: 1" in s for s in svgs)
    assert "data-refresh" in page.text  # running: the figures refresh themselves
    live = await browser.get(f"/console/vdn/1/campaigns/{cid}/live")
    assert live.status_code == 200 and "<html" not in live.text
    assert re.search(r'data-figure="queue">1<', live.text)
    for period in ("1h", "7d", "nonsense"):
        other = await browser.get(f"/console/vdn/1/campaigns/{cid}?period={period}")
        assert other.status_code == 200 and "<svg" in other.text


async def test_display_results_group_the_failure_codes(noon: Console) -> None:
    console = noon
    async with api(console) as client:
        reply = await client.create_obs_result(
            {"resultCode": "OB1", "displayResult": "Reached", "obsCodes": ["00000"]}
        )
        assert reply["resultCode"] == "0200000", reply
    cid, _, browser = await reserved_retry(console)
    page = await browser.get(f"/console/vdn/1/campaigns/{cid}")
    assert "OB1 Reached: 1" in page.text


# ---- Dialling ---------------------------------------------------------------


async def dialing_of(console: Console, campaign_id: int) -> dict[str, Any]:
    async with api(console) as client:
        reply = await client.get_dialing(campaign_id)
    assert reply["resultCode"] == "0200000", reply
    found: dict[str, Any] = reply["data"]
    return found


async def test_the_dialling_form_chooses_the_simulator_as_the_api_does(console: Console) -> None:
    async with api(console) as client:
        cid = await make_campaign(client, "Dial me", initStatus=3)
        # set through the API: a seed the form does not show, kept while the gateway stays
        reply = await client.set_dialing(
            cid, {"gateway": "simulator", "gatewayConfig": {"seed": 7}, "maxConcurrency": 3}
        )
        assert reply["resultCode"] == "0200000", reply
    browser = await console.login("sup1")
    page = await browser.get(f"/console/vdn/1/campaigns/{cid}")
    assert page.status_code == 200
    assert 'aria-label="Dialling settings"' in page.text
    assert re.search(r'data-dialing="gateway">simulator<', page.text)
    assert re.search(r'data-dialing="concurrency">3 calls at once<', page.text)

    reply = await browser.post(
        f"/console/vdn/1/campaigns/{cid}/dialing",
        {
            "gateway": "simulator",
            "agents": "2033, 2034,,",
            "mix": "powered-off",
            "ring_s": "1.5",
            "max_concurrency": "2",
        },
    )
    assert reply.status_code == 303, reply.text
    assert await dialing_of(console, cid) == {
        "gateway": "simulator",
        "gatewayConfig": {
            "seed": 7,
            "agents": ["2033", "2034"],
            "mix": {"00548": 1},
            "ring_s": 1.5,
        },
        "maxConcurrency": 2,
    }
    page = await browser.get(f"/console/vdn/1/campaigns/{cid}?done=dialing")
    assert "Dialling settings saved." in page.text
    assert re.search(r'data-dialing="agents">2033, 2034<', page.text)
    assert "every phone powered off (00548)" in page.text
    assert re.search(r'<option value="powered-off" selected>', page.text)

    # back to the server default: the simulator's settings go with it
    reply = await browser.post(
        f"/console/vdn/1/campaigns/{cid}/dialing", {"gateway": "", "max_concurrency": ""}
    )
    assert reply.status_code == 303, reply.text
    assert await dialing_of(console, cid) == {
        "gateway": "",
        "gatewayConfig": {},
        "maxConcurrency": None,
    }
    entries = await audit.search(console.ctx.engine, Filter(vdns=[1], action="campaign.dialing"))
    assert [e.actor for e in entries] == [
        "operator:sup1",
        "operator:sup1",
        f"ak:{console.tenants[1].ak}",
    ]


@pytest.mark.parametrize(
    ("fields", "refused"),
    [
        ({"gateway": "simulator", "max_concurrency": "0"}, "02000007 maxConcurrency"),
        ({"gateway": "simulator", "max_concurrency": "many"}, "02000006 maxConcurrency"),
        ({"gateway": "carrier-pigeon"}, "02000007 gateway"),
        ({"gateway": "webhook", "webhook_url": "ftp://x.example"}, "02000007 gatewayConfig.url"),
        ({"gateway": "simulator", "ring_s": "-1"}, "02000007 gatewayConfig.ring_s"),
        ({"gateway": "simulator", "mix": "sometimes"}, "02000007 gatewayConfig.mix"),
    ],
)
async def test_a_refused_dialling_form_shows_the_code_and_changes_nothing(
    console: Console, fields: dict[str, str], refused: str
) -> None:
    code, field = refused.split()
    async with api(console) as client:
        cid = await make_campaign(client, "Dial refused", initStatus=3)
    browser = await console.login("sup1")
    reply = await browser.post(f"/console/vdn/1/campaigns/{cid}/dialing", fields)
    assert reply.status_code == 400
    assert error_code(reply.text) == code
    assert field in reply.text.split('id="dialing-error"')[1].split("</p>")[0]
    for key, value in fields.items():  # the form keeps what was typed (in its text inputs)
        if key not in ("gateway", "mix"):
            assert f'value="{html.escape(value)}"' in reply.text
    assert await dialing_of(console, cid) == {
        "gateway": "",
        "gatewayConfig": {},
        "maxConcurrency": None,
    }
    assert not await audit.search(console.ctx.engine, Filter(vdns=[1], action="campaign.dialing"))


async def test_only_operators_of_the_vdn_set_the_dialling(console: Console) -> None:
    async with api(console) as client:
        cid = await make_campaign(client, "Dial guarded", initStatus=3)
    viewer = await console.login("view1")
    page = await viewer.get(f"/console/vdn/1/campaigns/{cid}")
    assert page.status_code == 200
    assert re.search(r'data-dialing="gateway">server default', page.text)
    assert 'aria-label="Dialling settings"' not in page.text  # no form for a viewer
    forged = await viewer.post(f"/console/vdn/1/campaigns/{cid}/dialing", {"gateway": "simulator"})
    assert forged.status_code == 403
    other = await console.login("sup2")
    foreign = await other.post(f"/console/vdn/1/campaigns/{cid}/dialing", {"gateway": "simulator"})
    assert foreign.status_code == 404
    sup = await console.login("sup1")
    missing = await sup.post("/console/vdn/1/campaigns/999999/dialing", {"gateway": "simulator"})
    assert missing.status_code == 404
    assert (await dialing_of(console, cid))["gateway"] == ""
