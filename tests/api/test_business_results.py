"""addBusinessResult / queryBusinessResults through the signed client."""

from __future__ import annotations

import pytest

from tests.conftest import Api


async def test_round_trip_with_children(api: Api) -> None:
    async with api.client() as client:
        added = await client.add_business_result(
            {
                "name": "Sold",
                "code": "SOLD",
                "description": "customer bought",
                "children": [
                    {"name": "Gold plan", "code": "GOLD"},
                    {"name": "Basic", "code": "BASIC"},
                ],
            }
        )
        assert added["resultCode"] == "0200000"
        assert added["returnCode"] == "0200000"
        reply = await client.query_business_results(page_size=10, page_num=1)
    assert reply["resultCode"] == "0200000"
    assert reply["totalCount"] == 1
    (item,) = reply["data"]
    assert item["code"] == "SOLD" and item["name"] == "Sold" and item["defLevel"] == "1"
    assert [(c["code"], c["defLevel"]) for c in item["children"]] == [("GOLD", "2"), ("BASIC", "2")]


async def test_codes_are_generated_when_omitted_and_unique(api: Api) -> None:
    async with api.client() as client:
        for name in ("A", "B"):
            reply = await client.add_business_result({"name": name, "children": [{"name": "x"}]})
            assert reply["resultCode"] == "0200000"
        data = (await client.query_business_results())["data"]
    codes = [d["code"] for d in data] + [c["code"] for d in data for c in d["children"]]
    assert len(set(codes)) == 4
    assert all(code.isdigit() and len(code) == 10 for code in codes)


async def test_paging(api: Api) -> None:
    async with api.client() as client:
        for i in range(7):
            await client.add_business_result({"name": f"R{i}", "code": f"R{i}"})
        page2 = await client.query_business_results(page_size=3, page_num=2)
        page3 = await client.query_business_results(page_size=3, page_num=3)
        page9 = await client.query_business_results(page_size=3, page_num=9)
    assert page2["totalCount"] == 7
    assert [d["code"] for d in page2["data"]] == ["R3", "R4", "R5"]
    assert [d["code"] for d in page3["data"]] == ["R6"]
    assert page9["data"] == [] and page9["totalCount"] == 7


async def test_results_are_per_vdn(api: Api) -> None:
    async with api.client(1) as one, api.client(2) as two:
        await one.add_business_result({"name": "Sold", "code": "SOLD"})
        assert (await two.query_business_results())["totalCount"] == 0
        # the same code in another VDN is fine
        assert (await two.add_business_result({"name": "Sold", "code": "SOLD"}))[
            "resultCode"
        ] == "0200000"


async def test_duplicate_parent_code_is_refused_and_changes_nothing(api: Api) -> None:
    async with api.client() as client:
        await client.add_business_result({"name": "Sold", "code": "SOLD"})
        reply = await client.add_business_result(
            {"name": "Again", "code": "SOLD", "children": [{"name": "c", "code": "C1"}]}
        )
        assert reply["resultCode"] == "0200001"
        assert "SOLD" in reply["resultDesc"] and "already exists" in reply["resultDesc"]
        data = (await client.query_business_results())["data"]
    assert [(d["name"], d["children"]) for d in data] == [("Sold", [])]


async def test_duplicate_sub_codes_under_one_parent_are_refused(api: Api) -> None:
    async with api.client() as client:
        reply = await client.add_business_result(
            {
                "name": "P",
                "code": "P",
                "children": [{"name": "a", "code": "X"}, {"name": "b", "code": "X"}],
            }
        )
        assert reply["resultCode"] == "0200001"
        assert "children" in reply["resultDesc"]
        assert (await client.query_business_results())["totalCount"] == 0


async def test_same_sub_code_under_two_parents_is_fine(api: Api) -> None:
    async with api.client() as client:
        for parent in ("P1", "P2"):
            reply = await client.add_business_result(
                {"name": parent, "code": parent, "children": [{"name": "c", "code": "SAME"}]}
            )
            assert reply["resultCode"] == "0200000"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "02000001", "name"),
        ({"name": ""}, "02000001", "name"),
        ({"name": 5}, "02000006", "name"),
        ({"name": "x" * 51}, "02000003", "name"),
        ({"name": "a<b"}, "02000002", "name"),
        ({"name": "ok", "code": "bad code"}, "02000002", "code"),
        ({"name": "ok", "code": "c" * 51}, "02000003", "code"),
        ({"name": "ok", "code": 12}, "02000006", "code"),
        ({"name": "ok", "description": "d" * 201}, "02000003", "description"),
        ({"name": "ok", "description": "semi;colon"}, "02000002", "description"),
        ({"name": "ok", "children": "nope"}, "02000006", "children"),
        ({"name": "ok", "children": [{"code": "X"}]}, "02000001", "children[0].name"),
        ({"name": "ok", "children": [{"name": "n", "code": "é"}]}, "02000002", "children[0].code"),
        ({"name": "ok", "children": [{"name": "n" * 51}]}, "02000003", "children[0].name"),
        ({"name": "ok", "children": [{"name": "n", "children": [{"name": "deep"}]}]}, None, None),
    ],
)
async def test_bad_fields_get_their_documented_code(api: Api, body, code, field) -> None:
    async with api.client() as client:
        reply = await client.add_business_result(body)
        if code is None:  # grandchildren are ignored: definitions are one level deep
            assert reply["resultCode"] == "0200000"
            (item,) = (await client.query_business_results())["data"]
            assert item["children"][0].get("children") is None
            return
        assert reply["resultCode"] == code
        assert reply["resultDesc"].startswith(field + ":")
        assert (await client.query_business_results())["totalCount"] == 0


async def test_body_that_is_not_json(api: Api) -> None:
    async with api.client() as client:
        response = await client.request(
            "POST", "/rest/isales/v1/openapi/campaigns/1/addBusinessResult"
        )
        assert response.json()["resultCode"] == "02000001"
        client.http.headers["Content-Type"] = "application/json; charset=UTF-8"
        raw = await client.http.post(
            "/rest/isales/v1/openapi/campaigns/1/addBusinessResult", content=b"{not json"
        )
    assert raw.status_code == 200
    assert raw.json()["resultCode"] == "02000008"


async def test_body_that_is_a_list(api: Api) -> None:
    async with api.client() as client:
        response = await client.request(
            "POST", "/rest/isales/v1/openapi/campaigns/1/addBusinessResult", body=[{"name": "x"}]
        )
    assert response.json()["resultCode"] == "02000006"


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"pageNum": 1}, "02000001", "pageSize"),
        ({"pageSize": 10}, "02000001", "pageNum"),
        # out of range: the operation's own codes (Huawei cec_07_0733 lists 0200005, 0200007)
        ({"pageSize": 0, "pageNum": 1}, "0200005", "pageSize"),
        ({"pageSize": 51, "pageNum": 1}, "0200005", "pageSize"),
        ({"pageSize": -1, "pageNum": 1}, "0200005", "pageSize"),
        ({"pageSize": 10, "pageNum": 0}, "0200007", "pageNum"),
        ({"pageSize": 10, "pageNum": -3}, "0200007", "pageNum"),
        ({"pageSize": 10, "pageNum": "99999999999999999999"}, "0200007", "pageNum"),
        ({"pageSize": 0, "pageNum": 0}, "0200005", "pageSize"),  # the first bad parameter
        ({"pageSize": "ten", "pageNum": 1}, "02000006", "pageSize"),
        ({"pageSize": 10, "pageNum": "1.5"}, "02000006", "pageNum"),
    ],
)
async def test_bad_paging_parameters(api: Api, params, code, field) -> None:
    async with api.client() as client:
        response = await client.request(
            "GET", "/rest/isales/v1/openapi/campaigns/1/queryBusinessResults", params=params
        )
    assert response.status_code == 200
    answer = response.json()
    assert (answer["resultCode"], answer["resultDesc"].split(":")[0]) == (code, field)
