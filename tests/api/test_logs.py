"""A line logged while the API serves a request carries its ``X-Request-Id`` (issue 12)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from openisales import logs
from openisales.services import business_results
from tests.conftest import Api

V1 = "/rest/isales/v1/openapi/campaigns/1"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The JSON lines the root logger writes, as ``serve`` configures them."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logs.handler("json", stream)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


async def test_a_line_logged_during_a_request_carries_its_request_id(
    api: Api, monkeypatch: pytest.MonkeyPatch, log_lines: io.StringIO
) -> None:
    real_query = business_results.query

    async def query(*args: Any, **kwargs: Any) -> Any:
        logging.getLogger("openisales.services").info("querying business results")
        return await real_query(*args, **kwargs)

    monkeypatch.setattr(business_results, "query", query)
    logging.getLogger("openisales.test").info("before the request")
    async with api.client() as client:
        responses = [
            await client.http.get(
                V1 + "/queryBusinessResults", params={"pageSize": "1", "pageNum": "1"}
            ),
            await client.http.get(
                V1 + "/queryBusinessResults",
                params={"pageSize": "1", "pageNum": "1"},
                headers={"X-Request-Id": "caller-chosen.id_1"},
            ),
        ]
    logging.getLogger("openisales.test").info("after the request")
    assert [r.json()["resultCode"] for r in responses] == ["0200000", "0200000"]
    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    during = [r for r in records if r["message"] == "querying business results"]
    assert [r["requestId"] for r in during] == [r.headers["x-request-id"] for r in responses]
    assert during[1]["requestId"] == "caller-chosen.id_1"
    outside = [r for r in records if r["logger"] == "openisales.test"]
    assert len(outside) == 2 and not any("requestId" in r for r in outside)
