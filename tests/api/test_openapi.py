"""The document is the contract: every operation's real answers match what it declares.

One walk sends every operation once, with its declared example request (ids
and times swapped for the walk's own), and validates each success answer with
``jsonschema`` against the operation's 200 schema in ``/openapi.json``: a
handler that adds, drops or retypes a field without its declaration fails
here. The other tests hold the document itself to its rules: every field
described, every example accepted by the operation's own checks, the error
statuses declared, the probes and a trailing slash answered with the envelope.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jsonschema
import pytest

from openisales.api.app import all_operations
from openisales.api.endpoint import Operation
from openisales.api.health import PROBES
from openisales.api.openapi import build
from openisales.client import AsyncClient, C2Auth
from openisales.clock import FixedClock
from openisales.domain.appointment import to_ms
from openisales.store.engine import create_engine
from openisales.validation import query_params
from tests.conftest import Api

OPERATIONS = {op.handler.__name__: op for op in all_operations()}
DOCUMENT = build(OPERATIONS.values(), PROBES)
V1 = "/rest/isales/v1/openapi/campaigns/1"
# 11:00 in the VDNs' Asia/Shanghai: inside the examples' calling slots.
START = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)
TIME = "%Y-%m-%d %H:%M:%S"


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = DOCUMENT
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def success_schema(op: Operation) -> dict[str, Any]:
    """The success branch of the operation's declared HTTP 200 answer."""
    answer = DOCUMENT["paths"][op.path][op.method.lower()]["responses"]["200"]
    success, _error = answer["content"]["application/json"]["schema"]["oneOf"]
    return _resolve(success)


def answer_schema(path: str, method: str, status: int) -> dict[str, Any]:
    answer = _resolve(DOCUMENT["paths"][path][method]["responses"][str(status)])
    return _resolve(answer["content"]["application/json"]["schema"])


def _schemas(schema: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property and array item of ``schema``, with its dotted path."""
    if not isinstance(schema, dict):
        return
    for name, sub in schema.get("properties", {}).items():
        yield f"{where}.{name}", sub
        yield from _schemas(sub, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield f"{where}[]", schema[key]
            yield from _schemas(schema[key], f"{where}[]")
    for i, sub in enumerate(schema.get("oneOf", [])):
        yield from _schemas(sub, f"{where}|{i}")


def test_every_request_and_response_field_is_described() -> None:
    missing = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            missing += [
                f"{where} {p['in']} {p['name']}"
                for p in operation.get("parameters", [])
                if not p.get("description")
            ]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                missing += [
                    f"{where} body{name}"
                    for name, sub in _schemas(body["schema"], "")
                    if not sub.get("description")
                ]
    for name, schema in DOCUMENT["components"]["schemas"].items():
        missing += [f"{name}{p}" for p, sub in _schemas(schema, "") if not sub.get("description")]
    assert missing == []


def test_every_schema_is_valid_json_schema_and_every_object_is_closed() -> None:
    schemas = list(DOCUMENT["components"]["schemas"].items())
    schemas += [
        (name, response["content"]["application/json"]["schema"])
        for name, response in DOCUMENT["components"]["responses"].items()
    ]
    open_objects = []
    for name, schema in schemas:
        jsonschema.Draft202012Validator.check_schema(schema)
        for path, sub in [("", schema), *_schemas(schema, "")]:
            if "properties" in sub and sub.get("additionalProperties") is not False:
                open_objects.append(name + path)
    assert open_objects == []


def test_every_operation_declares_the_statuses_the_server_can_answer() -> None:
    for op in OPERATIONS.values():
        responses = DOCUMENT["paths"][op.path][op.method.lower()]["responses"]
        assert set(responses) == {"200", "401", "404", "405", "408", "413", "431", "500", "503"}
    assert answer_schema(OPERATIONS["list_campaigns"].path, "get", 401)["properties"]["resultCode"][
        "enum"
    ] == ["0200401"]
    internal = answer_schema(OPERATIONS["call_busi_result"].path, "post", 500)
    assert internal["properties"]["resultCode"]["enum"] == ["0200006", "0200999"]
    assert "requestId" in internal["required"]


def test_every_example_passes_its_operations_checks() -> None:
    for name, op in OPERATIONS.items():
        item = DOCUMENT["paths"][op.path][op.method.lower()]
        if op.body is not None:
            assert op.example is not None, name
            op.body.check(copy.deepcopy(op.example), "")  # raises ParamError when refused
            content = item["requestBody"]["content"]["application/json"]
            _validator(content["schema"]).validate(op.example)
            assert content["examples"]["example"]["value"] == op.example
        elif op.query:
            assert op.example is not None, name
            query_params(op.query, {k: str(v) for k, v in op.example.items()})
            for param in item["parameters"]:
                if param["in"] == "query" and param["name"] in op.example:
                    value = param["examples"]["example"]["value"]
                    _validator(param["schema"]).validate(value)
        else:
            assert op.example is None, name


# The walk -------------------------------------------------------------------


@dataclass
class Walk:
    client: AsyncClient
    clock: FixedClock
    seen: set[str]

    async def send(
        self,
        name: str,
        *,
        ids: dict[str, Any] | None = None,
        change: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """The operation's example with ``change`` applied and ``drop`` removed; its
        success answer, checked against the declared success schema."""
        op = OPERATIONS[name]
        example = {k: v for k, v in (op.example or {}).items() if k not in drop}
        example.update(change or {})
        path = op.path.format(vdnId=1, **(ids or {}))
        if op.body is not None:
            response = await self.client.request(op.method, path, example)
        else:
            response = await self.client.request(op.method, path, params=example or None)
        assert response.status_code == 200, (name, response.text)
        reply: dict[str, Any] = response.json()
        assert reply["resultCode"] == "0200000", (name, reply)
        errors = [
            f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in _validator(success_schema(op)).iter_errors(reply)
        ]
        assert errors == [], (name, errors)
        self.seen.add(name)
        return reply


@pytest.fixture
async def walk(api: Api) -> AsyncIterator[Walk]:
    clock = FixedClock(START)
    api.ctx.clock = clock
    client = api.client()
    tenant = api.tenants[1]
    ms = iter(range(1, 1_000_000))
    client.http.auth = C2Auth(
        tenant.ak, tenant.sk, now=lambda: clock.now() + timedelta(milliseconds=next(ms))
    )
    async with client:
        yield Walk(client, clock, set())


async def test_every_operation_answers_what_it_declares(walk: Walk) -> None:
    now = walk.clock.now()
    dates = {
        "strBeginTime": now.strftime("%Y-%m-%d 00:00:00"),
        "strEndTime": (now + timedelta(days=30)).strftime("%Y-%m-%d 23:59:59"),
    }
    today = (now + timedelta(hours=8)).date()  # the VDN's day
    days = {"beginTime": str(today), "endTime": str(today + timedelta(days=1))}
    send = walk.send

    await send("add_business_result")
    results = await send("query_business_results")
    await send("create_obs_result")
    v1 = (await send("create_campaign_v1", change=dates))["returnObject"]["id"]
    cid = (await send("create_campaign_v2", change=dates))["returnObject"]["id"]
    one = {"campaignId": cid}
    listed = await send("list_campaigns")
    await send("campaign_detail", ids=one)
    await send("modify_campaign_v1", ids={"campaignId": v1}, change=dates)
    await send("modify_campaign_v2", ids=one, change=dates)
    await send("set_retry_policy", ids=one)
    await send("query_retry_policy", ids=one)
    await send("add_caller_numbers", ids=one)
    await send("delete_caller_numbers", ids=one)
    await send("set_dialing", ids=one)
    await send("get_dialing", ids=one)
    added = await send("add_call_data", ids=one)
    await send("add_call_data_v2", ids=one)
    data_id = added["returnObject"]["dataIdList"][0]["dataId"]
    await send("query_call_data", ids={**one, "dataId": data_id})

    # A reserved call pulled by its agent, answered, written back: a completed record.
    due = now + timedelta(minutes=20)
    created = await send(
        "create_appointment",
        change={"taskId": cid, "appointTime": to_ms(now + timedelta(minutes=10))},
    )
    appoint_id = created["returnObject"]["appointId"]
    await send("update_appointment", change={"appointId": appoint_id, "appointTime": to_ms(due)})
    walk.clock.set(due)
    task = (await send("agent_next", change=one))["data"]
    assert task is not None
    at = walk.clock.now()
    reported = await send(
        "attempt_result",
        change={
            "attemptId": task["attemptId"],
            "ringTime": (at - timedelta(seconds=60)).strftime(TIME),
            "answerTime": (at - timedelta(seconds=50)).strftime(TIME),
            "endTime": at.strftime(TIME),
        },
    )
    assert reported["next"] == "await"
    await send("call_busi_result", ids={"dataId": task["dataId"]})
    await send("update_appointment_result", change={"appointId": appoint_id})
    appointments = await send("list_appointments", change={"taskId": cid})

    final = await send("query_call_results", ids=one, change=days, drop=("customField",))
    counts = await send("campaign_statistics", change={"campaignId": str(cid)})
    fails = await send(
        "fail_category_statistics",
        change={"campaignId": str(cid), "startDate": str(today), "endDate": str(today)},
    )
    await send("add_blocklist")
    blocked = await send("query_blocklist")
    await send("delete_blocklist")
    display = await send("query_obs_results")
    await send("query_obs_result_codes")
    await send("delete_obs_result", ids={"defId": display["data"][0]["defId"]})
    await send("add_holidays")
    await send("list_holidays")
    await send("delete_holidays")

    await send("pause_campaign", ids=one)
    await send("delete_call_data", ids=one)
    await send("resume_campaign", ids=one)
    await send("pause_campaign", ids=one)
    await send("delete_campaign", ids=one)

    assert walk.seen == set(OPERATIONS)
    # The lists' items were there to be checked, not only the lists.
    for reply in (results, listed, appointments, final, fails, blocked, display):
        assert reply["data"], reply
    assert results["data"][0]["children"]
    assert counts["countDetail"][0]["batchDetail"]
    assert final["data"][0]["dataId"] == task["dataId"]


# Outside the operations -----------------------------------------------------


async def test_the_probes_answer_the_envelope_they_declare(api: Api) -> None:
    async with api.client() as client:
        for probe in PROBES:
            response = await client.http.get(probe.path)
            assert response.status_code == 200
            _validator(answer_schema(probe.path, "get", 200)).validate(response.json())
        healthy = (await client.http.get("/healthz")).json()
    assert healthy == {
        "resultCode": "0200000",
        "resultDesc": "ok",
        "returnCode": "0200000",
        "returnDesc": "ok",
        "status": "ok",
    }


async def test_readyz_answers_503_with_the_envelope_without_its_database(
    api: Api, tmp_path: Any
) -> None:
    working = api.ctx.engine
    api.ctx.engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    try:
        async with api.client() as client:
            response = await client.http.get("/readyz")
    finally:
        await api.ctx.engine.dispose()
        api.ctx.engine = working
    assert response.status_code == 503
    body = response.json()
    assert (body["resultCode"], body["status"]) == ("0200006", "database unavailable")
    _validator(answer_schema("/readyz", "get", 503)).validate(body)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", V1 + "/queryBusinessResults/?pageSize=10&pageNum=1", None),
        ("POST", V1 + "/addBusinessResult/", {"name": "Sale"}),
        ("POST", V1 + "/callBusiResult/42/", {"busiResult": "X"}),
        ("GET", "/healthz/", None),
    ],
)
async def test_a_trailing_slash_is_answered_404_with_the_envelope_not_redirected(
    api: Api, method: str, path: str, body: Any
) -> None:
    async with api.client() as client:
        client.http.follow_redirects = False
        target, _, query = path.partition("?")
        params = dict(p.split("=") for p in query.split("&")) if query else None
        response = await client.request(method, target, body, params)
    assert response.status_code == 404, response.headers
    assert "location" not in response.headers
    reply = response.json()
    assert reply["resultCode"] == reply["returnCode"] == "0200404"
    _validator(answer_schema(OPERATIONS["list_campaigns"].path, "get", 404)).validate(reply)


async def test_the_served_document_is_the_built_one(api: Api) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="https://testserver"
    ) as http:
        served = (await http.get("/openapi.json")).json()
    assert served == DOCUMENT
