"""The audit log page (``/console/audit``): who changed what, when, from what to what.

An admin sees every entry, those of no VDN (operators, keys of several VDNs)
included; any other operator the entries of its VDNs only. Newest first, 50 a
page, paged by the last entry's id (``before``). Filters: VDN, actor (exact,
``operator:NAME``, ``ak:AK``, ``cli``), action, and a date range read in the
chosen VDN's time zone, else in UTC (the page says which). Actor and action are
looked for among a bounded window of entries (``services.audit.browse``), so a
rare one costs a bounded read: the page then says how far it looked and offers
to look further.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openisales.console.page import Page, error_page, view
from openisales.domain.operator import Permission, Role
from openisales.services import audit
from openisales.store.audit import Entry, Filter

PAGE_SIZE = 50
SCAN = 5_000  # entries looked at per page when an actor or an action is asked for
NO_VDN = "none"


def pretty(snapshot: str | None) -> str:
    """An entry's JSON snapshot, indented (as stored when it is not JSON)."""
    if snapshot is None:
        return ""
    try:
        return json.dumps(json.loads(snapshot), indent=2, ensure_ascii=False)
    except ValueError:
        return snapshot


@dataclass(frozen=True)
class Row:
    entry: Entry
    before: str
    after: str


def _day(raw: str, field: str, errors: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"{field}: must be a date yyyy-mm-dd")
        return None


def _start(day: date | None, tz: tzinfo) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tz).astimezone(UTC)


@view(Permission.READ)
async def audit_log(page: Page) -> Response:
    query = page.request.query_params
    asked = {k: query.get(k, "").strip() for k in ("vdn", "actor", "action", "from", "to")}
    admin = page.operator.role is Role.ADMIN
    seen = {v.vdn_id: v for v in page.vdns}
    tz: tzinfo = UTC
    scopes: list[int | None] | None
    if asked["vdn"] == "":
        scopes = None if admin else [*sorted(seen)]
    elif asked["vdn"] == NO_VDN and admin:
        scopes = [None]
    elif asked["vdn"].isdigit() and len(asked["vdn"]) <= 9 and int(asked["vdn"]) in seen:
        chosen = seen[int(asked["vdn"])]
        scopes, tz = [chosen.vdn_id], ZoneInfo(chosen.time_zone)
    else:
        return error_page(page.request, 404, "Not found", "No such VDN.", page=page)
    errors: list[str] = []
    first, last = _day(asked["from"], "from", errors), _day(asked["to"], "to", errors)
    before = query.get("before", "")
    where = Filter(
        vdns=scopes,
        actor=asked["actor"][:80] or None,
        action=asked["action"][:64] or None,
        since=_start(first, tz),
        until=_start(last + timedelta(days=1) if last else None, tz),
        before_id=int(before) if before.isdigit() and len(before) <= 18 else None,
    )
    found = (
        audit.Found([], None, None)
        if errors
        else await audit.browse(page.engine, where, limit=PAGE_SIZE, scan=SCAN)
    )
    kept = {k: v for k, v in asked.items() if v}
    older = (
        "/console/audit?" + urlencode({**kept, "before": str(found.older)})
        if found.older is not None
        else None
    )
    return page.render(
        "audit.html",
        400 if errors else 200,
        section="audit",
        title="Audit log",
        asked=asked,
        admin=admin,
        tz=tz,
        zone_note=(f"{tz} (VDN {scopes[0]}'s time zone)" if scopes and tz is not UTC else "UTC"),
        actions=audit.ACTIONS,
        errors=errors,
        rows=[Row(e, pretty(e.before), pretty(e.after)) for e in found.entries],
        paged=where.before_id is not None,
        first_url="/console/audit" + (f"?{urlencode(kept)}" if kept else ""),
        older=older,
        searched_to=found.searched_to,
        scan=SCAN,
    )


ROUTES: list[BaseRoute] = [Route("/console/audit", audit_log, methods=["GET"])]
