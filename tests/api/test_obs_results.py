"""Display results and the failure-code catalogue (spec 2.7) through the signed client."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from openisales.domain import failcodes
from openisales.domain.obs_result import NewObsResult
from openisales.errors import Conflict
from openisales.services import obs_results
from openisales.services.audit import CLI
from openisales.store import obs_results as store
from tests.conftest import Api

BASE = "/rest/isales/v1/openapi/campaigns/1"
BUSY = {"resultCode": "BUSY", "displayResult": "Busy", "obsCodes": ["00537", "00145"]}


async def _all(client) -> list[dict]:
    reply = await client.query_obs_results(page_size=50, page_num=1)
    assert reply["resultCode"] == "0200000", reply
    return reply["data"]


async def test_round_trip(api: Api) -> None:
    async with api.client() as client:
        created = await client.create_obs_result(BUSY)
        reply = await client.query_obs_results(page_size=10, page_num=1)
    assert created["resultCode"] == created["returnCode"] == "0200000"
    assert created["resultDesc"] == "createObResult Success!"
    def_id = created["defId"]
    assert isinstance(def_id, str) and def_id.isdigit()
    assert reply["resultDesc"] == "queryObsResultDetail success"
    assert reply["totalCount"] == 1
    (item,) = reply["data"]
    assert item["defId"] == def_id
    assert (item["resultCode"], item["displayResult"], item["vdnId"]) == ("BUSY", "Busy", 1)
    maps = item["resultMapList"]
    assert [(m["failCode"], m["defId"], m["vdnId"]) for m in maps] == [
        ("00537", def_id, 1),
        ("00145", def_id, 1),
    ]
    assert all(isinstance(m["mapId"], str) for m in maps)
    assert len({m["mapId"] for m in maps}) == 2


async def test_success_code_can_be_mapped_too(api: Api) -> None:
    async with api.client() as client:
        reply = await client.create_obs_result(
            {"resultCode": "OB99999", "displayResult": "Answered", "obsCodes": ["00000"]}
        )
        assert reply["resultCode"] == "0200000", reply
        assert (await _all(client))[0]["resultMapList"][0]["failCode"] == "00000"


async def test_duplicate_result_code_is_refused_and_changes_nothing(api: Api) -> None:
    async with api.client() as client:
        await client.create_obs_result(BUSY)
        reply = await client.create_obs_result(
            {"resultCode": "BUSY", "displayResult": "Other", "obsCodes": ["00603"]}
        )
        assert reply["resultCode"] == "0200001"
        assert "resultCode" in reply["resultDesc"] and "BUSY" in reply["resultDesc"]
        assert "already exists" in reply["resultDesc"]
        data = await _all(client)
    assert [(d["displayResult"], len(d["resultMapList"])) for d in data] == [("Busy", 2)]


async def test_failure_code_mapped_elsewhere_is_refused_all_or_nothing(api: Api) -> None:
    async with api.client() as client:
        await client.create_obs_result(BUSY)
        reply = await client.create_obs_result(
            {"resultCode": "NOANS", "displayResult": "No answer", "obsCodes": ["00603", "00145"]}
        )
        assert reply["resultCode"] == "0200001"
        assert reply["resultDesc"].startswith("obsCodes[1]:")
        assert "00145" in reply["resultDesc"] and "'BUSY'" in reply["resultDesc"]
        data = await _all(client)
    assert [d["resultCode"] for d in data] == ["BUSY"]
    async with api.ctx.engine.connect() as conn:
        assert await obs_results.mapping(conn, 1) == {"00537": "BUSY", "00145": "BUSY"}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "02000001", "resultCode"),
        ({**BUSY, "resultCode": "TOOLONG8"}, "02000003", "resultCode"),
        ({**BUSY, "resultCode": "a b"}, "02000002", "resultCode"),
        ({**BUSY, "displayResult": ""}, "02000001", "displayResult"),
        ({**BUSY, "displayResult": "x" * 101}, "02000003", "displayResult"),
        ({**BUSY, "displayResult": "a;b"}, "02000002", "displayResult"),
        ({**BUSY, "obsCodes": []}, "02000001", "obsCodes"),
        ({**BUSY, "obsCodes": [537]}, "02000006", "obsCodes[0]"),
        ({**BUSY, "obsCodes": ["00537", "12345"]}, "02000007", "obsCodes[1]"),
        ({**BUSY, "obsCodes": ["00537", "00537"]}, "02000009", "obsCodes[1]"),
    ],
)
async def test_bad_bodies_get_their_code_and_change_nothing(api: Api, body, code, field) -> None:
    async with api.client() as client:
        reply = await client.create_obs_result(body)
        assert reply["resultCode"] == code
        assert reply["resultDesc"].startswith(field + ":")
        assert await _all(client) == []


async def test_body_that_is_not_json(api: Api) -> None:
    async with api.client() as client:
        client.http.headers["Content-Type"] = "application/json; charset=UTF-8"
        raw = await client.http.post(BASE + "/createObResult", content=b"{not json")
    assert raw.status_code == 200
    assert raw.json()["resultCode"] == "02000008"


async def test_paging_in_creation_order(api: Api) -> None:
    codes = [c.code for c in failcodes.CODES][:7]
    async with api.client() as client:
        for i, code in enumerate(codes):
            reply = await client.create_obs_result(
                {"resultCode": f"R{i}", "displayResult": f"r{i}", "obsCodes": [code]}
            )
            assert reply["resultCode"] == "0200000", reply
        page2 = await client.query_obs_results(page_size=3, page_num=2)
        page3 = await client.query_obs_results(page_size=3, page_num=3)
        far = await client.query_obs_results(page_size=50, page_num=10**17)
    assert page2["totalCount"] == 7
    assert [d["resultCode"] for d in page2["data"]] == ["R3", "R4", "R5"]
    assert [d["resultCode"] for d in page3["data"]] == ["R6"]
    assert far["resultCode"] == "0200000" and far["data"] == [] and far["totalCount"] == 7


@pytest.mark.parametrize("path", ["queryOBSResults", "queryOBSResultCode"])
@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"pageNum": 1}, "02000001"),
        ({"pageSize": 10}, "02000001"),
        ({"pageSize": 0, "pageNum": 1}, "02000007"),
        ({"pageSize": 51, "pageNum": 1}, "02000007"),
        ({"pageSize": 10, "pageNum": 0}, "02000007"),
        ({"pageSize": "ten", "pageNum": 1}, "02000006"),
    ],
)
async def test_bad_paging_parameters(api: Api, path, params, code) -> None:
    async with api.client() as client:
        response = await client.request("GET", f"{BASE}/{path}", params=params)
    assert response.status_code == 200
    assert response.json()["resultCode"] == code


async def test_delete_removes_the_result_and_frees_its_codes(api: Api) -> None:
    async with api.client() as client:
        def_id = (await client.create_obs_result(BUSY))["defId"]
        kept = await client.create_obs_result(
            {"resultCode": "NOANS", "displayResult": "No answer", "obsCodes": ["00603"]}
        )
        reply = await client.delete_obs_result(def_id)
        assert reply["resultCode"] == "0200000"
        assert reply["resultDesc"] == "deleteObsResult Success!"
        assert [d["defId"] for d in await _all(client)] == [kept["defId"]]
        again = await client.create_obs_result({**BUSY, "obsCodes": ["00537"]})
        assert again["resultCode"] == "0200000", again
        assert again["defId"] != def_id
    async with api.ctx.engine.connect() as conn:
        assert await obs_results.mapping(conn, 1) == {"00603": "NOANS", "00537": "BUSY"}
        assert await obs_results.display_code(conn, vdn_id=1, fail_code="00145") is None


async def test_delete_twice_or_unknown(api: Api) -> None:
    async with api.client() as client:
        def_id = (await client.create_obs_result(BUSY))["defId"]
        assert (await client.delete_obs_result(def_id))["resultCode"] == "0200000"
        reply = await client.delete_obs_result(def_id)
        assert reply["resultCode"] == "0200001"
        assert reply["resultDesc"] == f"defId: display result {def_id} does not exist"
        assert (await client.delete_obs_result(12345))["resultCode"] == "0200001"


@pytest.mark.parametrize("def_id", ["abc", "-1", "1.5", "99999999999999999999"])
async def test_delete_with_a_non_integer_id_changes_nothing(api: Api, def_id) -> None:
    async with api.client() as client:
        await client.create_obs_result(BUSY)
        reply = await client.delete_obs_result(def_id)
        assert reply["resultCode"] == "02000006"
        assert reply["resultDesc"].startswith("defId:")
        assert len(await _all(client)) == 1


async def test_display_results_are_per_vdn(api: Api) -> None:
    async with api.client(1) as one, api.client(2) as two:
        def_id = (await one.create_obs_result(BUSY))["defId"]
        assert (await two.query_obs_results())["totalCount"] == 0
        refused = await two.delete_obs_result(def_id)
        assert refused["resultCode"] == "0200001"
        assert [d["defId"] for d in await _all(one)] == [def_id]
        # the same resultCode and failure codes in another VDN are fine
        other = await two.create_obs_result(BUSY)
        assert other["resultCode"] == "0200000", other
        assert (await one.delete_obs_result(other["defId"]))["resultCode"] == "0200001"
        assert [d["vdnId"] for d in await _all(two)] == [2]
    async with api.ctx.engine.connect() as conn:
        assert await obs_results.display_code(conn, vdn_id=2, fail_code="00537") == "BUSY"
        assert await obs_results.display_code(conn, vdn_id=3, fail_code="00537") is None


async def test_dialing_lookup(api: Api) -> None:
    async with api.client() as client:
        await client.create_obs_result(BUSY)
    async with api.ctx.engine.connect() as conn:
        mapping = await obs_results.mapping(conn, 1)
        assert failcodes.display_code("00145", mapping) == "BUSY"
        assert await obs_results.display_code(conn, vdn_id=1, fail_code="00145") == "BUSY"
        assert await obs_results.display_code(conn, vdn_id=1, fail_code="00603") is None


async def test_result_code_catalogue_is_paged_in_code_order(api: Api) -> None:
    total = len(failcodes.CODES)
    async with api.client(2) as client:
        first = await client.query_obs_result_codes(page_size=5, page_num=1)
        second = await client.query_obs_result_codes(page_size=5, page_num=2)
        past = await client.query_obs_result_codes(page_size=50, page_num=99)
    assert first["resultCode"] == "0200000"
    assert first["totalCount"] == second["totalCount"] == past["totalCount"] == total
    codes = [c["obsCode"] for c in first["obsCodes"] + second["obsCodes"]]
    assert codes == [c.code for c in failcodes.CODES[:10]]
    assert first["obsCodes"][0] == {"obsCode": "00000", "obsCodeDesc": "Success"}
    assert past["obsCodes"] == []


async def test_a_create_that_loses_a_race_gets_the_precise_conflict(api: Api, monkeypatch) -> None:
    """The unique keys catch what the pre-check missed; nothing of the loser is stored."""
    async with api.client() as client:
        await client.create_obs_result(BUSY)
    real_mapping = store.mapping
    calls = []

    async def blind_once(conn, vdn_id, fail_codes=None):
        calls.append(fail_codes)
        return {} if len(calls) == 1 else await real_mapping(conn, vdn_id, fail_codes)

    monkeypatch.setattr(store, "mapping", blind_once)
    new = NewObsResult("NEW", "New", ("00603", "00145"))
    with pytest.raises(Conflict, match=r"obsCodes\[1\]: failure code 00145 .*'BUSY'"):
        await obs_results.create(
            api.ctx.engine, api.ctx.ids, vdn_id=1, new=new, now=datetime.now(UTC), actor=CLI
        )
    monkeypatch.undo()
    async with api.ctx.engine.connect() as conn:
        assert await obs_results.mapping(conn, 1) == {"00537": "BUSY", "00145": "BUSY"}
