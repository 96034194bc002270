"""Every failure of C2 is HTTP 401 with an envelope that says what failed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from openisales.client import JSON_TYPE, C2Auth
from openisales.services import admin
from openisales.services.audit import CLI
from tests.conftest import Api

PATH = "/rest/isales/v1/openapi/campaigns/{vdn}/addBusinessResult"
BODY = json.dumps({"name": "Sold", "code": "SOLD"}).encode()


def _request(
    api: Api,
    vdn: int = 1,
    body: bytes = BODY,
    content_type: str = JSON_TYPE,
    path: str | None = None,
) -> httpx.Request:
    http = api.client(vdn).http
    return http.build_request(
        "POST", path or PATH.format(vdn=vdn), content=body, headers={"Content-Type": content_type}
    )


def _signed(
    api: Api,
    request: httpx.Request,
    vdn: int = 1,
    *,
    profile: str = "hex",
    now: datetime | None = None,
) -> httpx.Request:
    tenant = api.tenants[vdn]
    auth = C2Auth(
        tenant.ak,
        tenant.sk,
        profile=profile,  # type: ignore[arg-type]
        now=(lambda: now) if now else None,
    )
    request.headers["Authorization"] = auth.authorization(request)
    return request


async def _send(api: Api, request: httpx.Request) -> httpx.Response:
    return await api.client().http.send(request, auth=None)


def _assert_401(response: httpx.Response, reason: str, api: Api) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["resultCode"] == body["returnCode"] == "0200401"
    assert reason in body["resultDesc"]
    for tenant in api.tenants.values():
        assert tenant.sk not in response.text


@pytest.mark.parametrize("profile", ["hex", "base64"])
@pytest.mark.parametrize(
    "content_type", ["application/json; charset=UTF-8", "application/json;charset=UTF-8"]
)
async def test_a_signed_request_passes_with_either_profile_and_content_type(
    api: Api, profile: str, content_type: str
) -> None:
    response = await _send(
        api, _signed(api, _request(api, content_type=content_type), profile=profile)
    )
    assert response.status_code == 200
    assert response.json()["resultCode"] == "0200000"


async def test_missing_authorization(api: Api) -> None:
    _assert_401(await _send(api, _request(api)), "missing Authorization header", api)


async def test_malformed_authorization(api: Api) -> None:
    request = _request(api)
    request.headers["Authorization"] = "Basic dXNlcjpwYXNz"
    _assert_401(await _send(api, request), "malformed Authorization header", api)


async def test_unknown_ak(api: Api) -> None:
    request = _request(api)
    auth = C2Auth("nobody-knows-me", "some-secret-key-123")
    request.headers["Authorization"] = auth.authorization(request)
    _assert_401(await _send(api, request), "unknown AK", api)


async def test_revoked_ak(api: Api) -> None:
    await admin.revoke_key(api.ctx.engine, ak=api.tenants[1].ak, now=datetime.now(UTC), actor=CLI)
    _assert_401(await _send(api, _signed(api, _request(api))), "revoked", api)


async def test_tampered_body(api: Api) -> None:
    request = _signed(api, _request(api))
    tampered = _request(api, body=BODY.replace(b"Sold", b"Gold"))
    tampered.headers["Authorization"] = request.headers["Authorization"]
    _assert_401(await _send(api, tampered), "signature does not match", api)


async def test_tampered_path_to_another_vdn(api: Api) -> None:
    request = _signed(api, _request(api))
    moved = _request(api, path=PATH.format(vdn=2))
    moved.headers["Authorization"] = request.headers["Authorization"]
    _assert_401(await _send(api, moved), "signature does not match", api)


async def test_wrong_sk(api: Api) -> None:
    request = _request(api)
    auth = C2Auth(api.tenants[1].ak, api.tenants[2].sk)
    request.headers["Authorization"] = auth.authorization(request)
    _assert_401(await _send(api, request), "signature does not match", api)


@pytest.mark.parametrize("skew", [timedelta(minutes=16), -timedelta(minutes=16)])
async def test_expired_or_future_timestamp(api: Api, skew: timedelta) -> None:
    request = _signed(api, _request(api), now=datetime.now(UTC) - skew)
    _assert_401(await _send(api, request), "outside the allowed window", api)


async def test_replayed_signature_is_refused(api: Api) -> None:
    request = _signed(api, _request(api))
    first = await _send(api, request)
    assert first.status_code == 200
    again = _request(api)
    again.headers["Authorization"] = request.headers["Authorization"]
    _assert_401(await _send(api, again), "replayed", api)


async def test_ak_not_allowed_for_the_vdn_in_the_path(api: Api) -> None:
    request = _request(api, path=PATH.format(vdn=2))
    request = _signed(api, request, vdn=1)
    _assert_401(await _send(api, request), "not allowed for VDN 2", api)


async def test_ak_for_an_unknown_vdn(api: Api) -> None:
    request = _signed(api, _request(api, path=PATH.format(vdn=77)))
    _assert_401(await _send(api, request), "not allowed for VDN 77", api)


@pytest.mark.parametrize(
    ("vdn", "code"),
    [("0", "02000007"), ("10000", "02000007"), ("abc", "02000006"), ("-1", "02000006")],
)
async def test_bad_vdn_in_a_well_signed_request(api: Api, vdn: str, code: str) -> None:
    request = _signed(api, _request(api, path=PATH.format(vdn=vdn)))
    response = await _send(api, request)
    assert response.status_code == 200
    assert response.json()["resultCode"] == code
    assert "vdnId" in response.json()["resultDesc"]


async def test_oversized_body_is_refused_before_auth(api: Api) -> None:
    limit = api.ctx.settings.max_body_bytes
    request = _signed(api, _request(api, body=b'{"name": "' + b"x" * limit + b'"}'))
    response = await _send(api, request)
    assert response.status_code == 413
    assert response.json()["resultCode"] == "0200413"


async def test_key_for_two_vdns_acts_for_both(api: Api) -> None:
    from openisales.auth.vault import Vault
    from tests.conftest import MASTER_KEY

    ak, sk = await admin.create_key(
        api.ctx.engine, Vault(MASTER_KEY), vdn_ids=[1, 2], now=datetime.now(UTC), actor=CLI
    )
    for vdn in (1, 2):
        async with api.client(vdn, ak=ak, sk=sk) as client:
            reply = await client.add_business_result({"name": f"R{vdn}", "code": f"R{vdn}"})
        assert reply["resultCode"] == "0200000"
