"""Python client for the openisales / CC-iSales OpenAPI, signed with C2.

``C2Auth`` is an ``httpx.Auth`` that signs every request; ``Client`` and
``AsyncClient`` wrap each endpoint and return the decoded JSON envelope
(``resultCode`` tells success ``0200000`` from a business error). With
``raise_for_result=True`` a non-success answer raises :class:`ResultError`
instead, so a script stops at the first refusal::

    with Client("https://127.0.0.1:8443", ak, sk, vdn_id=1, verify=False) as api:
        api.add_business_result({"name": "Sold", "code": "SOLD"})
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Generator
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import httpx

from openisales.auth import signing

JSON_TYPE = "application/json; charset=UTF-8"
SUCCESS = "0200000"
R = TypeVar("R")


class ResultError(Exception):
    """The server answered with a result code other than ``0200000``."""

    def __init__(self, reply: dict[str, Any], status_code: int) -> None:
        self.reply = reply
        self.status_code = status_code
        self.result_code = str(reply.get("resultCode"))
        self.result_desc = str(reply.get("resultDesc", ""))
        super().__init__(f"{self.result_code} {self.result_desc}")


def _answer(response: httpx.Response, raise_for_result: bool) -> Any:
    """The decoded envelope; :class:`ResultError` for a refusal when asked to raise."""
    reply = response.json()
    if raise_for_result and (not isinstance(reply, dict) or reply.get("resultCode") != SUCCESS):
        raise ResultError(reply if isinstance(reply, dict) else {}, response.status_code)
    return reply


class C2Auth(httpx.Auth):
    """Signs requests with ``auth-v2`` (profile ``hex`` or ``base64``)."""

    requires_request_body = True

    def __init__(
        self,
        ak: str,
        sk: str,
        *,
        profile: signing.Profile = "hex",
        now: Callable[[], datetime] | None = None,
        signed_headers: tuple[str, ...] = signing.DEFAULT_SIGNED_HEADERS,
    ) -> None:
        """``signed_headers``: the headers to sign, of those a request carries (lower case)."""
        self._ak = ak
        self._sk = sk
        self._profile = profile
        self._now = now or (lambda: datetime.now(UTC))
        self._signed_headers = signed_headers

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.authorization(request)
        yield request

    def authorization(self, request: httpx.Request) -> str:
        headers = {k.lower(): v for k, v in request.headers.items()}
        wire = signing.Request(
            method=request.method,
            path=request.url.path,
            query=request.url.query.decode("ascii"),
            headers=headers,
            body=request.content,
        )
        return signing.sign(
            wire,
            ak=self._ak,
            sk=self._sk,
            timestamp=signing.format_timestamp(self._now()),
            profile=self._profile,
            signed_headers=tuple(n for n in self._signed_headers if n in headers),
        )


def _base(vdn_id: int, version: int = 1) -> str:
    return f"/rest/isales/v{version}/openapi/campaigns/{vdn_id}"


def _prepare(method: str, body: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"headers": {"Content-Type": JSON_TYPE}}
    if body is not None:
        kwargs["content"] = json.dumps(body, ensure_ascii=False).encode()
    elif method in {"POST", "PUT"}:
        kwargs["content"] = b""
    return kwargs


class _Endpoints(Generic[R]):
    """The endpoint catalogue shared by the sync (R = JSON) and async (R = awaitable) clients."""

    vdn_id: int

    def _call(
        self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> R:
        raise NotImplementedError

    def add_business_result(self, definition: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/addBusinessResult", definition)

    def query_business_results(self, page_size: int = 50, page_num: int = 1) -> R:
        return self._call(
            "GET",
            f"{_base(self.vdn_id)}/queryBusinessResults",
            params={"pageSize": page_size, "pageNum": page_num},
        )

    # campaigns (spec 2.1)
    def create_campaign(self, campaign: dict[str, Any], *, version: int = 2) -> R:
        return self._call("POST", _base(self.vdn_id, version), campaign)

    def modify_campaign(self, campaign_id: int, campaign: dict[str, Any], *, version: int = 2) -> R:
        return self._call("PUT", f"{_base(self.vdn_id, version)}/{campaign_id}", campaign)

    def delete_campaign(self, campaign_id: int) -> R:
        return self._call("DELETE", f"{_base(self.vdn_id)}/{campaign_id}")

    def campaign_detail(self, campaign_id: int) -> R:
        return self._call("GET", f"{_base(self.vdn_id)}/{campaign_id}")

    def list_campaigns(self, **params: Any) -> R:
        return self._call("GET", _base(self.vdn_id), params=params or None)

    def pause_campaign(self, campaign_id: int) -> R:
        return self._call("PUT", f"{_base(self.vdn_id)}/{campaign_id}/pause")

    def resume_campaign(self, campaign_id: int) -> R:
        return self._call("PUT", f"{_base(self.vdn_id)}/{campaign_id}/resume")

    def set_retry_policy(self, campaign_id: int, policy: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/retryPolicy/{campaign_id}", policy)

    def query_retry_policy(self, campaign_id: int) -> R:
        return self._call("GET", f"{_base(self.vdn_id)}/retryPolicy/{campaign_id}")

    def add_caller_numbers(self, campaign_id: int, numbers: list[dict[str, Any]]) -> R:
        """``numbers``: ``[{"accessCode": "88880066", "priority": 1}, …]``."""
        path = f"{_base(self.vdn_id)}/callerNo/{campaign_id}"
        return self._call("POST", path, {"callerNo": numbers})

    def delete_caller_numbers(self, campaign_id: int, access_codes: list[str]) -> R:
        path = f"{_base(self.vdn_id)}/callerNo/{campaign_id}"
        return self._call("DELETE", path, {"callerNo": [{"accessCode": c} for c in access_codes]})

    # call data (spec 2.3)
    def add_call_data(
        self,
        campaign_id: int,
        records: list[dict[str, Any]],
        *,
        version: int = 1,
        batch_id: str | None = None,
    ) -> R:
        """``batch_id``: v2's top-level ``batchId``, the batch of every record."""
        body: dict[str, Any] = {"callDataList": records}
        if batch_id is not None:
            body["batchId"] = batch_id
        return self._call("POST", f"{_base(self.vdn_id, version)}/calldata/{campaign_id}", body)

    def query_call_data(self, campaign_id: int, data_id: int | str) -> R:
        return self._call("GET", f"{_base(self.vdn_id)}/calldata/{campaign_id}/{data_id}")

    # the write-back (spec 2.4)
    def write_back(self, data_id: int | str, result: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/callBusiResult/{data_id}", result)

    # display results and platform failure codes (spec 2.7)
    def create_obs_result(self, result: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/createObResult", result)

    def query_obs_results(self, page_size: int = 50, page_num: int = 1) -> R:
        return self._call(
            "GET",
            f"{_base(self.vdn_id)}/queryOBSResults",
            params={"pageSize": page_size, "pageNum": page_num},
        )

    def delete_obs_result(self, def_id: int | str) -> R:
        return self._call("DELETE", f"{_base(self.vdn_id)}/{def_id}/deleteObsResult")

    def query_obs_result_codes(self, page_size: int = 50, page_num: int = 1) -> R:
        return self._call(
            "GET",
            f"{_base(self.vdn_id)}/queryOBSResultCode",
            params={"pageSize": page_size, "pageNum": page_num},
        )

    # holiday calendar (ours)
    def add_holidays(self, holidays: list[dict[str, str]]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/holidays", {"holidays": holidays})

    def list_holidays(self, **params: Any) -> R:
        return self._call("GET", f"{_base(self.vdn_id)}/holidays", params=params or None)

    def delete_holidays(self, dates: list[str]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/holidays/delete", {"dates": dates})

    # dialing: attempt results from a CTI, agent preview pull (ours)
    def report_attempt(self, attempt: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/attemptResult", attempt)

    def set_dialing(self, campaign_id: int, settings: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/dialing/{campaign_id}", settings)

    def get_dialing(self, campaign_id: int) -> R:
        return self._call("GET", f"{_base(self.vdn_id)}/dialing/{campaign_id}")

    # results out (spec 2.5, 2.3)
    def query_call_results(self, campaign_id: int, query: dict[str, Any] | None = None) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/callresult/{campaign_id}", query or {})

    def statistics(self, campaign_id: int, batch_id: str | None = None) -> R:
        params: dict[str, Any] = {"campaignId": campaign_id}
        if batch_id is not None:
            params["batchId"] = batch_id
        return self._call("GET", f"{_base(self.vdn_id, 2)}/statistics", params=params)

    def fail_category_statistics(self, campaign_id: int, **params: Any) -> R:
        return self._call(
            "GET",
            f"{_base(self.vdn_id)}/failcategorystatistics",
            params={"campaignId": campaign_id, **params},
        )

    def delete_call_data(self, campaign_id: int, filters: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/calldata/{campaign_id}/delete", filters)

    # blocklist (spec 2.10)
    def add_blocklist(self, body: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/blocklist/add", body)

    def query_blocklist(self, body: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/blocklist/query", body)

    def delete_blocklist(self, body: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/blocklist/delete", body)

    # reserved (appointment) calls (spec 2.9)
    def create_appointment(self, body: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/appoint/create", body)

    def update_appointment(self, body: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/appoint/update", body)

    def update_appointment_result(self, body: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/appoint/updateResult", body)

    def list_appointments(self, body: dict[str, Any]) -> R:
        return self._call("POST", f"{_base(self.vdn_id)}/appoint/list", body)

    def pull_next(self, work_no: str, campaign_id: int | None = None) -> R:
        body: dict[str, Any] = {"workNo": work_no}
        if campaign_id is not None:
            body["campaignId"] = campaign_id
        return self._call("POST", f"{_base(self.vdn_id)}/agent/next", body)


class Client(_Endpoints[Any]):
    """Synchronous client; use as a context manager."""

    def __init__(
        self,
        base_url: str,
        ak: str,
        sk: str,
        *,
        vdn_id: int,
        profile: signing.Profile = "hex",
        http: httpx.Client | None = None,
        raise_for_result: bool = False,
        **httpx_options: Any,
    ) -> None:
        self.vdn_id = vdn_id
        self.raise_for_result = raise_for_result
        self.http = http or httpx.Client(base_url=base_url, **httpx_options)
        self.http.auth = C2Auth(ak, sk, profile=profile)

    def _call(
        self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        response = self.http.request(method, path, params=params, **_prepare(method, body))
        return _answer(response, self.raise_for_result)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class AsyncClient(_Endpoints[Awaitable[Any]]):
    """Asynchronous client: the same methods as :class:`Client`, awaited."""

    def __init__(
        self,
        base_url: str,
        ak: str,
        sk: str,
        *,
        vdn_id: int,
        profile: signing.Profile = "hex",
        http: httpx.AsyncClient | None = None,
        raise_for_result: bool = False,
        **httpx_options: Any,
    ) -> None:
        self.vdn_id = vdn_id
        self.raise_for_result = raise_for_result
        self.http = http or httpx.AsyncClient(base_url=base_url, **httpx_options)
        self.http.auth = C2Auth(ak, sk, profile=profile)

    async def request(
        self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await self.http.request(method, path, params=params, **_prepare(method, body))

    async def _call(
        self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        return _answer(await self.request(method, path, body, params), self.raise_for_result)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()
