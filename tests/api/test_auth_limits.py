"""C2 under hostile input (issue 10): sizes, duplicate headers, storage outages, replays.

A malformed request is refused with HTTP 401 before any credential look-up,
so it can neither fill a cache nor cost the database anything.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from starlette.requests import Request

from openisales.api.app import build_context, create_app
from openisales.api.auth import authenticate
from openisales.api.context import AppContext
from openisales.auth import signing
from openisales.auth.replay import MemoryReplayGuard
from openisales.auth.vault import Vault
from openisales.client import JSON_TYPE, C2Auth
from openisales.clock import FixedClock
from openisales.config import Settings
from openisales.services import admin
from openisales.services.audit import CLI
from openisales.store.credentials import Credential, CredentialCache
from openisales.store.engine import create_engine
from openisales.store.nonces import SqlReplayGuard
from tests.conftest import BASE_URL, MASTER_KEY, Api

PATH = "/rest/isales/v1/openapi/campaigns/1/addBusinessResult"
WRITE_BACK = "/rest/isales/v1/openapi/campaigns/1/callBusiResult/1"
BODY = json.dumps({"name": "Sold", "code": "SOLD"}).encode()


def _http(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)  # type: ignore[arg-type]


def _build(
    path: str = PATH, body: bytes = BODY, headers: dict[str, str] | None = None
) -> httpx.Request:
    return httpx.Request(
        "POST",
        BASE_URL + path,
        content=body,
        headers={"Content-Type": JSON_TYPE, **(headers or {})},
    )


def _sign(request: httpx.Request, ak: str, sk: str, **kwargs: Any) -> httpx.Request:
    request.headers["Authorization"] = C2Auth(ak, sk, **kwargs).authorization(request)
    return request


async def _send(app: object, request: httpx.Request) -> httpx.Response:
    async with _http(app) as http:
        return await http.send(request)


def _assert_401(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["resultCode"] == "0200401"
    assert reason in response.json()["resultDesc"]


class _CountingLookups:
    """Counts the credential look-ups of a context."""

    def __init__(self, ctx: AppContext) -> None:
        self.calls = 0
        real = ctx.credentials.lookup

        async def lookup(ak: str) -> Credential | None:
            self.calls += 1
            return await real(ak)

        ctx.credentials.lookup = lookup  # type: ignore[method-assign]


@pytest.fixture
async def cached(api: Api) -> AsyncIterator[Api]:
    """The same database as ``api``, served with a caching context and small cache bounds."""
    settings = api.ctx.settings.evolve(
        credential_cache_s=600.0, unknown_ak_cache_entries=20, unknown_ak_cache_bytes=1000
    )
    ctx = build_context(settings)
    yield Api(ctx, create_app(settings, context=ctx), api.tenants)
    await ctx.close()


# -- 1. sizes are checked before the AK is looked up or cached ---------------------------


async def test_an_oversized_ak_is_refused_without_a_lookup_and_caches_nothing(
    cached: Api,
) -> None:
    lookups = _CountingLookups(cached.ctx)
    for i in range(30):
        ak = f"{i:03d}" + "A" * 2000
        response = await _send(cached.app, _sign(_build(), ak, "some-secret-key-123"))
        _assert_401(response, "the AK is longer than 128 characters")
    assert lookups.calls == 0
    assert cached.ctx.credentials.unknown_entries == 0
    assert cached.ctx.credentials.unknown_bytes == 0


async def test_unknown_aks_are_remembered_within_their_entry_and_byte_bounds(
    cached: Api,
) -> None:
    credentials = cached.ctx.credentials
    for i in range(60):  # short AKs: the entry bound (20) binds
        response = await _send(cached.app, _sign(_build(), f"nobody-{i:03d}", "secret-key-12345"))
        _assert_401(response, "unknown AK")
        assert credentials.unknown_entries <= 20
    assert credentials.unknown_entries == 20
    for i in range(60):  # 128-character AKs: the byte bound (1000) binds
        ak = f"{i:03d}" + "B" * 125
        response = await _send(cached.app, _sign(_build(), ak, "secret-key-12345"))
        _assert_401(response, "unknown AK")
        assert credentials.unknown_bytes <= 1000
    assert credentials.unknown_entries == 1000 // 128
    # a real key still works, and is not counted among the unknown ones
    tenant = cached.tenants[1]
    ok = await _send(cached.app, _sign(_build(), tenant.ak, tenant.sk))
    assert ok.json()["resultCode"] == "0200000"
    assert credentials.unknown_bytes <= 1000


async def test_an_unknown_ak_is_answered_from_the_cache_while_it_is_remembered(
    cached: Api,
) -> None:
    ak, sk = "nobody-yet", "secret-key-12345"
    _assert_401(await _send(cached.app, _sign(_build(), ak, sk)), "unknown AK")
    await admin.create_key(
        cached.ctx.engine,
        Vault(MASTER_KEY),
        vdn_ids=[1],
        now=datetime.now(UTC),
        actor=CLI,
        ak=ak,
        sk=sk,
    )
    # still unknown to this process: the answer came from its cache, not the table
    _assert_401(await _send(cached.app, _sign(_build(), ak, sk)), "unknown AK")
    assert cached.ctx.credentials.unknown_entries == 1
    cached.ctx.credentials.forget(ak)
    assert cached.ctx.credentials.unknown_entries == cached.ctx.credentials.unknown_bytes == 0
    ok = await _send(cached.app, _sign(_build(), ak, sk))
    assert ok.json()["resultCode"] == "0200000"


async def test_an_oversized_authorization_header_is_refused_without_a_lookup(api: Api) -> None:
    lookups = _CountingLookups(api.ctx)
    tenant = api.tenants[1]
    request = _sign(_build(), tenant.ak, tenant.sk)
    request.headers["Authorization"] += "A" * 4096
    _assert_401(await _send(api.app, request), "longer than 4096 characters")
    assert lookups.calls == 0


async def test_more_signed_headers_than_allowed_are_refused_without_a_lookup(api: Api) -> None:
    lookups = _CountingLookups(api.ctx)
    tenant = api.tenants[1]
    extra = {f"x-h{i:02d}": "v" for i in range(62)}  # with the 3 usual ones: 65
    request = _sign(
        _build(headers=extra),
        tenant.ak,
        tenant.sk,
        signed_headers=(*signing.DEFAULT_SIGNED_HEADERS, *extra),
    )
    _assert_401(await _send(api.app, request), "more than 64 signed headers")
    assert lookups.calls == 0
    # 64 are fine
    fine = _sign(
        _build(headers={k: v for k, v in extra.items() if k != "x-h61"}),
        tenant.ak,
        tenant.sk,
        signed_headers=(*signing.DEFAULT_SIGNED_HEADERS, *extra),
    )
    assert (await _send(api.app, fine)).json()["resultCode"] == "0200000"


# -- 2. signed headers are found in one pass over the request's headers ------------------


class _Name(bytes):
    """A raw header name that counts how often it is compared."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        _Name.compared += 1
        return bytes.__eq__(self, other)  # type: ignore[arg-type]

    __hash__ = bytes.__hash__


class _Credentials:
    def __init__(self, ak: str, sk: str) -> None:
        self._credential = Credential(ak, sk, frozenset({1}), revoked=False)

    async def lookup(self, ak: str) -> Credential | None:
        return self._credential if ak == self._credential.ak else None


async def test_finding_n_signed_headers_compares_header_names_linearly_not_n_squared() -> None:
    n = 400
    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    headers = {
        "host": "testserver:8443",
        "content-type": JSON_TYPE,
        "content-length": str(len(BODY)),
    }
    headers |= {f"x-h{i:03d}": str(i) for i in range(n)}
    wire = signing.Request("POST", PATH, "", headers, BODY)
    headers["authorization"] = signing.sign(
        wire,
        ak="ak-linear",
        sk="sk-linear-0123456789",
        timestamp=signing.format_timestamp(now),
        signed_headers=tuple(headers),
    )
    scope = {
        "type": "http",
        "method": "POST",
        "path": PATH,
        "query_string": b"",
        "headers": [(_Name(k.encode()), v.encode()) for k, v in headers.items()],
    }
    ctx = SimpleNamespace(
        settings=Settings(auth_max_signed_headers=n + 10, auth_max_header_length=100_000),
        credentials=_Credentials("ak-linear", "sk-linear-0123456789"),
        clock=FixedClock(now),
        replay=MemoryReplayGuard(),
    )
    _Name.compared = 0
    vdn_id, ak, _ = await authenticate(cast(AppContext, ctx), Request(scope), BODY, "1")
    assert (vdn_id, ak) == (1, "ak-linear")
    assert _Name.compared <= 4 * n  # a scan per signed header would be about n * n / 2


# -- 3. one Host, one Content-Type, ...; content-type signed with a body -----------------


def _with_extra_header(request: httpx.Request, name: bytes, value: bytes) -> httpx.Request:
    """``request`` with one more raw header line (httpx keeps repeated headers as sent)."""
    return httpx.Request(
        request.method,
        request.url,
        headers=[*request.headers.raw, (name, value)],
        content=request.content,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (b"Host", b"evil.example:8443"),
        (b"Content-Type", b"text/plain"),
        (b"Content-Length", b"33"),
        (b"Authorization", b"auth-v2/x/2026-01-01T00:00:00Z/host/abc"),
    ],
)
async def test_a_repeated_host_content_type_length_or_authorization_is_refused(
    api: Api, name: bytes, value: bytes
) -> None:
    tenant = api.tenants[1]
    signed = _sign(_build(), tenant.ak, tenant.sk)
    response = await _send(api.app, _with_extra_header(signed, name, value))
    _assert_401(response, f"more than one {name.decode().lower()!r} header")


async def test_a_repeated_signed_header_is_refused(api: Api) -> None:
    tenant = api.tenants[1]
    signed = _sign(
        _build(headers={"x-tenant": "a"}),
        tenant.ak,
        tenant.sk,
        signed_headers=(*signing.DEFAULT_SIGNED_HEADERS, "x-tenant"),
    )
    response = await _send(api.app, _with_extra_header(signed, b"x-tenant", b"b"))
    _assert_401(response, "more than one 'x-tenant' header")


async def test_an_unsigned_repeated_header_is_harmless(api: Api) -> None:
    tenant = api.tenants[1]
    signed = _sign(_build(headers={"Accept": "application/json"}), tenant.ak, tenant.sk)
    response = await _send(api.app, _with_extra_header(signed, b"Accept", b"text/plain"))
    assert response.json()["resultCode"] == "0200000"


async def test_a_body_with_an_unsigned_content_type_is_refused(api: Api) -> None:
    tenant = api.tenants[1]
    request = _sign(_build(), tenant.ak, tenant.sk, signed_headers=("content-length", "host"))
    request.headers["Content-Type"] = "text/plain"  # not signed, so changeable in transit
    _assert_401(
        await _send(api.app, request), "content-type must be a signed header of a request with"
    )


async def test_a_request_without_a_body_may_sign_host_alone(api: Api) -> None:
    tenant = api.tenants[1]
    request = httpx.Request(
        "GET",
        BASE_URL + "/rest/isales/v1/openapi/campaigns/1/queryBusinessResults?pageSize=5&pageNum=1",
    )
    _sign(request, tenant.ak, tenant.sk, signed_headers=("host",))
    assert (await _send(api.app, request)).json()["resultCode"] == "0200000"


# -- 4. a database outage answers the operation's storage code, never a 500 --------------


def _unreachable(ctx: AppContext, tmp_path: Any) -> str:
    if ctx.engine.dialect.name == "postgresql":
        return "postgresql+asyncpg://postgres@127.0.0.1:9/none"  # nothing listens on port 9
    return f"sqlite+aiosqlite:///{tmp_path}/no/such/directory/x.db"


@pytest.mark.parametrize(("path", "code"), [(WRITE_BACK, "0200999"), (PATH, "0200006")])
async def test_a_credential_lookup_without_a_database_answers_the_storage_code(
    api: Api, tmp_path: Any, path: str, code: str
) -> None:
    dead = create_engine(_unreachable(api.ctx, tmp_path))
    ctx = dataclasses.replace(api.ctx, credentials=CredentialCache(dead, Vault(MASTER_KEY), 0.0))
    app = create_app(api.ctx.settings, context=ctx)
    tenant = api.tenants[1]
    body = b'{"busiResult": "X"}' if path == WRITE_BACK else BODY
    try:
        response = await _send(app, _sign(_build(path, body), tenant.ak, tenant.sk))
    finally:
        await dead.dispose()
    assert response.status_code == 200, response.text
    assert response.json()["resultCode"] == response.json()["returnCode"] == code


async def test_a_replay_check_without_a_database_answers_the_storage_code(
    api: Api, tmp_path: Any
) -> None:
    dead = create_engine(_unreachable(api.ctx, tmp_path))
    ctx = dataclasses.replace(api.ctx, replay=SqlReplayGuard(dead))
    app = create_app(api.ctx.settings, context=ctx)
    tenant = api.tenants[1]
    try:
        response = await _send(app, _sign(_build(), tenant.ak, tenant.sk))
    finally:
        await dead.dispose()
    assert response.status_code == 200, response.text
    assert response.json()["resultCode"] == "0200006"


# -- 5. the default replay guard is shared whenever several processes may serve ----------


async def test_the_default_guard_refuses_a_replay_sent_to_another_process(api: Api) -> None:
    settings: Settings = api.ctx.settings
    assert settings.replay_guard == ""  # the default
    if settings.embedded:
        pytest.skip("the embedded database is served by one process (memory guard)")
    other = build_context(settings)
    try:
        tenant = api.tenants[1]
        request = _sign(_build(), tenant.ak, tenant.sk)
        copy = httpx.Request(
            "POST", request.url, headers=request.headers.raw, content=request.content
        )
        first = await _send(api.app, request)
        assert first.json()["resultCode"] == "0200000"
        again = await _send(create_app(settings, context=other), copy)
    finally:
        await other.close()
    _assert_401(again, "replayed")
