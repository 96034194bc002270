"""Logging in and out of the console (``/console/login``, ``/console/logout``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from openisales.api.context import AppContext
from openisales.api.endpoint import read_body
from openisales.console import security
from openisales.console.page import Page, error_page, render, state, view
from openisales.domain.operator import Permission
from openisales.services import operators
from openisales.services.operators import LoginRefused

LOGIN_BODY_BYTES = 8192


def _next(raw: str | None) -> str:
    """Where to go after login: a console path only (never another site)."""
    if raw and raw.startswith("/console/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/console/"


async def login_form(request: Request) -> Response:
    return render(request, "login.html", next=_next(request.query_params.get("next")), error=None)


async def login(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    if not security.same_origin(request):
        return error_page(request, 403, "Refused", "The form was not sent from this console.")
    body = await read_body(request, LOGIN_BODY_BYTES)

    async def replay() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=0, max_fields=10)
    name, password, target = (str(form.get(k) or "") for k in ("username", "password", "next"))
    address = request.client.host if request.client else "unknown"
    settings = ctx.settings
    try:
        opened = await operators.login(
            ctx.engine,
            name=name,
            password=password,
            address=address,
            now=ctx.clock.now(),
            policy=security.policy(settings),
            throttle=security.throttle(settings),
        )
    except LoginRefused as exc:
        status = 429 if exc.until is not None else 401
        return render(
            request, "login.html", status, next=_next(target), error=exc.description, name=name
        )
    response = RedirectResponse(_next(target), status_code=303)
    security.set_cookie(response, settings, state(request).signer, opened.token)
    return security.secure_headers(response)


@view(Permission.READ)
async def logout(page: Page) -> Response:
    token = security.cookie_token(page.request, page.ctx.settings, state(page.request).signer)
    if token is not None:
        await operators.logout(page.engine, token)
    response = page.redirect("/console/login")
    security.clear_cookie(response, page.ctx.settings)
    return response


ROUTES: list[BaseRoute] = [
    Route("/console/login", login_form, methods=["GET"]),
    Route("/console/login", login, methods=["POST"]),
    Route("/console/logout", logout, methods=["POST"]),
]
