"""Call-data pages: find a customer's records, and read one record's whole history.

``GET /console/vdn/{vdn}/calldata?q=…&by=session|number|data|batch[&campaign=ID]``
lists at most :data:`LIMIT` records, newest first, each linking to its page.
Every search is bounded by an index (``store.lookup``); a number is found
through the attempts placed to it, so a record that was never dialled is found
by its sessionId, dataId or batch instead (docs/console.md).

``GET /console/vdn/{vdn}/calldata/{dataId}`` shows the record (its state in
words, numbers, next call, reserved agent, last result, business result,
completion reason) and its timeline: every attempt and write-back
(``t_isl_data_result``) and every result push, in time order, in the VDN's
time zone, each failure code with its meaning and the VDN's display result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openisales.console.overview import STATUS_NAMES
from openisales.console.page import Page, error_page, view
from openisales.domain import failcodes
from openisales.domain.calldata import DataStatus
from openisales.domain.operator import Permission
from openisales.store import lookup
from openisales.store.pushes import STATUS_NAMES as PUSH_STATES
from openisales.store.records import numbers
from openisales.store.sql import reading

LIMIT = 50
SEARCHES = {
    "session": "sessionId",
    "number": "called number",
    "data": "dataId",
    "batch": "batch (batchId or customField)",
}
CALL_STATUS = {5: "failed", 6: "answered"}
REASONS = {
    "business-result": "a business result written back completed it",
    "exhausted": "no number or retry left",
    "no-retry": "its failure's display result is in the campaign's no-retry list",
    "no-writeback": "answered, but no write-back came in time",
    "expired": "the campaign ended",
    "appointment": "an appointment took it over",
}


def _search_values(page: Page) -> dict[str, str]:
    query = page.request.query_params
    by = query.get("by", "session")
    return {
        "q": query.get("q", "").strip()[:200],
        "by": by if by in SEARCHES else "session",
        "campaign": query.get("campaign", "").strip(),
    }


async def _search(page: Page, values: dict[str, str]) -> tuple[list[Any] | None, str | None]:
    """The records found (None: no search asked) and a reason when the search is refused."""
    assert page.vdn_id is not None
    q, by = values["q"], values["by"]
    if not q:
        return None, None
    campaign_id: int | None = None
    if values["campaign"]:
        if not values["campaign"].isdigit() or len(values["campaign"]) > 18:
            return None, "a campaign is chosen by its id"
        campaign_id = int(values["campaign"])
    async with reading(page.engine) as conn:
        if by == "data":
            if not q.isdigit() or len(q) > 19:
                return None, "a dataId is a number"
            return await lookup.by_data_id(conn, page.vdn_id, int(q), campaign_id), None
        if by == "number":
            return await lookup.by_number(conn, page.vdn_id, q[:24], campaign_id, LIMIT), None
        return await lookup.by_key(conn, page.vdn_id, by, q, campaign_id, LIMIT), None


@view(Permission.READ)
async def search(page: Page) -> Response:
    assert page.vdn_id is not None
    values = _search_values(page)
    found, problem = await _search(page, values)
    async with reading(page.engine) as conn:
        campaigns = await lookup.campaign_names(conn, page.vdn_id)
    return page.render(
        "calldata.html",
        200 if problem is None else 400,
        section="calldata",
        title="Call data",
        values=values,
        searches=SEARCHES,
        campaigns=campaigns,
        names=dict(campaigns),
        found=found,
        problem=problem,
        limit=LIMIT,
        statuses=STATUS_NAMES,
        numbers=numbers,
    )


@dataclass(frozen=True)
class Event:
    """One line of a record's timeline."""

    at: datetime
    kind: str  # attempt | write-back | push
    row: Any


def timeline(history: list[Any], pushes: list[Any]) -> list[Event]:
    events = [
        Event(r.created_at, "attempt" if r.kind == "attempt" else "write-back", r) for r in history
    ]
    events += [Event(p.created_at, "push", p) for p in pushes]
    return sorted(events, key=lambda e: e.at)  # stable: the store's order among equal times


@view(Permission.READ)
async def record_page(page: Page) -> Response:
    assert page.vdn_id is not None
    raw = str(page.request.path_params["data_id"])
    if not raw.isdigit() or len(raw) > 19:
        return error_page(page.request, 404, "Not found", "No such record.")
    data_id = int(raw)
    async with reading(page.engine) as conn:
        row = await lookup.record(conn, page.vdn_id, data_id)
        if row is None:
            return error_page(page.request, 404, "Not found", "No such record in this VDN.")
        history = await lookup.history(conn, page.vdn_id, data_id)
        pushes = await lookup.pushes(conn, page.vdn_id, data_id)
        codes = [r.result_code for r in history if r.result_code]
        if row.last_result_code:
            codes.append(row.last_result_code)
        displays = await lookup.display_names(conn, page.vdn_id, codes)
    return page.render(
        "record.html",
        section="calldata",
        title=f"Record {data_id}",
        record=row,
        numbers=numbers(row.called_nos),
        state=STATUS_NAMES.get(DataStatus(row.status), str(row.status)),
        reason=REASONS.get(row.complete_reason or "", row.complete_reason),
        events=timeline(history, pushes),
        truncated=len(history) >= lookup.TIMELINE_MAX,
        displays=displays,
        describe=failcodes.describe,
        call_status=CALL_STATUS,
        push_states=PUSH_STATES,
    )


ROUTES: list[BaseRoute] = [
    Route("/console/vdn/{vdn}/calldata", search, methods=["GET"]),
    Route("/console/vdn/{vdn}/calldata/{data_id}", record_page, methods=["GET"]),
]
