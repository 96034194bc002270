"""An integrator's client, written from Huawei's pages alone, runs a whole campaign.

Nothing here comes from ``openisales.auth.signing`` or ``openisales.client``:
the signer below is a literal transcription of the published C2 algorithm
(the hex profile of ``../shared/spec/isales-openapi.md`` §1), and requests are
encoded the way Python's ``requests`` encodes them (``urlencode``: a space in
a query value becomes ``+``; ``json.dumps`` with its default separators;
``Content-Type: application/json``). Bodiless GETs are sent without
``Content-Length`` although it is signed, as Go's net/http does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urlencode

import httpx
import pytest

from tests.conftest import BASE_URL, Api

HOST = "testserver:8443"


def _normalize(text: str) -> str:
    return quote(text, safe="-_.~")


def _canonical_query(raw: str) -> str:
    pairs = []
    for part in raw.split("&"):
        if part:
            key, _, value = part.partition("=")
            key, value = unquote(key.replace("+", " ")), unquote(value.replace("+", " "))
            pairs.append(f"{_normalize(key)}={_normalize(value)}")
    return "&".join(sorted(pairs))


def _authorization(
    ak: str, sk: str, method: str, path: str, query: str, headers: dict[str, str], body: str
) -> str:
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    names = sorted(headers)
    signed = ";".join(names)
    prefix = f"auth-v2/{ak}/{timestamp}/{signed}"
    canonical = "\n".join(
        [
            method,
            path,
            _canonical_query(query),
            signed,
            "\n".join(f"{_normalize(n)}:{_normalize(headers[n].strip())}" for n in names),
            _normalize(body) if body else "",
        ]
    )
    key = hmac.new(sk.encode(), prefix.encode(), hashlib.sha256).hexdigest()
    signature = hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return f"{prefix}/{signature}"


class Integrator:
    """What a customer would write in an afternoon from the documentation."""

    def __init__(self, api: Api, vdn_id: int = 1) -> None:
        tenant = api.tenants[vdn_id]
        self.ak, self.sk, self.vdn = tenant.ak, tenant.sk, vdn_id
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app))

    async def call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> dict[str, Any]:
        query = urlencode(params or {})
        text = json.dumps(body) if body is not None else ""
        headers = {"host": HOST, "content-length": str(len(text.encode()))}
        sent = {"Host": HOST}
        if body is not None:
            headers["content-type"] = "application/json"
            sent |= {
                "Content-Type": "application/json",
                "Content-Length": headers["content-length"],
            }
        auth = _authorization(self.ak, self.sk, method, path, query, headers, text)
        request = httpx.Request(
            method,
            f"{BASE_URL}{path}" + (f"?{query}" if query else ""),
            headers={**sent, "Authorization": auth},
            content=text.encode() if text else None,
        )
        assert "content-length" not in request.headers or body is not None
        response = await self.http.send(request)
        assert response.headers["content-type"].startswith("application/json"), response.text
        return dict(response.json())

    def base(self, version: int = 1) -> str:
        return f"/rest/isales/v{version}/openapi/campaigns/{self.vdn}"

    async def aclose(self) -> None:
        await self.http.aclose()


def _ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["resultCode"] == "0200000", reply
    return reply


def _campaign(name: str, *, v2: bool) -> dict[str, Any]:
    today = datetime.now(UTC)
    body: dict[str, Any] = {
        "name": name,
        "description": "Mother's day & Q&A follow-up",
        "strBeginTime": today.strftime("%Y-%m-%d 00:00:00"),
        "strEndTime": (today + timedelta(days=20)).strftime("%Y-%m-%d 23:59:59"),
        "deviceType": 2,
        "callerNo": [{"accessCode": "88889527", "priority": 1}] if v2 else "88889527",
        "maxAlertingTime": 30,
        "scheduleParam": {"workdayBeginTime1": "00:00", "workdayEndTime1": "23:59"},
        "skillParam": {"skillId": 2, "skillName": "Sales", "outBoundType": 2},
        "retryPolicy": {
            "policyType": 0,
            "busiPolicy": [
                {"busiResultCode": "LATER", "busiResultPolicy": 2, "callInterval": 3600},
                {"busiResultCode": "SOLD", "busiResultPolicy": 0},
            ],
        },
    }
    if v2:
        body["retryPolicy"]["policyJson"] = json.dumps(
            [{"type": 0, "policy": {"retryDay": 1, "retryTimes": 2}}]
        )
    return body


@pytest.fixture
async def integrator(api: Api) -> Any:
    client = Integrator(api)
    yield client
    await client.aclose()


async def test_a_whole_campaign_through_an_independent_client(integrator: Integrator) -> None:
    c = integrator
    # business results
    for code, children in (("SOLD", []), ("LATER", [{"name": "Call me later", "code": "L1"}])):
        name = "Sold out" if code == "SOLD" else "Call back"
        _ok(
            await c.call(
                "POST",
                f"{c.base()}/addBusinessResult",
                body={"name": name, "code": code, "children": children},
            )
        )
    listed = _ok(
        await c.call(
            "GET", f"{c.base()}/queryBusinessResults", params={"pageSize": 10, "pageNum": 1}
        )
    )
    assert "SOLD" in json.dumps(listed)

    # a campaign through v1 and one through v2
    v1 = _ok(await c.call("POST", c.base(1), body=_campaign("Spring sale", v2=False)))
    v2 = _ok(await c.call("POST", c.base(2), body=_campaign("Summer sale", v2=True)))
    v1_id, v2_id = int(v1["returnObject"]["id"]), int(v2["returnObject"]["id"])

    # call data, v1 (one number per record) and v2 (several typed numbers)
    added = _ok(
        await c.call(
            "POST",
            f"{c.base(1)}/calldata/{v1_id}",
            body={"callDataList": [{"called": "13800000001"}, {"called": "13800000002"}]},
        )
    )
    first, second = (d["dataId"] for d in added["returnObject"]["dataIdList"])
    _ok(
        await c.call(
            "POST",
            f"{c.base(2)}/calldata/{v2_id}",
            body={
                "callDataList": [
                    {
                        "called": [
                            {"calledNo": "13900000001", "type": "MOBILE"},
                            {"calledNo": "02100000001", "type": "HOME"},
                        ]
                    }
                ]
            },
        )
    )

    # the seed's write-back, then a retry by business result
    _ok(
        await c.call(
            "POST",
            f"{c.base()}/callBusiResult/{first}",
            body={"busiResult": "SOLD", "busiResultDesc": "paid", "workNo": "2033"},
        )
    )
    _ok(
        await c.call(
            "POST",
            f"{c.base()}/callBusiResult/{second}",
            body={"busiResult": "LATER", "subStatus": "L1", "workNo": "2033"},
        )
    )

    # reading back: campaigns by a name with a space, call results, statistics
    found = _ok(await c.call("GET", c.base(), params={"name": "Spring sale"}))
    assert "Spring sale" in json.dumps(found)
    _ok(await c.call("GET", f"{c.base()}/{v1_id}"))
    results = _ok(await c.call("POST", f"{c.base()}/callresult/{v1_id}", body={}))
    assert results is not None
    stats = _ok(await c.call("GET", f"{c.base(2)}/statistics", params={"campaignId": v1_id}))
    assert stats is not None
    now = datetime.now(UTC)
    window = {
        "campaignId": v1_id,
        "beginTime": (now - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S"),
        "endTime": (now + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
    }
    _ok(await c.call("GET", f"{c.base()}/failcategorystatistics", params=window))


async def test_a_space_encoded_as_plus_or_as_percent_20_verifies(integrator: Integrator) -> None:
    c = integrator
    _ok(await c.call("POST", c.base(1), body=_campaign("Autumn sale", v2=False)))
    plus = await c.call("GET", c.base(), params={"name": "Autumn sale"})  # name=Autumn+sale
    assert plus["resultCode"] == "0200000", plus
    assert "Autumn sale" in json.dumps(plus)
