"""The operator console's routes, and the application that serves them beside the API.

:func:`create` is what ``serve`` runs: the OpenAPI application
(``api.app.create_app``) with the console mounted at ``/console/`` on the same
port and TLS. Pages are server-rendered (Jinja2); the assets are served by the
application itself, so the console works offline.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from openisales.api.app import Background, create_app
from openisales.api.context import AppContext
from openisales.clock import Clock
from openisales.config import Settings
from openisales.console import (
    admin,
    audit,
    blocklist,
    calldata,
    campaigns,
    export,
    imports,
    login,
    overview,
    pushes,
)
from openisales.console.page import error_page

STATIC = Path(__file__).parent / "static"


async def _to_console(_request: Request) -> Response:
    return RedirectResponse("/console/", status_code=307)


async def _not_found(request: Request) -> Response:
    return error_page(request, 404, "Not found", "No such page.")


def routes() -> list[BaseRoute]:
    pages: list[BaseRoute] = [
        *login.ROUTES,
        *overview.ROUTES,
        *campaigns.ROUTES,
        *calldata.ROUTES,
        *imports.ROUTES,
        *blocklist.ROUTES,
        *export.ROUTES,
        *pushes.ROUTES,
        *admin.ROUTES,
        *audit.ROUTES,
    ]
    return [
        *pages,
        Route("/console", _to_console, methods=["GET"]),
        Mount("/console/static", StaticFiles(directory=STATIC), name="console-static"),
        Route("/console/{rest:path}", _not_found),
    ]


def create(
    settings: Settings,
    *,
    context: AppContext | None = None,
    clock: Clock | None = None,
    background: Background | None = None,
) -> Starlette:
    """The API, with the console when ``settings.console`` (the default)."""
    return create_app(
        settings,
        context=context,
        clock=clock,
        background=background,
        extra_routes=routes() if settings.console else (),
    )
