"""Results export: a campaign's call attempts of a date range, as CSV.

``GET /console/vdn/{vdn}/export`` is the form; ``/export.csv?campaign=&from=&to=``
streams the attempts recorded from the VDN-local day ``from`` to the day ``to``
(inclusive, at most 30 days: the call-result query's rule and codes,
``domain.results.day_range``), with the columns of the API's call-result query
(``showDetail`` 1: each attempt with the write-back of that attempt) plus the
attempt number. Rows are read in keyset pages of :data:`PAGE` (index
``(vdn_id, campaign_id, created_at)`` of ``t_isl_data_result``), each on a
connection of its own: the range is never held in memory, and a slow download
holds no connection.

Cells that a spreadsheet would take for a formula (starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from openisales.console.page import Page, view
from openisales.domain.operator import Permission
from openisales.domain.results import day_range, format_local
from openisales.errors import NotFound, OpenISalesError
from openisales.store import calldata as calldata_store, lookup, results
from openisales.store.sql import reading

PAGE = 5_000
COLUMNS = [
    "campaignId",
    "dataId",
    "sessionId",
    "customField",
    "attemptNo",
    "called",
    "callTimeStr",
    "callStatus",
    "failCode",
    "resultCode",
    "callId",
    "busiResult",
    "subStatus",
    "vdnId",
]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """``value``, quoted with a leading ``'`` when a spreadsheet would run it as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return "" if value is None else value


def csv_line(cells: Sequence[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([csv_safe(c) for c in cells])
    return out.getvalue()


def download_headers(filename: str) -> dict[str, str]:
    return {"content-disposition": f'attachment; filename="{filename}"'}


async def _campaigns(page: Page) -> list[tuple[int, str]]:
    assert page.vdn_id is not None
    async with reading(page.engine) as conn:
        return await lookup.campaign_names(conn, page.vdn_id)


async def _form(page: Page, status: int = 200, error: Any = None) -> Response:
    query = page.request.query_params
    today = page.now.astimezone(page.tz).date().isoformat()
    values = {
        "campaign": query.get("campaign", ""),
        "from": query.get("from", today),
        "to": query.get("to", today),
    }
    return page.render(
        "export.html",
        status,
        section="export",
        title="Export results",
        campaigns=await _campaigns(page),
        values=values,
        error=error,
    )


@view(Permission.READ)
async def export_form(page: Page) -> Response:
    return await _form(page)


@view(Permission.READ)
async def export_csv(page: Page) -> Response:
    assert page.vdn_id is not None and page.tz is not None
    query = page.request.query_params
    raw = query.get("campaign", "")
    try:
        if not raw.isdigit() or len(raw) > 18:
            raise NotFound("campaign: choose a campaign of this VDN")
        campaign_id = int(raw)
        days = day_range(  # strings, never None: an empty day is refused (0200009)
            query.get("from", ""), query.get("to", ""), names=("from", "to"), end_inclusive=True
        )
        assert days is not None
        async with reading(page.engine) as conn:
            if await calldata_store.campaign_state(conn, page.vdn_id, campaign_id) is None:
                raise NotFound(f"campaign: campaign {campaign_id} does not exist")
    except OpenISalesError as exc:
        return await _form(page, 400, {"code": exc.result_code, "text": exc.description})
    tz = page.tz
    assert isinstance(tz, ZoneInfo)
    start, stop = days.instants(tz)
    selected = lookup.ExportRange(page.vdn_id, campaign_id, start, stop)
    name = f"results-{page.vdn_id}-{campaign_id}-{days.first}-{days.days()[-1]}.csv"
    return StreamingResponse(
        _rows(page.engine, selected, tz), media_type="text/csv", headers=download_headers(name)
    )


async def _rows(engine: Any, selected: lookup.ExportRange, tz: ZoneInfo) -> AsyncIterator[str]:
    yield csv_line(COLUMNS)
    after = None
    while True:
        async with reading(engine) as conn:
            found = await lookup.export_page(conn, selected, after, PAGE)
            written = await results.write_backs(
                conn, selected.vdn_id, sorted({r.data_id for r in found})
            )
        if not found:
            return
        chunk = []
        for r in found:
            wb = written.get((r.data_id, r.attempt_no))
            chunk.append(
                csv_line(
                    [
                        selected.campaign_id,
                        r.data_id,
                        r.session_id,
                        r.custom_field,
                        r.attempt_no,
                        r.called,
                        format_local(r.ack_begin_time or r.created_at, tz),
                        r.call_status,
                        r.fail_code,
                        r.result_code,
                        r.call_id,
                        wb.busi_result if wb else None,
                        wb.sub_status if wb else None,
                        selected.vdn_id,
                    ]
                )
            )
        yield "".join(chunk)
        if len(found) < PAGE:
            return
        after = (found[-1].created_at, found[-1].result_id)


ROUTES: list[BaseRoute] = [
    Route("/console/vdn/{vdn}/export", export_form, methods=["GET"]),
    Route("/console/vdn/{vdn}/export.csv", export_csv, methods=["GET"]),
]
