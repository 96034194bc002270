"""The results export: the campaign's attempts of the range as CSV, none of another VDN,
formulas quoted, the range bounded with the call-result query's codes."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from openisales.console.export import COLUMNS, csv_safe
from tests.console.conftest import Console
from tests.dialing.conftest import make_dispatcher
from tests.helpers import add_numbers, define, make_campaign

TZ = ZoneInfo("Asia/Shanghai")


async def _dialled_campaign(console: Console, vdn_id: int, *numbers: str, session: str) -> int:
    async with console.api(vdn_id) as client:
        await define(client, "SALE")
        cid = await make_campaign(client, f"Export {vdn_id}")
        await add_numbers(client, cid, *numbers, session=session)
        reply = await client.set_dialing(
            cid, {"gateway": "simulator", "gatewayConfig": {"mix": {"00603": 1}}}
        )
        assert reply["resultCode"] == "0200000", reply
    dispatcher, _ = make_dispatcher(SimpleNamespace(ctx=console.ctx), console.clock)  # type: ignore[arg-type]
    assert await dispatcher.tick() == len(numbers)
    return cid


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_csv_holds_the_range_s_attempts_of_this_vdn_only(console: Console) -> None:
    cid = await _dialled_campaign(console, 1, "13800000001", "13800000002", session="=SUM(A1)")
    other = await _dialled_campaign(console, 2, "13700000001", session="theirs")
    assert cid == other  # campaign ids are per VDN: the VDN must keep them apart
    today = console.clock.now().astimezone(TZ).date()
    browser = await console.login("view1")
    form = await browser.get("/console/vdn/1/export")
    assert form.status_code == 200 and "Export 1" in form.text
    reply = await browser.get(f"/console/vdn/1/export.csv?campaign={cid}&from={today}&to={today}")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/csv")
    assert "attachment" in reply.headers["content-disposition"]
    assert reply.text.splitlines()[0] == ",".join(COLUMNS)
    rows = _rows(reply.text)
    assert sorted(r["called"] for r in rows) == ["13800000001", "13800000002"]
    assert {r["vdnId"] for r in rows} == {"1"} and {r["failCode"] for r in rows} == {"00603"}
    assert {r["sessionId"] for r in rows} == {"'=SUM(A1)"}  # no formula for a spreadsheet
    assert {r["attemptNo"] for r in rows} == {"1"} and {r["callStatus"] for r in rows} == {"5"}
    yesterday = today - timedelta(days=1)
    earlier = await browser.get(
        f"/console/vdn/1/export.csv?campaign={cid}&from={yesterday}&to={yesterday}"
    )
    assert earlier.status_code == 200 and _rows(earlier.text) == []


async def test_a_bad_range_or_campaign_is_refused_with_its_code(console: Console) -> None:
    async with console.api(1) as client:
        cid = await make_campaign(client, "Ranged")
    browser = await console.login("sup1")
    base = f"/console/vdn/1/export.csv?campaign={cid}"
    too_long = await browser.get(f"{base}&from=2030-01-01&to=2030-03-01")
    assert too_long.status_code == 400 and '<span class="code">0200011</span>' in too_long.text
    backwards = await browser.get(f"{base}&from=2030-01-02&to=2030-01-01")
    assert '<span class="code">0200010</span>' in backwards.text
    assert '<span class="code">0200009</span>' in (await browser.get(f"{base}&from=x&to=")).text
    missing = await browser.get(
        "/console/vdn/1/export.csv?campaign=99&from=2030-01-01&to=2030-01-01"
    )
    assert missing.status_code == 400 and '<span class="code">0200007</span>' in missing.text
    other = await console.login("sup2")
    assert (await other.get(f"{base}&from=2030-01-01&to=2030-01-01")).status_code == 404


def test_cells_that_start_a_formula_are_quoted() -> None:
    assert [csv_safe(v) for v in ("=1+1", "+1", "-1", "@A", "\tx", "ok", 5, None)] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@A",
        "'\tx",
        "ok",
        5,
        "",
    ]
