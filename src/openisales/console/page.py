"""What every console page shares: the operator's session, its checks, and rendering.

A page handler is ``async def handler(page: Page) -> Response``, declared with
:func:`view`, which before calling it

1. finds the request's live session (else: a GET goes to the login form, any
   other method gets 401);
2. for a state-changing method, checks the CSRF token and the ``Origin`` (403);
3. checks the operator's permission, on the VDN of the path when it has one
   (``/console/vdn/{vdn}/…``): the role is enforced here, on every request,
   not by hiding buttons (403; a VDN the operator does not see is 404, so its
   existence is not told).

A use case's refusal (:class:`OpenISalesError`) that a handler does not catch
is shown as an error page with its result code; anything else is logged with
the request id and answered 500, without details.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import cache
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from itsdangerous import Signer
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from openisales.api.context import AppContext
from openisales.api.endpoint import log_unexpected, read_body, request_id
from openisales.console import security
from openisales.console.cache import FigureCache
from openisales.domain.operator import Operator, Permission
from openisales.errors import OpenISalesError
from openisales.services import admin, operators
from openisales.services.audit import Actor
from openisales.store.credentials import Vdn
from openisales.store.operators import Session

log = logging.getLogger("openisales.console")

MAX_FORM_FIELDS = 500


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("openisales.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local_time
    env.filters["thousands"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    return env


def local_time(
    moment: datetime | None, tz: tzinfo | None = None, fmt: str = "%Y-%m-%d %H:%M:%S"
) -> str:
    if moment is None:
        return ""
    return moment.astimezone(tz).strftime(fmt) if tz is not None else moment.strftime(fmt)


def state(request: Request) -> ConsoleState:
    found = getattr(request.app.state, "console", None)
    if found is None:
        ctx: AppContext = request.app.state.ctx
        found = ConsoleState(security.signer(ctx.settings))
        request.app.state.console = found
    assert isinstance(found, ConsoleState)
    return found


@dataclass
class ConsoleState:
    signer: Signer
    figures: FigureCache = field(default_factory=FigureCache)


@dataclass
class Page:
    request: Request
    ctx: AppContext
    session: Session
    now: datetime
    vdn_id: int | None = None
    tz: tzinfo | None = None  # the VDN's time zone when the path names a VDN
    vdns: list[Vdn] = field(default_factory=list)  # the VDNs the operator sees
    _form: FormData | None = None

    @property
    def operator(self) -> Operator:
        return self.session.account.operator

    @property
    def actor(self) -> Actor:
        return Actor("operator", self.operator.name)

    @property
    def engine(self) -> Any:
        return self.ctx.engine

    def may(self, permission: Permission) -> bool:
        return self.operator.may(permission, self.vdn_id)

    async def form(self, limit: int | None = None) -> FormData:
        """The request's form (urlencoded or multipart), at most ``limit`` bytes."""
        if self._form is None:
            body = await read_body(self.request, limit or self.ctx.settings.max_body_bytes)

            async def replay() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            self._form = await Request(self.request.scope, replay).form(
                max_files=1, max_fields=MAX_FORM_FIELDS
            )
            self.request.state.console_form = self._form  # closed when the request ends
        return self._form

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        return render(self.request, template, status, page=self, **values)

    def redirect(self, path: str, **query: str) -> RedirectResponse:
        if query:
            path += "?" + "&".join(f"{k}={quote(v)}" for k, v in query.items())
        return RedirectResponse(path, status_code=303)

    @property
    def figures(self) -> FigureCache:
        """Slow figures kept by this process (``console.cache``)."""
        return state(self.request).figures

    def vdn_path(self, rest: str = "") -> str:
        return f"/console/vdn/{self.vdn_id}{rest}"


def render(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    html = (
        environment().get_template(template).render(request_id=request_id(request.scope), **values)
    )
    return security.secure_headers(HTMLResponse(html, status_code=status))


def error_page(
    request: Request, status: int, title: str, detail: str = "", **values: Any
) -> Response:
    return render(request, "error.html", status, title=title, detail=detail, **values)


Handler = Callable[[Page], Awaitable[Response]]


def view(permission: Permission) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            ctx: AppContext = request.app.state.ctx
            try:
                return await _serve(request, ctx, permission, handler)
            except OpenISalesError as exc:
                return error_page(
                    request,
                    400 if exc.http_status == 200 else exc.http_status,
                    "The request was refused",
                    f"{exc.result_code}: {exc.description}",
                )
            except Exception:
                rid = log_unexpected(request.scope, f"console {request.method} {request.url.path}")
                return error_page(request, 500, "Something went wrong", f"request id {rid}")
            finally:  # an upload's spooled file, whatever the answer was (a 403 too)
                form = getattr(request.state, "console_form", None)
                if form is not None:
                    await form.close()

        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap


async def _serve(
    request: Request, ctx: AppContext, permission: Permission, handler: Handler
) -> Response:
    settings = ctx.settings
    now = ctx.clock.now()
    token = security.cookie_token(request, settings, state(request).signer)
    session = (
        await operators.session(ctx.engine, token, now=now, policy=security.policy(settings))
        if token is not None
        else None
    )
    if session is None:
        if request.method in security.SAFE_METHODS:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response: Response = RedirectResponse(
                f"/console/login?next={quote(target, safe='')}", status_code=303
            )
            if token is not None:
                security.clear_cookie(response, settings)
            return security.secure_headers(response)
        return error_page(request, 401, "Your session has ended", "Log in again.")
    if request.method not in security.SAFE_METHODS:
        given = request.headers.get(security.CSRF_HEADER)
        page_form: FormData | None = None
        if given is None:
            page_form = await Page(request, ctx, session, now).form(_form_limit(request, ctx))
            value = page_form.get(security.CSRF_FIELD)
            given = value if isinstance(value, str) else None
        if not security.csrf_ok(session.csrf_token, given) or not security.same_origin(request):
            return error_page(
                request,
                403,
                "Refused",
                "The form was stale or not sent from this console; reload the page and try again.",
            )
    else:
        page_form = None
    vdn_id = _path_vdn(request.path_params)
    operator = session.account.operator
    if vdn_id is not None and not operator.sees(vdn_id):
        return error_page(request, 404, "Not found", "No such page.")
    if not operator.may(permission, vdn_id):
        return error_page(
            request, 403, "Not allowed", f"Your role ({operator.role.value}) may not do this."
        )
    vdns = [v for v in await admin.list_vdns(ctx.engine) if operator.sees(v.vdn_id)]
    page = Page(request, ctx, session, now, vdn_id, vdns=vdns, _form=page_form)
    if vdn_id is not None:
        zone = next((v.time_zone for v in vdns if v.vdn_id == vdn_id), None)
        if zone is None:
            return error_page(request, 404, "Not found", "No such VDN.")
        page.tz = ZoneInfo(zone)
    return security.secure_headers(await handler(page))


def _form_limit(request: Request, ctx: AppContext) -> int:
    upload = request.headers.get("content-type", "").startswith("multipart/form-data")
    return ctx.settings.console_upload_bytes if upload else ctx.settings.max_body_bytes


def _path_vdn(params: Mapping[str, Any]) -> int | None:
    raw = params.get("vdn")
    if raw is None:
        return None
    text = str(raw)
    if not text.isdigit() or len(text) > 9:
        return -1  # seen by nobody: 404
    return int(text)
