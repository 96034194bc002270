"""Arrange campaigns, definitions and call data through the signed API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from openisales.client import AsyncClient


def campaign_body(name: str = "Spring sale", **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "name": name,
        "strBeginTime": now.strftime("%Y-%m-%d 00:00:00"),
        "strEndTime": (now + timedelta(days=30)).strftime("%Y-%m-%d 23:59:59"),
        "deviceType": 2,
        "callerNo": [{"accessCode": "88889527", "priority": 3}],
        "maxAlertingTime": 20,
        "scheduleParam": {"workdayBeginTime1": "00:00", "workdayEndTime1": "23:59"},
        "skillParam": {"skillId": 2, "skillName": "defaultAudioSkill", "outBoundType": 2},
        "retryPolicy": {"policyType": 0},
    }
    body.update(overrides)
    return body


async def make_campaign(client: AsyncClient, name: str = "Spring sale", **overrides: Any) -> int:
    reply = await client.create_campaign(campaign_body(name, **overrides))
    assert reply["resultCode"] == "0200000", reply
    return int(reply["returnObject"]["id"])


async def define(client: AsyncClient, code: str, *children: str) -> None:
    reply = await client.add_business_result(
        {"name": code, "code": code, "children": [{"name": c, "code": c} for c in children]}
    )
    assert reply["resultCode"] == "0200000", reply


async def add_numbers(
    client: AsyncClient, campaign_id: int, *numbers: list[str] | str, session: str | None = None
) -> list[str]:
    """One record per argument (a list = several numbers of one customer, v2); returns dataIds."""
    if all(isinstance(n, str) for n in numbers):
        records = [{"called": n, "sessionId": session} for n in numbers]
        reply = await client.add_call_data(campaign_id, records)
    else:
        records = [
            {"called": [{"calledNo": x, "type": "SI"} for x in ([n] if isinstance(n, str) else n)]}
            for n in numbers
        ]
        reply = await client.add_call_data(campaign_id, records, version=2)
    assert reply["resultCode"] == "0200000", reply
    return [d["dataId"] for d in reply["returnObject"]["dataIdList"]]
