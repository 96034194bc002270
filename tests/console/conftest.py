"""The console in process: an app with two VDNs, an API key each, and operators of every role."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from argon2 import PasswordHasher

from openisales.api.app import build_context
from openisales.api.context import AppContext
from openisales.auth import passwords
from openisales.client import AsyncClient
from openisales.clock import FixedClock
from openisales.config import Settings
from openisales.console.app import create
from openisales.domain.operator import Role
from openisales.services import operators
from openisales.services.audit import CLI
from tests.conftest import BASE_URL, Tenant, add_tenants

PASSWORD = "correct horse battery"
OPERATORS = {
    "root": (Role.ADMIN, ()),
    "sup1": (Role.SUPERVISOR, (1,)),
    "view1": (Role.VIEWER, (1,)),
    "sup2": (Role.SUPERVISOR, (2,)),
}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Browser:
    """An httpx client that keeps cookies and the page's CSRF token, like a browser."""

    http: httpx.AsyncClient
    csrf: str = ""

    async def get(self, path: str, *, follow: bool = True) -> httpx.Response:
        response = await self.http.get(path, follow_redirects=follow)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(
        self, path: str, data: dict[str, str] | None = None, **kw: object
    ) -> httpx.Response:
        body = {"csrf": self.csrf, **(data or {})}
        return await self.http.post(path, data=body, **kw)  # type: ignore[arg-type]


@dataclass
class Console:
    ctx: AppContext
    app: object
    clock: FixedClock
    tenants: dict[int, Tenant] = field(default_factory=dict)

    def browser(self) -> Browser:
        transport = httpx.ASGITransport(app=self.app, client=("10.0.0.7", 50000))  # type: ignore[arg-type]
        return Browser(httpx.AsyncClient(transport=transport, base_url=BASE_URL))

    async def login(self, name: str, password: str = PASSWORD) -> Browser:
        browser = self.browser()
        reply = await browser.http.post(
            "/console/login", data={"username": name, "password": password, "next": "/console/"}
        )
        assert reply.status_code == 303, reply.text
        await browser.get("/console/")
        return browser

    def api(self, vdn_id: int = 1) -> AsyncClient:
        tenant = self.tenants[vdn_id]
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE_URL)  # type: ignore[arg-type]
        return AsyncClient(BASE_URL, tenant.ak, tenant.sk, vdn_id=vdn_id, http=http)


# The KDF's cost is the production setting's business (tests/contract/test_operators.py
# and tests/browser use it); here it would only slow every login and fixture down.
_CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def _cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_hasher", lambda: _CHEAP)
    monkeypatch.setattr(passwords, "_dummy", lambda: _CHEAP.hash("no such operator"))


@pytest.fixture
async def console(settings: Settings) -> AsyncIterator[Console]:
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    ctx = build_context(settings, clock=clock)
    now = clock.now()
    tenants = await add_tenants(ctx, now)
    for name, (role, vdns) in OPERATORS.items():
        await operators.add(
            ctx.engine, CLI, name=name, role=role, vdns=vdns, password=PASSWORD, now=now
        )
    app = create(settings, context=ctx)
    yield Console(ctx, app, clock, tenants)
    await ctx.close()
