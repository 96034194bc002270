"""The failed pushes page and resending, on a campaign whose receiver refused every push."""

from __future__ import annotations

import re

import httpx
import pytest

from openisales.dialing.push_settings import PushSettings
from openisales.dialing.pusher import Pusher
from openisales.services import audit, pushes
from openisales.store.audit import Filter
from tests.console.conftest import Console
from tests.console.test_campaigns import api, at_noon, dispatcher
from tests.helpers import add_numbers, make_campaign

CRM = "https://crm.example/isales/push"


@pytest.fixture
def noon(console: Console) -> Console:
    return at_noon(console)


async def failed_pushes(console: Console, count: int = 2) -> tuple[int, list[str]]:
    """A campaign with ``count`` completed records whose one push each failed; their pushIds."""
    async with api(console) as client:
        cid = await make_campaign(client, "Pushed", callBackUrl=CRM)
        ids = await add_numbers(client, cid, *[str(5001 + i) for i in range(count)])
        reply = await client.set_dialing(
            cid, {"gateway": "simulator", "gatewayConfig": {"mix": {"00603": 1}}}
        )
        assert reply["resultCode"] == "0200000", reply
    assert await dispatcher(console).tick() == count  # no answer, no retry: each completes
    refusing = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(503)))
    pusher = Pusher(
        console.ctx.engine, refusing, console.clock, PushSettings(housekeeping_s=0, max_pushes=1)
    )
    assert await pusher.tick() == count
    failed = await pushes.list_pushes(console.ctx.engine, status="failed", vdn_id=1)
    assert len(failed) == count
    return cid, [f"{i}.1" for i in ids]


def listed(page: str) -> list[str]:
    return re.findall(r'<tr data-push="([^"]+)">', page)


async def test_failed_pushes_are_listed_and_one_is_resent(noon: Console) -> None:
    console = noon
    cid, ids = await failed_pushes(console)
    viewer = await console.login("view1")
    page = await viewer.get("/console/vdn/1/pushes")
    assert page.status_code == 200
    assert sorted(listed(page.text)) == sorted(ids)
    assert "HTTP 503" in page.text and "/pushes/resend" not in page.text  # a viewer reads only
    assert viewer.csrf
    data_id, seq = ids[0].split(".")
    forged = await viewer.post("/console/vdn/1/pushes/resend", {"data_id": data_id, "seq": seq})
    assert forged.status_code == 403
    assert await pushes.list_pushes(console.ctx.engine, status="pending") == []

    sup = await console.login("sup1")
    of_campaign = await sup.get(f"/console/vdn/1/pushes?campaign={cid}")
    assert sorted(listed(of_campaign.text)) == sorted(ids)
    assert f"Resend all failed pushes of campaign #{cid}" in of_campaign.text
    assert listed((await sup.get(f"/console/vdn/1/pushes?campaign={cid + 1}")).text) == []
    reply = await sup.post(
        "/console/vdn/1/pushes/resend",
        {"data_id": data_id, "seq": seq, "back": f"/console/vdn/1/pushes?campaign={cid}"},
    )
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/console/vdn/1/pushes?campaign={cid}&done=resent&what=1"
    pending = await pushes.list_pushes(console.ctx.engine, status="pending")
    assert [(p.push_id, p.attempts, p.last_error) for p in pending] == [(ids[0], 0, None)]
    after = await sup.get(reply.headers["location"])
    assert listed(after.text) == [ids[1]] and "1 push(es) queued again." in after.text
    entries = await audit.search(console.ctx.engine, Filter(vdns=[1], action="push.resend"))
    assert [(e.actor, e.target) for e in entries] == [("operator:sup1", f"push {ids[0]}")]


async def test_resend_all_of_a_campaign_from_its_page(noon: Console) -> None:
    console = noon
    cid, ids = await failed_pushes(console)
    sup = await console.login("sup1")
    page = await sup.get(f"/console/vdn/1/campaigns/{cid}")
    assert sorted(listed(page.text)) == sorted(ids)
    reply = await sup.post(
        "/console/vdn/1/pushes/resend",
        {"all": "campaign", "campaign": str(cid), "back": f"/console/vdn/1/campaigns/{cid}"},
    )
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/console/vdn/1/campaigns/{cid}?done=resent&what=2"
    pending = await pushes.list_pushes(console.ctx.engine, status="pending")
    assert sorted(p.push_id for p in pending) == sorted(ids)
    assert listed((await sup.get(reply.headers["location"])).text) == []
    entries = await audit.search(console.ctx.engine, Filter(vdns=[1], action="push.resend"))
    assert [(e.actor, e.target) for e in entries] == [
        ("operator:sup1", f"failed pushes of campaign {cid}")
    ]


async def test_a_resend_of_another_vdns_push_or_an_unknown_one_changes_nothing(
    noon: Console,
) -> None:
    console = noon
    _, ids = await failed_pushes(console, count=1)
    data_id, seq = ids[0].split(".")
    other = await console.login("sup2")
    await other.get("/console/vdn/2/pushes")
    assert (
        await other.post("/console/vdn/1/pushes/resend", {"data_id": data_id, "seq": seq})
    ).status_code == 404
    refused = await other.post("/console/vdn/2/pushes/resend", {"data_id": data_id, "seq": seq})
    assert refused.status_code == 400 and "no failed or delivered push" in refused.text
    sup = await console.login("sup1")
    outside = await sup.post(
        "/console/vdn/1/pushes/resend",
        {"data_id": data_id, "seq": "7", "back": "https://evil.example/"},
    )
    assert outside.status_code == 400
    assert await pushes.list_pushes(console.ctx.engine, status="pending") == []
    reply = await sup.post(
        "/console/vdn/1/pushes/resend",
        {"data_id": data_id, "seq": seq, "back": "https://evil.example/"},
    )
    assert reply.headers["location"] == "/console/vdn/1/pushes?done=resent&what=1"


async def test_pages_of_failed_pushes_follow_each_other(noon: Console) -> None:
    console = noon
    from openisales.console import pushes as page_module

    page_module.PAGE_ROWS, saved = 2, page_module.PAGE_ROWS
    try:
        _, ids = await failed_pushes(console, count=5)
        viewer = await console.login("view1")
        seen: list[str] = []
        path = "/console/vdn/1/pushes"
        for _ in range(5):
            page = await viewer.get(path)
            seen += listed(page.text)
            older = re.search(r'<a href="([^"]+)">Older</a>', page.text)
            if older is None:
                break
            path = older.group(1).replace("&amp;", "&")
        assert sorted(seen) == sorted(ids) and len(seen) == 5
        assert (await viewer.get("/console/vdn/1/pushes?after=garbage")).status_code == 200
    finally:
        page_module.PAGE_ROWS = saved
