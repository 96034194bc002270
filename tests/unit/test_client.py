"""The Python client: envelopes returned as they are, or raised on refusal when asked."""

from __future__ import annotations

import json

import httpx
import pytest

from openisales.client import AsyncClient, Client, ResultError

REFUSED = {"resultCode": "0200033", "resultDesc": "The outbound call data does not exist."}
DONE = {"resultCode": "0200000", "resultDesc": "ok"}


def _transport(reply: dict[str, str], status: int = 200) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"].startswith("auth-v2/ak/")
        return httpx.Response(status, content=json.dumps(reply).encode())

    return httpx.MockTransport(answer)


def test_by_default_a_refusal_is_returned() -> None:
    http = httpx.Client(transport=_transport(REFUSED), base_url="https://x")
    with Client("https://x", "ak", "sk", vdn_id=1, http=http) as api:
        assert api.write_back("1", {"busiResult": "X"}) == REFUSED


def test_raise_for_result_raises_on_a_refusal_and_returns_success() -> None:
    http = httpx.Client(transport=_transport(REFUSED), base_url="https://x")
    with Client("https://x", "ak", "sk", vdn_id=1, http=http, raise_for_result=True) as api:
        with pytest.raises(ResultError) as raised:
            api.write_back("1", {"busiResult": "X"})
    assert raised.value.result_code == "0200033" and raised.value.status_code == 200
    assert str(raised.value) == "0200033 The outbound call data does not exist."
    ok = httpx.Client(transport=_transport(DONE), base_url="https://x")
    with Client("https://x", "ak", "sk", vdn_id=1, http=ok, raise_for_result=True) as api:
        assert api.write_back("1", {"busiResult": "X"}) == DONE


async def test_the_async_client_raises_alike_on_a_401() -> None:
    unauthorized = {"resultCode": "0200401", "resultDesc": "unknown AK"}
    http = httpx.AsyncClient(transport=_transport(unauthorized, 401), base_url="https://x")
    async with AsyncClient(
        "https://x", "ak", "sk", vdn_id=1, http=http, raise_for_result=True
    ) as api:
        with pytest.raises(ResultError) as raised:
            await api.query_business_results()
    assert raised.value.status_code == 401 and raised.value.result_code == "0200401"
