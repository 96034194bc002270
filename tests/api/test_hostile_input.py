"""Hostile input through the signed client: every operation answers the envelope, never a 5xx.

The regressions of issue 10 first (null list items, deep nesting, integers past
int64, an unreachable id allocator, unexpected exceptions), then a sweep of
every declared operation with bodies, query strings and path ids built from
its own specs and made hostile one field at a time.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from openisales.api import envelope
from openisales.api.app import all_operations, create_app
from openisales.api.endpoint import Guard, Operation, request_id
from openisales.client import JSON_TYPE
from openisales.errors import SUCCESS, StorageError
from openisales.services import business_results, writeback
from openisales.store import tables
from openisales.store.engine import create_engine
from openisales.store.ids import IdAllocator
from openisales.validation import (
    BAD_VALUE,
    EMPTY,
    MAX_DEPTH,
    WRONG_TYPE,
    Any_,
    Int,
    List,
    Obj,
    Spec,
    Str,
)
from tests.conftest import BASE_URL, Api
from tests.helpers import add_numbers, define, make_campaign

V1 = "/rest/isales/v1/openapi/campaigns/1"
V2 = "/rest/isales/v2/openapi/campaigns/1"
ENVELOPE_KEYS = {"resultCode", "resultDesc", "returnCode", "returnDesc"}
OPERATIONS = all_operations()


def _is_envelope(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert isinstance(body, dict) and ENVELOPE_KEYS <= set(body), body
    assert body["resultCode"] == body["returnCode"]
    return body


async def _post(api: Api, path: str, raw: bytes, method: str = "POST") -> httpx.Response:
    async with api.client() as client:
        return await client.http.request(
            method, path, content=raw, headers={"Content-Type": JSON_TYPE}
        )


def _refusal(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 200, response.text
    body = _is_envelope(response)
    return body["resultCode"], body["resultDesc"].split(":")[0]


# 1. null where an object or a string is required ------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (V1 + "/calldata/{cid}", {"callDataList": [None]}, "callDataList[0]"),
        (V2 + "/calldata/{cid}", {"callDataList": [None]}, "callDataList[0]"),
        (
            V2 + "/calldata/{cid}",
            {"callDataList": [{"called": [None]}]},
            "callDataList[0].called[0]",
        ),
        (
            V1 + "/retryPolicy/{cid}",
            {"policyType": 0, "busiPolicy": [None]},
            "retryPolicy.busiPolicy[0]",
        ),
        (
            V1 + "/retryPolicy/{cid}",
            {"policyType": 0, "noRetryPolicy": [None]},
            "retryPolicy.noRetryPolicy[0]",
        ),
        (V1 + "/addBusinessResult", {"name": "A", "code": "A", "children": [None]}, "children[0]"),
        (V1 + "/holidays/delete", {"dates": [None]}, "dates[0]"),
        (V1 + "/blocklist/query", {"blocklist": [None]}, "blocklist[0]"),
    ],
)
async def test_a_null_list_item_is_an_empty_field(api: Api, path: str, body: Any, field: str):
    async with api.client() as client:
        cid = await make_campaign(client)
    response = await _post(api, path.format(cid=cid), json.dumps(body).encode())
    assert _refusal(response) == (EMPTY, field)


# 2. nesting deeper than the bound ----------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 970, 100_000])
async def test_deep_nesting_is_refused_as_a_wrong_type_without_a_traceback(
    api: Api, depth: int, caplog: pytest.LogCaptureFixture
) -> None:
    deep_list = b"[" * depth + b"]" * depth
    inner = b'{"a":' * (depth - 1) + b"1" + b"}" * (depth - 1)
    bodies = [
        deep_list,
        b'{"name":"A","code":"A","children":' + deep_list + b"}",
        b'{"name":"A","code":"A","x":' + inner + b"}",
    ]
    with caplog.at_level(logging.INFO):
        for raw in bodies:
            response = await _post(api, V1 + "/addBusinessResult", raw)
            assert _refusal(response) == (WRONG_TYPE, "body"), raw[:80]
    assert not [r for r in caplog.records if r.exc_info], caplog.text


async def test_nesting_within_the_bound_is_accepted(api: Api) -> None:
    inner: Any = 1
    for _ in range(MAX_DEPTH - 2):  # the body, skillParam, then MAX_DEPTH - 2 levels
        inner = {"a": inner}
    async with api.client() as client:
        cid = await make_campaign(client, skillParam={"skillId": 2, "deep": inner})
        detail = await client.campaign_detail(cid)
    assert detail["resultCode"] == SUCCESS


# 3. integers past int64 (or a field's own maximum) -----------------------------------


@pytest.mark.parametrize("value", [2**63, 2**64, -(2**63) - 1, 10**30])
@pytest.mark.parametrize(
    ("path", "make_body", "field"),
    [
        (V1 + "/agent/next", lambda v: {"workNo": "1", "campaignId": v}, "campaignId"),
        (V1 + "/blocklist/query", lambda v: {"offset": v}, "offset"),
        (
            V1 + "/retryPolicy/{cid}",
            lambda v: {
                "policyType": 1,
                "policyJson": json.dumps(
                    [
                        {
                            "type": 1,
                            "policy": [{"result": v, "retryNumber": 1, "callInterval": 1}],
                        }
                    ]
                ),
            },
            "retryPolicy.policyJson[0].policy[0].result",
        ),
        (
            V1 + "/appoint/list",
            lambda v: {"taskId": v},
            "taskId",
        ),
    ],
)
async def test_an_integer_past_int64_in_a_body_is_a_bad_value(
    api: Api, path: str, make_body: Any, field: str, value: int
) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
    response = await _post(api, path.format(cid=cid), json.dumps(make_body(value)).encode())
    assert _refusal(response) == (BAD_VALUE, field)


@pytest.mark.parametrize("page", ["999999999999999999", "1000000001", str(2**63)])
async def test_a_page_past_the_documented_maximum_is_refused(api: Api, page: str) -> None:
    async with api.client() as client:
        response = await client.http.get(
            V1 + "/queryBusinessResults", params={"pageSize": "50", "pageNum": page}
        )
    code, field = _refusal(response)
    assert field == "pageNum" and code in {BAD_VALUE, "0200007"}  # the operation's own code


@pytest.mark.parametrize("path", ["/queryOBSResults", "/queryOBSResultCode"])
async def test_a_page_far_past_the_end_is_empty(api: Api, path: str) -> None:
    async with api.client() as client:
        response = await client.http.get(
            V1 + path, params={"pageSize": "50", "pageNum": str(2**63 - 1)}
        )
    assert _refusal(response)[0] == SUCCESS


@pytest.mark.parametrize("text", ["99999999999999999999", "9223372036854775808", "-1", "1e3"])
async def test_a_query_integer_past_int64_or_malformed_is_a_field_error(api: Api, text: str):
    async with api.client() as client:
        response = await client.http.get(
            V1 + "/queryBusinessResults", params={"pageSize": "10", "pageNum": text}
        )
    code, field = _refusal(response)
    assert field == "pageNum" and code in {WRONG_TYPE, BAD_VALUE, "0200007"}


@pytest.mark.parametrize(
    "attempt_id",
    ["1:99999999999999999999", "99999999999999999999:1", "9223372036854775808:1", "1:2147483648"],
)
async def test_an_attempt_id_past_its_columns_is_refused(api: Api, attempt_id: str) -> None:
    body = {"attemptId": attempt_id, "failCode": "00000"}
    response = await _post(api, V1 + "/attemptResult", json.dumps(body).encode())
    assert _refusal(response)[1] == "attemptId"


@pytest.mark.parametrize("raw", ["9223372036854775808", "99999999999999999999", "-1", "x"])
@pytest.mark.parametrize(
    ("method", "template", "name"),
    [
        ("POST", V1 + "/callBusiResult/{}", "dataId"),
        ("GET", V1 + "/calldata/1/{}", "dataId"),
        ("GET", V1 + "/{}", "campaignId"),
        ("DELETE", V1 + "/{}/deleteObsResult", "defId"),
    ],
)
async def test_a_path_id_past_int64_is_a_wrong_type(
    api: Api, method: str, template: str, name: str, raw: str
) -> None:
    body = b'{"busiResult":"X"}' if method == "POST" else b""
    response = await _post(api, template.format(raw), body, method)
    assert _refusal(response) == (WRONG_TYPE, name)


# 4. the id allocator during an outage ------------------------------------------------


def _failing_url(dialect: str, tmp_path: Path) -> str:
    """PostgreSQL: a server that is not there. SQLite: a database without our tables.

    (A file SQLite cannot open would do, but aiosqlite's worker thread then
    outlives the test's event loop.)
    """
    if dialect == "postgresql":
        return "postgresql+asyncpg://postgres@127.0.0.1:1/unreachable"
    return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"


async def test_an_unreachable_id_store_fails_the_write_back_with_0200999(
    api: Api, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with api.client() as client:
        await define(client, "X", "X1")
        cid = await make_campaign(client)
        (data_id,) = await add_numbers(client, cid, "13800000001")
        gone = create_engine(_failing_url(api.ctx.engine.dialect.name, tmp_path))
        healthy, api.ctx.ids = api.ctx.ids, IdAllocator(gone)
        try:
            with caplog.at_level(logging.ERROR):
                response = await client.request(
                    "POST", f"{V1}/callBusiResult/{data_id}", {"busiResult": "X", "workNo": "1"}
                )
                added = await client.add_call_data(cid, [{"called": "13800000002"}])
        finally:
            api.ctx.ids = healthy
            await gone.dispose()
    assert response.status_code == 200
    assert _is_envelope(response)["resultCode"] == "0200999"
    assert added["resultCode"] == "0200006"
    assert "database operation failed" in caplog.text


async def test_the_allocator_translates_driver_errors(engine: AsyncEngine, tmp_path: Path) -> None:
    gone = create_engine(_failing_url(engine.dialect.name, tmp_path))
    try:
        with pytest.raises(StorageError) as raised:
            await IdAllocator(gone).take(1, "data")
    finally:
        await gone.dispose()
    assert raised.value.result_code == "0200006"


# 5. the top-level guard --------------------------------------------------------------


async def test_an_unexpected_error_in_an_operation_is_the_envelope_with_a_request_id(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(business_results, "query", broken)
    with caplog.at_level(logging.ERROR):
        async with api.client() as client:
            response = await client.http.get(
                V1 + "/queryBusinessResults", params={"pageSize": "1", "pageNum": "1"}
            )
    assert response.status_code == 500
    body = _is_envelope(response)
    assert body["resultCode"] == "0200006"
    request_id = body["requestId"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert response.headers["x-request-id"] == request_id
    (record,) = [r for r in caplog.records if r.exc_info]
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
    assert getattr(record, "requestId", None) == request_id
    assert request_id in record.getMessage()


async def test_an_unexpected_error_in_a_write_back_is_0200999(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr(writeback, "write_back", broken)
    async with api.client() as client:
        response = await client.request("POST", V1 + "/callBusiResult/1", {"busiResult": "X"})
    assert response.status_code == 500
    assert _is_envelope(response)["resultCode"] == "0200999"


async def test_routes_outside_the_operations_are_guarded_too(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(_request: Request) -> Response:
        raise RuntimeError("boom")

    async def teapot(_request: Request) -> Response:
        raise HTTPException(418, "short and stout")

    app = create_app(api.ctx.settings, context=api.ctx)
    app.router.add_route("/broken", broken, methods=["GET"])
    app.router.add_route("/teapot", teapot, methods=["GET"])
    transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.ERROR):
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            response = await http.get("/broken")
            missing = await http.get("/no/such/route")
            wrong = await http.delete("/healthz")
            other = await http.get("/teapot")
    assert response.status_code == 500
    body = _is_envelope(response)
    assert body["resultCode"] == "0200999" and body["requestId"] in caplog.text
    assert len([r for r in caplog.records if r.exc_info]) == 1
    assert missing.status_code == 404 and _is_envelope(missing)["resultCode"] == "0200404"
    assert wrong.status_code == 405 and _is_envelope(wrong)["resultCode"] == "0200405"
    assert "GET" in wrong.headers["allow"]
    assert other.status_code == 418 and _is_envelope(other)["resultDesc"] == "short and stout"


async def test_the_guard_is_the_whole_stack_and_added_middleware_runs_inside_it(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    class Failing:  # a middleware that fails on its way out
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)
            if scope["type"] == "http":
                seen.append(scope["path"])
                if scope["path"] == "/healthz":
                    raise RuntimeError("after the answer")

    app = create_app(api.ctx.settings, context=api.ctx)
    app.add_middleware(Failing)
    stack = app.build_middleware_stack()
    assert isinstance(stack, Guard) and isinstance(stack.app, Failing)
    assert stack.app.app is app.router  # nothing of Starlette's between: no plain-text answers
    transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.ERROR):
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            missing = await http.get("/no/such/route")
            health = await http.get("/healthz")
    assert missing.status_code == 404 and _is_envelope(missing)["resultCode"] == "0200404"
    assert health.status_code == 200  # answered before the failure, which is logged once
    assert seen == ["/healthz"]  # the 404 left the router as an exception, past the middleware
    assert len([r for r in caplog.records if r.exc_info]) == 1


def test_what_only_starlette_s_own_layers_would_honour_is_refused(api: Api) -> None:
    async def handler(_request: Request, _exc: Exception) -> Response:  # pragma: no cover
        raise AssertionError("never called")

    app = create_app(api.ctx.settings, context=api.ctx)
    app.add_exception_handler(KeyError, handler)
    with pytest.raises(TypeError, match="guard answers every exception"):
        app.build_middleware_stack()
    app = create_app(api.ctx.settings, context=api.ctx)
    app.debug = True
    with pytest.raises(TypeError):
        app.build_middleware_stack()


async def test_a_failure_after_the_answer_began_is_logged_once_and_ends_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def half(_scope: Any, _receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("half")

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}  # pragma: no cover - not read

    scope = {"type": "http", "method": "GET", "path": "/half", "headers": []}
    with caplog.at_level(logging.ERROR):
        await Guard(half)(scope, receive, send)  # no exception: it is logged
    (start,) = sent  # no second answer: the server ends the response
    assert (b"x-request-id", request_id(scope).encode()) in start["headers"]
    assert len([r for r in caplog.records if r.exc_info]) == 1


@pytest.mark.parametrize(
    ("given", "kept"), [("trace-1.a_B", True), ("x" * 65, False), ("a b", False), ("", False)]
)
async def test_a_well_formed_request_id_of_the_caller_is_kept(
    api: Api, given: str, kept: bool
) -> None:
    async with api.client() as client:
        response = await client.http.get(
            V1 + "/queryBusinessResults",
            params={"pageSize": "1", "pageNum": "1"},
            headers={"X-Request-Id": given},
        )
    assert _refusal(response)[0] == SUCCESS
    assert (response.headers["x-request-id"] == given) is kept
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"]) or kept


def test_the_envelope_of_a_failure_can_carry_the_request_id() -> None:
    response = envelope.failure(StorageError("x"), request_id="abc")
    assert json.loads(response.body)["requestId"] == "abc"


# the sweep: every operation, hostile input built from its own specs ------------------

_TOO_DEEP: Any = 1
for _ in range(MAX_DEPTH + 8):
    _TOO_DEEP = [_TOO_DEEP]
_HUGE = (2**63, 2**64, -(2**63) - 1, 10**40)
_RAW_BODIES = (
    b"",
    b"   ",
    b"null",
    b"[]",
    b"[null]",
    b"1",
    b"-99999999999999999999999",
    b'"text"',
    b"true",
    b"1e400",
    b"{",
    b'{"a":1,}',
    b"\xff\xfe\xfd",
    b'{"name":"\xff"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
)
_HOSTILE_TEXT = (
    "999999999999999999",
    "-999999999999999999",
    "99999999999999999999",
    "9223372036854775808",
    "-9223372036854775809",
    "x",
    "1.5",
    "\x00",
    "%FF",
)
_HOSTILE_IDS = ("9223372036854775808", "99999999999999999999", "-1", "x", "1.5", "%FF")


def _sample_text(spec: Str) -> str:
    size = max(spec.min_len or 1, 1)
    for char in "1aA":
        text = char * size
        if spec.allowed is None or re.fullmatch(f"[{spec.allowed}]*", text):
            return text
    raise AssertionError(f"no sample for {spec}")  # pragma: no cover


def _sample(spec: Spec) -> Any:
    """A value that passes ``spec`` (the cross-field rules of a route aside)."""
    if isinstance(spec, Str):
        return _sample_text(spec)
    if isinstance(spec, Int):
        if spec.choices:
            return spec.choices[0]
        return max(spec.minimum if spec.minimum is not None else 1, 1)
    if isinstance(spec, List):
        return [_sample(spec.item)]
    if isinstance(spec, Obj):
        return {f.name: _sample(f) for f in spec.fields}
    assert isinstance(spec, Any_)
    kinds = spec.json_type if isinstance(spec.json_type, tuple) else (spec.json_type,)
    return {} if dict in kinds else []


def _hostile(spec: Spec) -> Iterator[Any]:
    """Values ``spec`` must refuse: null items and wrong types, numbers past int64, depth."""
    if spec.required:
        yield None
    yield _TOO_DEEP
    yield [None]
    if not isinstance(spec, Str):
        yield "x"
    if not isinstance(spec, Int):
        yield 1
    if isinstance(spec, Int):
        yield from (1.5, True, *_HUGE)
    if isinstance(spec, Str):
        yield from (True, _HUGE[1], {"a": None})
    if isinstance(spec, Obj | Any_):
        yield [None, 1]


def _paths(spec: Obj) -> Iterator[tuple[tuple[str | int, ...], Spec]]:
    """Every field of ``spec``, nested ones and list items included, with its path."""
    for field in spec.fields:
        yield (field.name,), field
        if isinstance(field, Obj):
            for sub, inner in _paths(field):
                yield (field.name, *sub), inner
        elif isinstance(field, List):
            item = field.item
            yield (field.name, 0), item
            if isinstance(item, Obj):
                for sub, inner in _paths(item):
                    yield (field.name, 0, *sub), inner


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _with(base: Any, path: tuple[str | int, ...], value: Any) -> Any:
    body = copy.deepcopy(base)
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return body


def _encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=False).encode()


async def _counts(api: Api) -> dict[str, int]:
    """Rows per table; the replay guard's nonces are bookkeeping of every signed request."""
    out = {}
    async with api.ctx.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            if table.name != "t_isl_auth_nonce":
                query = sa.select(sa.func.count()).select_from(table)
                out[table.name] = (await conn.execute(query)).scalar_one()
    return out


async def _arrange(api: Api) -> dict[str, str]:
    """Real rows for the path ids, so that the handlers reach as far as they can."""
    async with api.client() as client:
        await define(client, "X", "X1")
        cid = await make_campaign(client)
        (data_id,) = await add_numbers(client, cid, "13800000001")
        created = await client.create_obs_result(
            {"resultCode": "BUSY", "displayResult": "Busy", "obsCodes": ["00603"]}
        )
    assert created["resultCode"] == SUCCESS, created
    return {"campaignId": str(cid), "dataId": data_id, "defId": created["defId"]}


def _fill(op: Operation, ids: dict[str, str], **override: str) -> str:
    values = {"vdnId": "1", **ids, **override}
    return re.sub(r"{(\w+)}", lambda m: values[m[1]], op.path)


@pytest.mark.parametrize("op", OPERATIONS, ids=[o.handler.__name__ for o in OPERATIONS])
async def test_every_operation_survives_hostile_input(
    api: Api, op: Operation, caplog: pytest.LogCaptureFixture
) -> None:
    ids = await _arrange(api)
    before = await _counts(api)
    # Without a body to refuse, a request that reaches its handler acts (a DELETE deletes):
    # those operations get ids of rows that do not exist.
    acts = op.method != "GET" and op.body is None
    targets = dict.fromkeys(ids, "999999") if acts else ids
    path = _fill(op, targets)
    problems: list[str] = []

    def check(what: str, response: httpx.Response, refused: bool, field: str | None = None):
        if response.status_code >= 500:
            problems.append(f"{what}: HTTP {response.status_code} {response.text[:200]}")
            return
        try:
            body = _is_envelope(response)
        except (AssertionError, ValueError):
            problems.append(f"{what}: not the envelope: {response.text[:200]}")
            return
        named = body["resultDesc"].split(":")[0]
        # set_retry_policy names its fields as inside a campaign: retryPolicy.*
        names = {named, named.removeprefix("retryPolicy.")}
        if body["resultCode"] in {"0200006", "0200998", "0200999"}:  # the database is healthy
            problems.append(f"{what}: a storage failure: {body['resultDesc']}")
        elif refused and body["resultCode"] == SUCCESS:
            problems.append(f"{what}: accepted")
        elif field is not None and not any(
            n == field or n.startswith((field + "[", field + ".")) for n in names
        ):
            problems.append(f"{what}: refused for another reason: {body['resultDesc']}")

    with caplog.at_level(logging.WARNING):
        async with api.client() as client:
            http = client.http

            async def send(raw: bytes, target: str = path, **kwargs: Any) -> httpx.Response:
                headers = {"Content-Type": JSON_TYPE}
                return await http.request(op.method, target, content=raw, headers=headers, **kwargs)

            required = op.body is not None and op.body.required
            for raw in _RAW_BODIES:
                check(f"raw body {raw[:30]!r}", await send(raw), required)
            if op.body is not None:
                base = _sample(op.body)
                for field_path, spec in _paths(op.body):
                    for value in _hostile(spec):
                        deep = value is _TOO_DEEP
                        expected = "body" if deep else _dotted(field_path)
                        response = await send(_encode(_with(base, field_path, value)))
                        what = f"{_dotted(field_path)}={json.dumps(value)[:40]}"
                        check(what, response, True, expected)
            query = {s.name: str(_sample(s)) for s in op.query}
            for spec in op.query:
                for text in _HOSTILE_TEXT:
                    response = await send(b"", params={**query, spec.name: text})
                    check(f"query {spec.name}={text!r}", response, False)
            for name in re.findall(r"{(\w+)}", op.path):
                for raw_id in _HOSTILE_IDS:
                    target = _fill(op, targets, **{name: raw_id})
                    body = _encode(_sample(op.body)) if op.body is not None else b""
                    check(f"path {name}={raw_id}", await send(body, target), True)
    assert problems == []
    assert await _counts(api) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
