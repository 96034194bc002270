"""Schema-driven fuzzing: Schemathesis against the app's own ``/openapi.json``, in process.

Every operation of the document gets Schemathesis's coverage phase (a fixed
set of boundary and wrong-type values, one field at a time, deterministic),
then a small fixed number of derandomized examples that fit its schema and as
many that do not. Requests are signed with C2 by a ``requests`` auth hook
(``C2Auth`` computes the header) and served in process by Schemathesis's ASGI
client. Any 5xx, an answer that is not the JSON envelope, a storage failure
(the database is healthy), a status the operation does not declare, or an
answer that does not match the schema declared for its status (Schemathesis's
response-schema conformance: the success body, the business-error envelope,
the 4xx envelopes) fails the run. Path ids point at real rows, so that bodies
are checked past the ids; the destructive operations come last. The
operations are dealt into ``SHARDS`` tests (each with its own database), so
that the suite's processes share the work.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings as hsettings
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.python import asgi as st_asgi

from openisales.api.app import create_app
from openisales.auth.vault import Vault
from openisales.client import C2Auth
from openisales.config import Settings
from openisales.errors import CATALOGUE
from openisales.services import admin
from openisales.services.audit import CLI
from openisales.store.engine import create_engine
from tests.conftest import MASTER_KEY
from tests.helpers import campaign_body

EXAMPLES = 10  # per operation and generation mode, after the coverage phase
SHARDS = 4  # tests the operations are dealt into, every SHARDS-th to each
V1 = "/rest/isales/v1/openapi/campaigns/1"
V2 = "/rest/isales/v2/openapi/campaigns/1"
ENVELOPE_KEYS = ("resultCode", "resultDesc", "returnCode", "returnDesc")
STORAGE_CODES = {"0200006", "0200998", "0200999"}


class Signed(requests.auth.AuthBase):
    """Signs what ``requests`` is about to send, with the client's own signer."""

    def __init__(self, ak: str, sk: str) -> None:
        self._c2 = C2Auth(ak, sk)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        wire = httpx.Request(
            str(request.method),
            str(request.url),
            headers=dict(request.headers),
            content=body.encode() if isinstance(body, str) else body,
        )
        request.headers["Authorization"] = self._c2.authorization(wire)
        return request


async def _tenant(url: str) -> tuple[str, str]:
    engine = create_engine(url)
    try:
        now = datetime.now(UTC)
        await admin.add_vdn(
            engine, vdn_id=1, name="vdn1", time_zone="Asia/Shanghai", now=now, actor=CLI
        )
        return await admin.create_key(engine, Vault(MASTER_KEY), vdn_ids=[1], now=now, actor=CLI)
    finally:
        await engine.dispose()


def _problem(response: Any) -> str | None:
    """Why ``response`` fails the run, or None."""
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.content[:300]!r}"
    try:
        body = response.json()
    except ValueError:
        return f"not JSON (HTTP {response.status_code}): {response.content[:300]!r}"
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ENVELOPE_KEYS):
        return f"not the envelope (HTTP {response.status_code}): {body!r:.300}"
    if body["resultCode"] not in CATALOGUE or body["resultCode"] != body["returnCode"]:
        return f"unknown result code: {body!r:.300}"
    if body["resultCode"] in STORAGE_CODES:  # the database is healthy: input got too far
        return f"a storage failure: {body!r:.300}"
    return None


def _nonconforming(case: Any, response: Any) -> str | None:
    """Why ``response`` is not what the document declares for its status, or None."""
    if case.operation.responses.find_by_status_code(response.status_code) is None:
        return f"HTTP {response.status_code} is not declared"
    try:
        case.operation.validate_response(response, case=case)
    except (Failure, FailureGroup) as exc:
        failures = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
        found = "; ".join(" ".join(str(f).split())[:300] for f in failures)
        return f"not the declared schema (HTTP {response.status_code}): {found}"
    return None


def _destructive(operation: Any) -> bool:
    return operation.method.upper() == "DELETE" or operation.path.endswith("/delete")


def _seed(app: Any, auth: Signed) -> dict[str, Any]:
    """A campaign, a record and a display result through the API: the path ids of the run."""
    with st_asgi.get_client(app) as client:
        client.auth = auth

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            reply: dict[str, Any] = client.post(path, json=body).json()
            assert reply["resultCode"] == "0200000", reply
            return reply

        post(f"{V1}/addBusinessResult", {"name": "X", "code": "X", "children": []})
        campaign = post(V2, campaign_body())["returnObject"]["id"]
        added = post(f"{V1}/calldata/{campaign}", {"callDataList": [{"called": "13800000001"}]})
        created = post(
            f"{V1}/createObResult",
            {"resultCode": "BUSY", "displayResult": "Busy", "obsCodes": ["00603"]},
        )
    return {
        "vdnId": 1,
        "campaignId": str(campaign),
        "dataId": added["returnObject"]["dataIdList"][0]["dataId"],
        "defId": created["defId"],
    }


def _fuzz(app: Any, auth: Signed, shard: int) -> tuple[list[str], dict[str, int]]:
    """Run the shard's operations; return the problems and the count of answers per result code."""
    ids = _seed(app, auth)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    every = [result.ok() for result in schema.get_all_operations()]
    assert len(every) > 4 * SHARDS, "the document lost its operations"
    every.sort(key=_destructive)  # stable: the document's order otherwise
    operations = every[shard::SHARDS]  # the destructive ones still last
    problems: list[str] = []
    codes: dict[str, int] = {}
    for operation in operations:
        names = re.findall(r"{(\w+)}", operation.path)
        fixed = {name: ids[name] for name in names}
        label = f"{operation.method.upper()} {operation.path}"

        def send(case: Any, mode: str, label: str = label, fixed: dict[str, Any] = fixed) -> None:
            case.path_parameters = {**(case.path_parameters or {}), **fixed}
            response = case.call(auth=auth)
            problem = _problem(response) or _nonconforming(case, response)
            if problem is not None:
                problems.append(f"{case.method} {label} ({mode}): {problem}")
            else:
                code = response.json()["resultCode"]
                codes[code] = codes.get(code, 0) + 1

        # The coverage phase: deterministic boundary and wrong-type values, field by field.
        for case in schema.iter_coverage_cases(
            operation,
            generation_modes=list(GenerationMode),
            generation_config=schema.config.generation_for(operation=operation, phase="coverage"),
        ):
            send(case, "coverage")
        raw = operation.definition.raw
        # An operation without parameters (the probes) has nothing to make invalid.
        negative = bool(raw.get("parameters") or raw.get("requestBody"))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)[: 1 + negative]:
            _runner(operation, mode, fixed, send)()
    return problems, codes


def _runner(
    operation: Any, mode: GenerationMode, fixed: dict[str, Any], send: Callable[[Any, str], None]
) -> Callable[[], None]:
    """Hypothesis over the operation's strategy: ``EXAMPLES`` derandomized cases, sent."""
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)

    @hsettings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every problem is collected
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        send(case, str(mode))

    return run


@pytest.mark.parametrize("shard", range(SHARDS))
async def test_schemathesis_finds_no_5xx_and_no_bare_answer(settings: Settings, shard: int) -> None:
    ak, sk = await _tenant(settings.effective_database_url)
    app = create_app(settings)  # its lifespan runs in Schemathesis's event loop
    auth = Signed(ak, sk)
    try:
        problems, codes = await asyncio.to_thread(_fuzz, app, auth, shard)
    finally:
        await asyncio.to_thread(st_asgi.shutdown_lifespans)
    assert problems == []
    # The run got through the signature check and past the field checks.
    assert codes.get("0200401", 0) < sum(codes.values()) / 100, codes
    assert codes.get("0200000", 0) > 0, codes
