"""The holiday calendar (ours) through the signed client: add, list, delete, every refusal."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from openisales.store.holidays import holiday_set
from tests.conftest import Api

PATH = "/rest/isales/v1/openapi/campaigns/{vdn}/holidays"


def dates(reply: dict[str, Any]) -> list[tuple[str, str]]:
    return [(d["date"], d["name"]) for d in reply["data"]]


async def test_add_then_list_in_date_order(api: Api) -> None:
    async with api.client() as client:
        added = await client.add_holidays(
            [
                {"date": "2026-12-25", "name": "Christmas"},
                {"date": "2026-01-01", "name": "New Year's Day"},
                {"date": "2027-01-01"},
            ]
        )
        assert added["resultCode"] == "0200000" and added["returnCode"] == "0200000"
        assert added["totalCount"] == 3
        assert dates(added) == [
            ("2026-01-01", "New Year's Day"),
            ("2026-12-25", "Christmas"),
            ("2027-01-01", ""),
        ]
        listed = await client.list_holidays()
        assert listed["resultCode"] == "0200000"
        assert (listed["data"], listed["totalCount"]) == (added["data"], added["totalCount"])
        in_2026 = await client.list_holidays(year=2026)
        assert dates(in_2026) == [("2026-01-01", "New Year's Day"), ("2026-12-25", "Christmas")]
        assert in_2026["totalCount"] == 2
        assert (await client.list_holidays(year=2030))["data"] == []


async def test_adding_a_listed_date_renames_it(api: Api) -> None:
    async with api.client() as client:
        await client.add_holidays([{"date": "2026-10-01", "name": "National Day"}])
        again = await client.add_holidays([{"date": "2026-10-01", "name": "Golden Week"}])
        assert again["resultCode"] == "0200000"
        assert dates(await client.list_holidays()) == [("2026-10-01", "Golden Week")]


async def test_a_whole_leap_year_fits_in_one_request(api: Api) -> None:
    year = [(date(2028, 1, 1) + timedelta(days=i)).isoformat() for i in range(366)]
    async with api.client() as client:
        reply = await client.add_holidays([{"date": d, "name": "x" * 64} for d in year])
        assert reply["resultCode"] == "0200000", reply
        assert (await client.list_holidays(year=2028))["totalCount"] == 366
        deleted = await client.delete_holidays(year)
        assert deleted["totalCount"] == 366
        assert (await client.list_holidays())["totalCount"] == 0


async def test_delete_reports_what_was_listed(api: Api) -> None:
    async with api.client() as client:
        await client.add_holidays(
            [{"date": "2026-05-01", "name": "Labour Day"}, {"date": "2026-05-04", "name": "Youth"}]
        )
        reply = await client.delete_holidays(["2026-05-01", "2026-05-02", "2026-05-01"])
        assert reply["resultCode"] == "0200000"
        assert dates(reply) == [("2026-05-01", "Labour Day")] and reply["totalCount"] == 1
        assert dates(await client.list_holidays()) == [("2026-05-04", "Youth")]
        nothing = await client.delete_holidays(["2026-05-01"])  # deleting again is no error
        assert (nothing["resultCode"], nothing["data"], nothing["totalCount"]) == ("0200000", [], 0)


async def test_calendars_are_per_vdn(api: Api) -> None:
    async with api.client(1) as one, api.client(2) as two:
        await one.add_holidays([{"date": "2026-12-25", "name": "Christmas"}])
        assert (await two.list_holidays())["totalCount"] == 0
        assert (await two.delete_holidays(["2026-12-25"]))["totalCount"] == 0
        await two.add_holidays([{"date": "2026-12-25", "name": "Noel"}])
        assert dates(await one.list_holidays()) == [("2026-12-25", "Christmas")]
        assert dates(await two.list_holidays()) == [("2026-12-25", "Noel")]
    async with api.ctx.engine.connect() as conn:
        assert await holiday_set(conn, 1) == frozenset({date(2026, 12, 25)})
        assert await holiday_set(conn, 3) == frozenset()


async def test_a_key_cannot_reach_another_vdns_calendar(api: Api) -> None:
    tenant = api.tenants[1]
    async with api.client(2, ak=tenant.ak, sk=tenant.sk) as intruder:
        for response in (
            await intruder.request(
                "POST", PATH.format(vdn=2), {"holidays": [{"date": "2026-01-01"}]}
            ),
            await intruder.request("GET", PATH.format(vdn=2)),
            await intruder.request(
                "POST", PATH.format(vdn=2) + "/delete", {"dates": ["2026-01-01"]}
            ),
        ):
            assert response.status_code == 401
            assert response.json()["resultCode"] == "0200401"


async def test_unsigned_requests_are_refused(api: Api) -> None:
    async with api.client() as client:
        response = await client.http.get(PATH.format(vdn=1), auth=None)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (None, "02000001", "body"),
        ([{"date": "2026-01-01"}], "02000006", "body"),
        ({}, "02000001", "holidays"),
        ({"holidays": []}, "02000001", "holidays"),
        ({"holidays": {"date": "2026-01-01"}}, "02000006", "holidays"),
        ({"holidays": [None]}, "02000001", "holidays[0]"),
        ({"holidays": ["2026-01-01"]}, "02000006", "holidays[0]"),
        ({"holidays": [{"name": "x"}]}, "02000001", "holidays[0].date"),
        ({"holidays": [{"date": ""}]}, "02000001", "holidays[0].date"),
        ({"holidays": [{"date": 20260101}]}, "02000006", "holidays[0].date"),
        ({"holidays": [{"date": "2026-13-01"}]}, "0200030", "holidays[0].date"),
        ({"holidays": [{"date": "2026-02-29"}]}, "0200030", "holidays[0].date"),
        ({"holidays": [{"date": "20260101"}]}, "0200030", "holidays[0].date"),
        ({"holidays": [{"date": "2026-1-01"}]}, "0200030", "holidays[0].date"),
        ({"holidays": [{"date": "2026-01-01 "}]}, "0200030", "holidays[0].date"),
        ({"holidays": [{"date": "0000-01-01"}]}, "0200030", "holidays[0].date"),
        ({"holidays": [{"date": "２０２６-01-01"}]}, "0200030", "holidays[0].date"),
        ({"holidays": [{"date": "2026-01-01", "name": "n" * 65}]}, "02000003", "holidays[0].name"),
        ({"holidays": [{"date": "2026-01-01", "name": 7}]}, "02000006", "holidays[0].name"),
        (
            {"holidays": [{"date": "2026-01-01"}, {"date": "2026-01-02"}, {"date": "2026-01-01"}]},
            "02000009",
            "holidays[2].date",
        ),
        (
            {"holidays": [{"date": "2026-01-01"}, {"date": "2026-02-30"}]},
            "0200030",
            "holidays[1].date",
        ),
        (
            {"holidays": [{"date": f"2026-01-{d:02d}"} for d in range(1, 32)] * 12},
            "02000011",
            "holidays",
        ),
    ],
)
async def test_bad_add_bodies_are_refused_and_change_nothing(
    api: Api, body: Any, code: str, field: str
) -> None:
    async with api.client() as client:
        response = await client.request("POST", PATH.format(vdn=1), body)
        reply = response.json()
        assert response.status_code == 200
        assert (reply["resultCode"], reply["resultDesc"].split(":")[0]) == (code, field)
        assert reply["returnCode"] == code
        assert (await client.list_holidays())["totalCount"] == 0


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (None, "02000001", "body"),
        ({}, "02000001", "dates"),
        ({"dates": []}, "02000001", "dates"),
        ({"dates": "2026-01-01"}, "02000006", "dates"),
        ({"dates": [20260101]}, "02000006", "dates[0]"),
        ({"dates": [""]}, "02000001", "dates[0]"),
        ({"dates": ["2026-01-01", "2026-04-31"]}, "0200030", "dates[1]"),
        ({"dates": ["2026-01-01"] * 367}, "02000011", "dates"),
    ],
)
async def test_bad_delete_bodies_are_refused_and_change_nothing(
    api: Api, body: Any, code: str, field: str
) -> None:
    async with api.client() as client:
        await client.add_holidays([{"date": "2026-01-01", "name": "New Year"}])
        reply = (await client.request("POST", PATH.format(vdn=1) + "/delete", body)).json()
        assert (reply["resultCode"], reply["resultDesc"].split(":")[0]) == (code, field)
        assert (await client.list_holidays())["totalCount"] == 1


@pytest.mark.parametrize("content", [b"{not json", b"[1", b"\xff"])
async def test_bodies_that_are_not_json(api: Api, content: bytes) -> None:
    async with api.client() as client:
        client.http.headers["Content-Type"] = "application/json; charset=UTF-8"
        for path in (PATH.format(vdn=1), PATH.format(vdn=1) + "/delete"):
            response = await client.http.post(path, content=content)
            assert response.json()["resultCode"] == "02000008", path


@pytest.mark.parametrize(
    ("year", "code"),
    [("abc", "02000006"), ("2026.0", "02000006"), ("0", "02000007"), ("10000", "02000007")],
)
async def test_bad_year_is_refused(api: Api, year: str, code: str) -> None:
    async with api.client() as client:
        reply = await client.list_holidays(year=year)
    assert (reply["resultCode"], reply["resultDesc"].split(":")[0]) == (code, "year")


async def test_the_operations_are_in_the_openapi_document(api: Api) -> None:
    async with api.client() as client:
        document = (await client.http.get("/openapi.json")).json()
    item = document["paths"][PATH.replace("{vdn}", "{vdnId}")]
    assert set(item) == {"get", "post"}
    assert item["get"]["parameters"][-1]["name"] == "year"
    schema = item["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["holidays"]["maxItems"] == 366
    assert PATH.replace("{vdn}", "{vdnId}") + "/delete" in document["paths"]
