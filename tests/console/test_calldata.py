"""Call-data search and the record page: every key finds its record, the timeline shows
attempts, write-backs and pushes, and another VDN's records stay hidden."""

from __future__ import annotations

from types import SimpleNamespace

from openisales.client import AsyncClient
from tests.console.conftest import Console
from tests.dialing.conftest import make_dispatcher
from tests.helpers import add_numbers, define, make_campaign


async def _dial(console: Console, campaign_id: int, mix: dict[str, int]) -> int:
    async with console.api(1) as client:
        reply = await client.set_dialing(
            campaign_id, {"gateway": "simulator", "gatewayConfig": {"mix": mix}}
        )
        assert reply["resultCode"] == "0200000", reply
    dispatcher, _ = make_dispatcher(SimpleNamespace(ctx=console.ctx), console.clock)  # type: ignore[arg-type]
    return await dispatcher.tick()


async def _arrange(console: Console) -> dict[str, object]:
    """Two campaigns of VDN 1: records by session, by batch, dialled and written back."""
    client: AsyncClient
    async with console.api(1) as client:
        await define(client, "SALE", "PAID")
        cid = await make_campaign(client, "Search me", callBackUrl="https://crm.example.com/cb")
        other = await make_campaign(client, "Other")
        dialled, waiting = await add_numbers(
            client, cid, "13800000001", "13800000002", session="cust-7"
        )
        reply = await client.add_call_data(
            cid,
            [{"called": [{"calledNo": "13900000003", "type": "HOME"}]}],
            version=2,
            batch_id="spring-b1",
        )
        assert reply["resultCode"] == "0200000", reply
        (batched,) = [d["dataId"] for d in reply["returnObject"]["dataIdList"]]
    return {"cid": cid, "other": other, "dialled": dialled, "waiting": waiting, "batched": batched}


async def test_every_key_finds_its_record_and_the_page_shows_its_history(console: Console) -> None:
    ids = await _arrange(console)
    assert await _dial(console, ids["cid"], {"00000": 1}) == 3  # type: ignore[arg-type]
    async with console.api(1) as client:
        reply = await client.write_back(
            ids["dialled"],
            {"busiResult": "SALE", "subStatus": "PAID", "workNo": "2033"},  # type: ignore[arg-type]
        )
        assert reply["resultCode"] == "0200000", reply
    browser = await console.login("view1")
    base = "/console/vdn/1/calldata"

    async def found(query: str) -> str:
        page = await browser.get(f"{base}?{query}")
        assert page.status_code == 200, page.text
        return page.text

    by_session = await found("by=session&q=cust-7")
    assert f'data-record="{ids["dialled"]}"' in by_session
    assert f'data-record="{ids["waiting"]}"' in by_session
    assert by_session.index(f'data-record="{ids["waiting"]}"') < by_session.index(
        f'data-record="{ids["dialled"]}"'
    )  # newest first
    by_number = await found("by=number&q=13800000001")
    assert f'data-record="{ids["dialled"]}"' in by_number
    assert f'data-record="{ids["waiting"]}"' not in by_number
    assert f'data-record="{ids["batched"]}"' in await found(f"by=data&q={ids['batched']}")
    assert f'data-record="{ids["batched"]}"' in await found("by=batch&q=spring-b1")
    assert "No record found" in await found(f"by=session&q=cust-7&campaign={ids['other']}")
    assert f'data-record="{ids["dialled"]}"' in await found(
        f"by=session&q=cust-7&campaign={ids['cid']}"
    )
    assert "No record found" in await found("by=session&q=nobody")
    refused = await browser.get(f"{base}?by=data&q=abc")
    assert refused.status_code == 400 and "a dataId is a number" in refused.text

    record = await browser.get(f"{base}/{ids['dialled']}")
    assert record.status_code == 200, record.text
    text = record.text
    assert "Record " + str(ids["dialled"]) in text
    assert "completed" in text and "a business result written back completed it" in text
    assert text.count('data-kind="attempt"') == 1
    assert "Attempt 1" in text and "answered" in text and "Success" in text
    assert text.count('data-kind="write-back"') == 1 and "SALE / PAID" in text and "2033" in text
    assert text.count('data-kind="push"') == 1 and "pending" in text
    assert text.index('data-kind="attempt"') < text.index('data-kind="write-back"')
    waiting = await browser.get(f"{base}/{ids['waiting']}")
    assert "awaiting write-back" in waiting.text and "Attempt 1" in waiting.text


async def test_an_undialled_record_has_an_empty_timeline(console: Console) -> None:
    ids = await _arrange(console)
    browser = await console.login("sup1")
    page = await browser.get(f"/console/vdn/1/calldata/{ids['batched']}")
    assert page.status_code == 200
    assert (
        "Not dialled yet." in page.text and "13900000003" in page.text and "spring-b1" in page.text
    )


async def test_another_vdn_s_records_are_not_found(console: Console) -> None:
    ids = await _arrange(console)
    async with console.api(2) as client:
        cid2 = await make_campaign(client, "Elsewhere")
        (theirs,) = await add_numbers(client, cid2, "13700000001", session="cust-7")
    sup2 = await console.login("sup2")
    assert (await sup2.get(f"/console/vdn/1/calldata/{ids['dialled']}")).status_code == 404
    assert (await sup2.get("/console/vdn/1/calldata?by=session&q=cust-7")).status_code == 404
    own = await sup2.get("/console/vdn/2/calldata?by=session&q=cust-7")
    assert (
        f'data-record="{theirs}"' in own.text and f'data-record="{ids["dialled"]}"' not in own.text
    )
    root = await console.login("root")
    assert (await root.get(f"/console/vdn/1/calldata/{theirs}")).status_code == 404
    assert (await root.get(f"/console/vdn/2/calldata/{ids['dialled']}")).status_code == 404
    assert (await root.get("/console/vdn/1/calldata/not-a-number")).status_code == 404
