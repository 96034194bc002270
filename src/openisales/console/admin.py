"""Administration pages (admin only, ``/console/admin/…``): VDNs, API keys, holidays, operators.

Every change goes through its use case (``services.admin``, ``services.holidays``,
``services.operators``) with the operator as the actor, so it is checked and
audited as the CLI's and the API's changes are. A refusal is shown next to its
form, with its result code when it has one, and the form keeps what was typed
(never a password). A new key's SK is shown once, on the page that answers the
POST that made it (200, ``no-store``; not a redirect): only its encryption is
stored, and neither the log nor the audit entry holds it. An admin cannot
disable or demote itself (another admin must).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openisales.auth.vault import Vault, master_key
from openisales.console.page import Page, error_page, view
from openisales.domain.operator import Permission, Role
from openisales.errors import NotFound, OpenISalesError, ParamError
from openisales.services import admin, holidays, operators
from openisales.services.admin import AdminError
from openisales.store.operators import Account
from openisales.validation import BAD_VALUE, Str

FORM_BYTES = 16_384
_DATE = Str("date", required=True)  # the API's first check of a holiday's date
NOTICES = {
    "vdn": "VDN {} added.",
    "revoked": "Key {} revoked.",
    "holiday": "Holiday {} saved.",
    "unholiday": "Holiday {} deleted.",
    "operator": "Operator {} added.",
    "access": "Role and VDNs of {} changed.",
    "password": "Password of {} changed; their sessions have ended.",
    "disabled": "{} disabled; their sessions have ended.",
    "enabled": "{} enabled.",
}


@dataclass(frozen=True)
class Refusal:
    text: str
    code: str | None = None  # a result code, when the refusal has one
    form: str = ""  # which of the page's forms it answers


def refusal(exc: Exception, form: str = "") -> Refusal:
    if isinstance(exc, OpenISalesError):
        return Refusal(exc.description, exc.result_code, form)
    return Refusal(str(exc), None, form)


@cache
def zones() -> list[str]:
    return sorted(available_timezones())


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _ids(form: FormData, key: str) -> list[int]:
    return sorted({int(v) for v in form.getlist(key) if isinstance(v, str) and v.isdigit()})


def _render(page: Page, template: str, status: int = 200, **values: Any) -> Response:
    query = page.request.query_params
    notice = NOTICES.get(query.get("done", ""), "").format(query.get("what", "")[:80])
    return page.render(template, status, section="admin", notice=notice, **values)


# ---- VDNs -------------------------------------------------------------------


def _vdns(page: Page, status: int = 200, **values: Any) -> Response:
    values.setdefault("values", {"time_zone": "UTC"})
    values.setdefault("error", None)
    return _render(
        page, "admin_vdns.html", status, title="VDNs", tab="vdns", zones=zones(), **values
    )


@view(Permission.ADMINISTER)
async def vdns(page: Page) -> Response:
    return _vdns(page)


@view(Permission.ADMINISTER)
async def add_vdn(page: Page) -> Response:
    form = await page.form(FORM_BYTES)
    typed = {k: _text(form, k) for k in ("vdn_id", "name", "time_zone")}
    raw_id = typed["vdn_id"].strip()
    try:
        if not raw_id.isdigit() or len(raw_id) > 9:
            raise AdminError("a VDN id is an integer between 1 and 9999")
        made = await admin.add_vdn(
            page.engine,
            vdn_id=int(raw_id),
            name=typed["name"],
            time_zone=typed["time_zone"].strip(),
            now=page.now,
            actor=page.actor,
        )
    except (AdminError, OpenISalesError) as exc:
        return _vdns(page, 400, values=typed, error=refusal(exc))
    return page.redirect("/console/admin/vdns", done="vdn", what=str(made.vdn_id))


# ---- API keys ---------------------------------------------------------------


async def _keys(page: Page, status: int = 200, **values: Any) -> Response:
    values.setdefault("chosen", [])
    values.setdefault("ak", "")
    values.setdefault("error", None)
    values.setdefault("created", None)
    listed = await admin.list_keys(page.engine)
    return _render(
        page, "admin_keys.html", status, title="API keys", tab="keys", keys=listed, **values
    )


@view(Permission.ADMINISTER)
async def keys(page: Page) -> Response:
    return await _keys(page)


@view(Permission.ADMINISTER)
async def create_key(page: Page) -> Response:
    form = await page.form(FORM_BYTES)
    chosen, ak = _ids(form, "vdn"), _text(form, "ak").strip()
    try:
        made = await admin.create_key(
            page.engine,
            Vault(master_key(page.ctx.settings)),
            vdn_ids=chosen,
            ak=ak or None,
            now=page.now,
            actor=page.actor,
        )
    except (AdminError, OpenISalesError) as exc:
        return await _keys(page, 400, chosen=chosen, ak=ak, error=refusal(exc, "create"))
    # The SK's one showing: this answer (no-store), never a redirect, a log line or an audit entry.
    return await _keys(page, created=made)


@view(Permission.ADMINISTER)
async def revoke_key(page: Page) -> Response:
    ak = _text(await page.form(FORM_BYTES), "ak").strip()
    try:
        await admin.revoke_key(page.engine, ak=ak, now=page.now, actor=page.actor)
    except (AdminError, OpenISalesError) as exc:
        return await _keys(page, 400, error=refusal(exc, "revoke"))
    return page.redirect("/console/admin/keys", done="revoked", what=ak)


# ---- Holidays ---------------------------------------------------------------


def _vdn_of(page: Page, raw: str) -> int | None:
    """The VDN a holidays page is about: the one asked for, else the first one."""
    raw = raw.strip()
    if raw.isdigit() and len(raw) <= 9:
        return int(raw)
    return page.vdns[0].vdn_id if page.vdns else None


async def _holidays(page: Page, vdn_id: int | None, status: int = 200, **values: Any) -> Response:
    values.setdefault("values", {})
    values.setdefault("error", None)
    raw_year = page.request.query_params.get("year", "")
    listed, zone = [], None
    if vdn_id is not None:
        zone = next((v.time_zone for v in page.vdns if v.vdn_id == vdn_id), None)
        try:
            year = holidays.LIST_SPEC[0].check(raw_year, "year")
            listed = await holidays.query(page.engine, vdn_id=vdn_id, year=year)
        except OpenISalesError as exc:
            if values["error"] is None:
                values["error"] = refusal(exc, "list")
                status = 404 if isinstance(exc, NotFound) else 400
    return _render(
        page,
        "admin_holidays.html",
        status,
        title="Holidays",
        tab="holidays",
        vdn_id=vdn_id,
        zone=zone,
        year=raw_year,
        holidays=listed,
        **values,
    )


@view(Permission.ADMINISTER)
async def holidays_page(page: Page) -> Response:
    return await _holidays(page, _vdn_of(page, page.request.query_params.get("vdn", "")))


@view(Permission.ADMINISTER)
async def add_holiday(page: Page) -> Response:
    form = await page.form(FORM_BYTES)
    typed = {k: _text(form, k) for k in ("date", "name")}
    vdn_id = _vdn_of(page, _text(form, "vdn"))
    try:
        if vdn_id is None:
            raise NotFound("vdnId: no VDN yet")
        _DATE.check(typed["date"], "date")
        item = holidays.holiday(typed["date"], typed["name"])
        await holidays.add(
            page.engine, vdn_id=vdn_id, holidays=[item], now=page.now, actor=page.actor
        )
    except OpenISalesError as exc:
        return await _holidays(page, vdn_id, 400, values=typed, error=refusal(exc, "add"))
    return page.redirect(
        "/console/admin/holidays", vdn=str(vdn_id), done="holiday", what=item.day.isoformat()
    )


@view(Permission.ADMINISTER)
async def delete_holiday(page: Page) -> Response:
    form = await page.form(FORM_BYTES)
    vdn_id = _vdn_of(page, _text(form, "vdn"))
    try:
        if vdn_id is None:
            raise NotFound("vdnId: no VDN yet")
        day = holidays.parse_date(_text(form, "date"), "date")
        deleted = await holidays.delete(
            page.engine, vdn_id=vdn_id, days=[day], now=page.now, actor=page.actor
        )
        if not deleted:
            raise NotFound(f"date: no holiday on {day} in VDN {vdn_id}")
    except OpenISalesError as exc:
        return await _holidays(page, vdn_id, 400, error=refusal(exc, "delete"))
    return page.redirect(
        "/console/admin/holidays", vdn=str(vdn_id), done="unholiday", what=day.isoformat()
    )


# ---- Operators --------------------------------------------------------------


def _role(raw: str) -> Role:
    try:
        return Role(raw)
    except ValueError:
        raise ParamError(BAD_VALUE, "role", "must be admin, supervisor or viewer") from None


def _access(page: Page, form: FormData) -> tuple[Role, list[int]]:
    role, chosen = _role(_text(form, "role")), _ids(form, "vdn")
    known = {v.vdn_id for v in page.vdns}
    if unknown := [v for v in chosen if v not in known]:
        raise ParamError(BAD_VALUE, "vdn", f"VDN {unknown[0]} does not exist")
    return role, chosen


def _new_password(form: FormData) -> str:
    password = _text(form, "password")
    if password != _text(form, "confirm"):
        raise ParamError(BAD_VALUE, "password", "the password and its confirmation differ")
    return password


@view(Permission.ADMINISTER)
async def operators_page(page: Page) -> Response:
    return await _operators(page)


async def _operators(page: Page, status: int = 200, **values: Any) -> Response:
    values.setdefault("values", {"role": Role.VIEWER.value, "vdns": []})
    values.setdefault("error", None)
    return _render(
        page,
        "admin_operators.html",
        status,
        title="Operators",
        tab="operators",
        accounts=await operators.accounts(page.engine),
        roles=list(Role),
        **values,
    )


@view(Permission.ADMINISTER)
async def add_operator(page: Page) -> Response:
    form = await page.form(FORM_BYTES)
    name = _text(form, "name").strip()
    typed = {"name": name, "role": _text(form, "role"), "vdns": _ids(form, "vdn")}
    try:
        role, chosen = _access(page, form)
        await operators.add(
            page.engine,
            page.actor,
            name=name,
            role=role,
            vdns=chosen,
            password=_new_password(form),
            now=page.now,
        )
    except OpenISalesError as exc:
        return await _operators(page, 400, values=typed, error=refusal(exc))
    return page.redirect(f"/console/admin/operators/{name}", done="operator", what=name)


async def _operator(page: Page, account: Account, status: int = 200, **values: Any) -> Response:
    values.setdefault("error", None)
    values.setdefault("values", None)
    return _render(
        page,
        "admin_operator.html",
        status,
        title=f"Operator {account.operator.name}",
        tab="operators",
        account=account,
        roles=list(Role),
        itself=account.operator.name == page.operator.name,
        **values,
    )


async def _change(page: Page, what: str) -> Response:
    """One change to the operator of the path: ``access``, ``password``, ``disable``, ``enable``."""
    name = str(page.request.path_params["name"])
    try:
        account = await operators.account(page.engine, name)
    except NotFound:
        return error_page(page.request, 404, "Not found", "No such operator.", page=page)
    if what == "show":
        return await _operator(page, account)
    form = await page.form(FORM_BYTES)
    itself = name == page.operator.name
    try:
        if what == "access":
            role, chosen = _access(page, form)
            if itself and role is not Role.ADMIN:
                raise ParamError(BAD_VALUE, "role", "you cannot demote yourself; ask another admin")
            await operators.set_access(
                page.engine, page.actor, name=name, role=role, vdns=chosen, now=page.now
            )
        elif what == "password":
            await operators.set_password(
                page.engine, page.actor, name=name, password=_new_password(form), now=page.now
            )
        else:
            if itself and what == "disable":
                raise ParamError(
                    BAD_VALUE, "name", "you cannot disable yourself; ask another admin"
                )
            await operators.set_disabled(
                page.engine, page.actor, name=name, disabled=what == "disable", now=page.now
            )
    except OpenISalesError as exc:
        typed = {"role": _text(form, "role"), "vdns": _ids(form, "vdn")}
        return await _operator(page, account, 400, error=refusal(exc, what), values=typed)
    done = {"access": "access", "password": "password"}.get(what, what + "d")
    return page.redirect(f"/console/admin/operators/{name}", done=done, what=name)


def _changing(what: str) -> Callable[[Request], Awaitable[Response]]:
    """The view of one change to the operator of the path (``show``: its page)."""

    async def change(page: Page) -> Response:
        return await _change(page, what)

    change.__name__ = f"operator_{what}"
    return view(Permission.ADMINISTER)(change)


async def _to_vdns(page: Page) -> Response:
    return page.redirect("/console/admin/vdns")


ROUTES: list[BaseRoute] = [
    Route("/console/admin", view(Permission.ADMINISTER)(_to_vdns), methods=["GET"]),
    Route("/console/admin/vdns", vdns, methods=["GET"]),
    Route("/console/admin/vdns", add_vdn, methods=["POST"]),
    Route("/console/admin/keys", keys, methods=["GET"]),
    Route("/console/admin/keys", create_key, methods=["POST"]),
    Route("/console/admin/keys/revoke", revoke_key, methods=["POST"]),
    Route("/console/admin/holidays", holidays_page, methods=["GET"]),
    Route("/console/admin/holidays", add_holiday, methods=["POST"]),
    Route("/console/admin/holidays/delete", delete_holiday, methods=["POST"]),
    Route("/console/admin/operators", operators_page, methods=["GET"]),
    Route("/console/admin/operators", add_operator, methods=["POST"]),
    Route("/console/admin/operators/{name}", _changing("show"), methods=["GET"]),
    *(
        Route(f"/console/admin/operators/{{name}}/{what}", _changing(what), methods=["POST"])
        for what in ("access", "password", "disable", "enable")
    ),
]
