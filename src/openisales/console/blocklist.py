"""Blocklist page: the VDN's listed numbers in number order, looked up, added, removed.

``GET /console/vdn/{vdn}/blocklist`` pages through the list by keyset (``after``,
the primary key's order) or looks one number up (``number``). Adds and deletes
(OPERATE) go through ``services.blocklist`` with the API's own checks and codes:
the form's fields are those of the API's add body (``domain.blocklist.ADD_SPEC``),
except that an expiry date is typed in the VDN's time zone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openisales.console.page import Page, view
from openisales.domain.blocklist import (
    ADD_SPEC,
    DELETE_SPEC,
    TIME_FORMAT,
    Entry,
    is_active,
    plan_add,
)
from openisales.domain.operator import Permission
from openisales.errors import OpenISalesError
from openisales.services import blocklist
from openisales.store import blocklist as blocklist_store, lookup
from openisales.store.sql import reading

PAGE = 50
FORM_BYTES = 16_384
FIELDS = (
    "numbers",
    "until",
    "validity",
    "unit",
    "restrict_times",
    "restrict_period",
    "category",
    "type",
    "cover",
)
UNITS = {"4": "hours", "3": "days", "2": "months", "1": "years"}
PERIODS = {"0": "per hour", "1": "per day"}
NOTICES = {"added": "Listed: {}.", "deleted": "Removed from the blocklist: {}."}
_SPLIT = re.compile(r"[\s,;]+")
_INTEGER = re.compile(r"[+-]?\d{1,18}")


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _int(text: str) -> int | str | None:
    """A typed integer as the API's JSON would carry it (text that is not one stays text,
    so that the spec refuses it with its code)."""
    if not text:
        return None
    return int(text) if _INTEGER.fullmatch(text) else text


def _utc(local: str, page: Page) -> str | None:
    """A ``datetime-local`` value in the VDN's zone as the API's UTC text (unchanged when it
    is not a date-time: the API's check then refuses it with its code)."""
    if not local:
        return None
    try:
        moment = datetime.fromisoformat(local)
    except ValueError:
        return local
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=page.tz)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def add_body(values: dict[str, str], page: Page) -> dict[str, Any]:
    """The API's add body from the form's fields."""
    body: dict[str, Any] = {
        "blocklist": [n for n in _SPLIT.split(values["numbers"]) if n],
        "validityExpirationTime": _utc(values["until"], page),
        "validityTime": _int(values["validity"]),
        "validityTimeUnit": _int(values["unit"]) if values["validity"] else None,
        "restrictTimes": _int(values["restrict_times"]),
        "restrictPeriod": values["restrict_period"] or None,
        "relCategoryId": values["category"] or None,
        "typeId": values["type"] or None,
        "isCoverDupNo": 1 if values["cover"] else 0,
    }
    return {k: v for k, v in body.items() if v is not None}


async def _page(
    page: Page, status: int = 200, *, values: dict[str, str] | None = None, error: Any = None
) -> Response:
    assert page.vdn_id is not None
    query = page.request.query_params
    number = query.get("number", "").strip()[:24]
    after = query.get("after", "")[:24] or None
    async with reading(page.engine) as conn:
        if number:
            found = await blocklist_store.get_many(conn, page.vdn_id, [number])
            rows: list[tuple[Entry, datetime | None]] = [(e, None) for e in found]
            more = None
        else:
            listed = await lookup.blocklist_page(conn, page.vdn_id, after, PAGE + 1)
            rows = [(e, at) for e, at in listed[:PAGE]]
            more = listed[PAGE - 1][0].number if len(listed) > PAGE else None
    notice = NOTICES.get(query.get("done", ""), "").format(query.get("what", "")[:200])
    return page.render(
        "blocklist.html",
        status,
        section="blocklist",
        title="Blocklist",
        rows=[(e, at, is_active(e, page.now)) for e, at in rows],
        number=number,
        after=after,
        more=more,
        values=values or {"unit": "3"},
        error=error,
        units=UNITS,
        periods=PERIODS,
        notice=notice,
        can_operate=page.may(Permission.OPERATE),
    )


@view(Permission.READ)
async def list_page(page: Page) -> Response:
    return await _page(page)


def _refusal(exc: OpenISalesError, form: str) -> dict[str, Any]:
    return {"code": exc.result_code, "text": exc.description, "form": form}


@view(Permission.OPERATE)
async def add(page: Page) -> Response:
    assert page.vdn_id is not None
    form = await page.form(FORM_BYTES)
    values = {k: _text(form, k) for k in FIELDS}
    try:
        checked = ADD_SPEC.check(add_body(values, page), "")
        assert checked is not None
        plan = plan_add(checked, page.now)
        await blocklist.add(
            page.engine, vdn_id=page.vdn_id, plan=plan, now=page.now, actor=page.actor
        )
    except OpenISalesError as exc:
        return await _page(page, 400, values=values, error=_refusal(exc, "add"))
    what = ", ".join(e.number for e in plan.entries)
    return page.redirect(page.vdn_path("/blocklist"), done="added", what=what)


@view(Permission.OPERATE)
async def delete(page: Page) -> Response:
    assert page.vdn_id is not None
    form = await page.form(FORM_BYTES)
    number = _text(form, "number")
    try:
        checked = DELETE_SPEC.check({"blocklistNo": number}, "")
        assert checked is not None
        await blocklist.delete(
            page.engine,
            vdn_id=page.vdn_id,
            number=checked["blocklistNo"],
            now=page.now,
            actor=page.actor,
        )
    except OpenISalesError as exc:
        return await _page(page, 400, error=_refusal(exc, "delete"))
    return page.redirect(page.vdn_path("/blocklist"), done="deleted", what=number)


ROUTES: list[BaseRoute] = [
    Route("/console/vdn/{vdn}/blocklist", list_page, methods=["GET"]),
    Route("/console/vdn/{vdn}/blocklist/add", add, methods=["POST"]),
    Route("/console/vdn/{vdn}/blocklist/delete", delete, methods=["POST"]),
]
