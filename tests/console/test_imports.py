"""Imports from the console: the `openisales import` machinery in the background, its
progress and refused rows on a page and in a CSV, supervisors only."""

from __future__ import annotations

import csv
import dataclasses
import io
import re

import httpx
import openpyxl
import sqlalchemy as sa

from openisales.console import importer
from openisales.services import audit
from openisales.store import import_jobs
from openisales.store.audit import Filter
from openisales.store.tables import data, import_job
from tests.console.conftest import Browser, Console
from tests.helpers import make_campaign

BASE = "/console/vdn/1/imports"
CSV = (
    "called,sessionId,customField\n"
    "13800000001,c-1,batch-7\n"
    "13800000002,c-2,batch-7\n"
    "12ab,c-3,batch-7\n"
    "13800000004,this-session-id-is-far-too-long-for-the-rule,batch-7\n"
    "=HYPERLINK(1),c-5,batch-7\n"
)


async def _upload(
    browser: Browser, content: bytes, *, name: str = "customers.csv", **fields: str
) -> httpx.Response:
    await browser.get(BASE)  # the form's CSRF token
    body = {"csrf": browser.csrf, "version": "2", "mode": "all", **fields}
    return await browser.http.post(BASE, data=body, files={"file": (name, content, "text/csv")})


async def _finished(console: Console, reply: httpx.Response) -> str:
    assert reply.status_code == 303, reply.text
    location = reply.headers["location"]
    assert re.fullmatch(r"/console/vdn/1/imports/\d+", location), location
    imports: importer.Imports = console.app.state.console_imports  # type: ignore[attr-defined]
    await imports.wait()
    return location


async def _batch_total(console: Console, campaign_id: int) -> int:
    async with console.api(1) as client:
        reply = await client.statistics(campaign_id, "batch-7")
    (detail,) = reply["countDetail"]
    return sum(b["totalCount"] for b in detail["batchDetail"])


async def _campaign(console: Console) -> int:
    async with console.api(1) as client:
        return await make_campaign(client, "Imported")


async def test_bad_rows_are_shown_and_downloadable_and_the_good_ones_load(console: Console) -> None:
    cid = await _campaign(console)
    browser = await console.login("sup1")
    page = await browser.get(BASE)
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    job = await _finished(
        console, await _upload(browser, CSV.encode(), campaign=str(cid), mode="skip-bad")
    )
    shown = await browser.get(job)
    assert shown.status_code == 200, shown.text
    assert 'data-status="done"' in shown.text
    assert f"2 record(s) added to campaign {cid}" in shown.text
    assert 'data-count="loaded">2<' in shown.text and 'data-count="refused">3<' in shown.text
    assert "02000002" in shown.text and "02000003" in shown.text
    live = await browser.get(f"{job}/live")
    assert live.status_code == 200 and "<html" not in live.text and "02000003" in live.text

    rejects = await browser.get(f"{job}/rejects.csv")
    assert rejects.status_code == 200 and rejects.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(rejects.text)))
    assert rows[0] == ["line", "field", "code", "message"]
    assert [(r[0], r[2]) for r in rows[1:]] == [
        ("4", "02000002"),
        ("5", "02000003"),
        ("6", "02000002"),
    ]
    assert all(r[3] for r in rows[1:])  # every row with its reason
    assert await _batch_total(console, cid) == 2  # the good rows, through the API

    listing = await browser.get(BASE)
    assert "customers.csv" in listing.text and "operator:sup1" in listing.text
    (entry,) = await audit.search(console.ctx.engine, Filter(vdns=[1], action="calldata.import"))
    assert entry.actor == "operator:sup1"


async def test_all_or_nothing_loads_nothing_when_a_row_is_bad(console: Console) -> None:
    cid = await _campaign(console)
    browser = await console.login("sup1")
    job = await _finished(console, await _upload(browser, CSV.encode(), campaign=str(cid)))
    shown = await browser.get(job)
    assert 'data-status="failed"' in shown.text and "nothing loaded: 3 bad row(s)" in shown.text
    assert await _batch_total(console, cid) == 0
    checked = await _finished(
        console,
        await _upload(browser, b"called\n13800000001\n", campaign=str(cid), mode="check"),
    )
    assert "check passed: 1 row(s) can be loaded" in (await browser.get(checked)).text
    assert await _batch_total(console, cid) == 0


async def test_a_workbook_imports_too(console: Console) -> None:
    cid = await _campaign(console)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["called", "customField"])
    sheet.append([13800000001, "batch-7"])
    sheet.append(["SI:13800000002|HOME:13900000002", "batch-7"])
    buffer = io.BytesIO()
    book.save(buffer)
    browser = await console.login("sup1")
    job = await _finished(
        console, await _upload(browser, buffer.getvalue(), name="list.xlsx", campaign=str(cid))
    )
    assert "2 record(s) added" in (await browser.get(job)).text
    assert await _batch_total(console, cid) == 2


async def _nothing_imported(console: Console) -> None:
    async with console.ctx.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(data))).scalar() == 0
        jobs = (await conn.execute(sa.select(sa.func.count()).select_from(import_job))).scalar()
        assert jobs == 0


async def test_a_refusal_shows_its_code_keeps_the_form_and_imports_nothing(
    console: Console,
) -> None:
    await _campaign(console)
    browser = await console.login("sup1")
    missing = await _upload(browser, CSV.encode(), campaign="99", mode="check")
    assert missing.status_code == 400
    assert '<span class="code">0200007</span>' in missing.text
    assert 'value="check" checked' in missing.text
    wrong = await _upload(browser, b"called\n1\n", name="list.pdf", campaign="1")
    assert wrong.status_code == 400 and "only .csv and .xlsx" in wrong.text
    console.ctx.settings = dataclasses.replace(console.ctx.settings, console_upload_bytes=2048)
    big = await _upload(browser, b"called\n" + b"13800000001\n" * 400, campaign="1")
    assert big.status_code == 413
    await _nothing_imported(console)


async def test_viewers_cannot_upload_and_other_vdns_see_nothing(console: Console) -> None:
    cid = await _campaign(console)
    viewer = await console.login("view1")
    assert (await viewer.get(BASE)).status_code == 200
    assert 'enctype="multipart/form-data"' not in (await viewer.get(BASE)).text
    refused = await _upload(viewer, CSV.encode(), campaign=str(cid), mode="skip-bad")
    assert refused.status_code == 403
    await _nothing_imported(console)
    sup1 = await console.login("sup1")
    job = await _finished(console, await _upload(sup1, b"called\n13800000001\n", campaign=str(cid)))
    assert (await viewer.get(job)).status_code == 200  # READ sees progress
    other = await console.login("sup2")
    for path in (job, f"{job}/live", f"{job}/rejects.csv"):
        assert (await other.get(path)).status_code == 404
    assert (await other.get("/console/vdn/2/imports/1")).status_code == 404


async def test_one_import_runs_per_vdn(console: Console) -> None:
    cid = await _campaign(console)
    now = console.clock.now()
    running = import_jobs.Job(
        vdn_id=1, job_id=999, campaign_id=cid, file_name="big.csv", actor="operator:sup1",
        version=2, mode="all", status=import_jobs.RUNNING, phase="importing", progress_done=5,
        progress_total=10, rows_read=0, rows_valid=0, rows_loaded=0, rows_refused=0,
        result_code=None, result_desc=None, created_at=now, updated_at=now, finished_at=None,
    )  # fmt: skip
    async with console.ctx.engine.begin() as conn:
        await import_jobs.insert(conn, running)
    browser = await console.login("sup1")
    await browser.get(BASE)
    imports: importer.Imports = console.app.state.console_imports  # type: ignore[attr-defined]
    progress = importer.Progress()
    imports.running[(1, 999)] = importer.Running(running, progress)
    try:
        busy = await _upload(browser, b"called\n13800000001\n", campaign=str(cid))
        assert busy.status_code == 400 and "import 999 of this VDN is still running" in busy.text
        shown = await browser.get(f"{BASE}/999")
        assert 'data-status="running"' in shown.text and "data-refresh" in shown.text
    finally:
        imports.running.clear()
        progress.spool.close()


def test_an_uploaded_file_s_name_is_made_harmless() -> None:
    assert importer.safe_name("../../etc/passwd.csv") == "passwd.csv"
    assert importer.safe_name("C:\\Users\\li\\客户 <list>.XLSX") == "_ _list_.xlsx"
    assert importer.safe_name(".csv") == "upload.csv"
