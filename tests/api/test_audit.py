"""The audit log through the signed API: every change made with an AK leaves one entry.

Each entry is written in the change's own transaction, so a refused change
leaves none; the write-back and the dialing engine leave none either (their
history rows are their record). ``api``'s two VDNs and keys were made as the
CLI (``vdn.add``, ``key.create`` by ``cli``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from openisales.auth.vault import Vault
from openisales.domain.appointment import to_ms
from openisales.services import admin, audit
from openisales.services.audit import CLI
from openisales.store.audit import Entry, Filter
from openisales.store.tables import audit as audit_table
from tests.conftest import MASTER_KEY, Api
from tests.helpers import add_numbers, campaign_body, define, make_campaign


def _ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["resultCode"] == "0200000", reply
    return reply


async def _entries(api: Api, *, action: str | None = None, vdn: int = 1) -> list[Entry]:
    """The entries made with ``vdn``'s AK (oldest first), of ``action`` when given."""
    where = Filter(actor=f"ak:{api.tenants[vdn].ak}", action=action)
    return list(reversed(await audit.search(api.ctx.engine, where, limit=1000)))


async def _one(api: Api, action: str, vdn: int = 1) -> Entry:
    (entry,) = await _entries(api, action=action, vdn=vdn)
    return entry


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


async def test_campaign_changes_record_who_what_and_the_fields_before_and_after(
    api: Api,
) -> None:
    ak = api.tenants[1].ak
    async with api.client() as client:
        cid = await make_campaign(client, "Spring")
        _ok(await client.modify_campaign(cid, campaign_body("Spring", description="renewals")))
        paused = await client.request("PUT", f"/rest/isales/v1/openapi/campaigns/1/{cid}/pause")
        assert paused.json()["resultCode"] == "0200000"
        _ok(await client.resume_campaign(cid))
        _ok(await client.set_retry_policy(cid, {"policyType": 0, "noRetryPolicy": ["007"]}))
        _ok(await client.pause_campaign(cid))
        _ok(await client.delete_campaign(cid))
    entries = await _entries(api)
    assert [e.action for e in entries] == [
        "campaign.create",
        "campaign.modify",
        "campaign.pause",
        "campaign.resume",
        "campaign.retry_policy",
        "campaign.pause",
        "campaign.delete",
    ]
    assert {(e.actor, e.vdn_id, e.target) for e in entries} == {(f"ak:{ak}", 1, f"campaign {cid}")}
    created, modified, pause, resume, policy, _, deleted = entries
    assert _json(created.before) is None
    assert _json(created.after)["name"] == "Spring"
    assert _json(created.after)["campaignId"] == cid
    assert _json(modified.before)["description"] == ""
    assert _json(modified.after)["description"] == "renewals"
    assert _json(modified.before)["name"] == _json(modified.after)["name"] == "Spring"
    assert (_json(pause.before), _json(pause.after)) == ({"status": 2}, {"status": 3})
    assert (_json(resume.before), _json(resume.after)) == ({"status": 3}, {"status": 2})
    assert _json(policy.before)["noRetryPolicy"] == []
    assert _json(policy.after)["noRetryPolicy"] == ["007"]
    assert _json(deleted.before)["name"] == "Spring" and deleted.after is None
    # the request's id, as the server answered it
    assert pause.request_id == paused.headers["x-request-id"]
    assert all(e.request_id for e in entries)


async def test_a_refused_change_writes_no_entry(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client, "Taken")
        before = len(await _entries(api))
        refused = [
            await client.create_campaign(campaign_body("Taken")),  # duplicate name
            await client.pause_campaign(cid + 100),  # no such campaign
            await client.resume_campaign(cid),  # running, not paused
            await client.delete_campaign(cid),  # running
            await client.add_call_data(cid + 100, [{"called": "1"}]),
            await client.delete_blocklist({"blocklistNo": "999"}),  # not listed
            await client.delete_obs_result("123"),
            await client.add_business_result({"name": "A", "code": "A"}),
            await client.add_business_result({"name": "A", "code": "A"}),  # duplicate code
        ]
    assert [r["resultCode"] for r in refused[:-2]] == [
        "0200005",
        "0200007",
        "0200011",
        "0200011",
        "0200007",
        "0200001",
        "0200001",
    ]
    assert refused[-1]["resultCode"] != "0200000"
    entries = await _entries(api)
    # only the first business result went in
    assert [e.action for e in entries[before:]] == ["busi_result.add"]


async def test_add_call_data_is_one_entry_per_call_not_per_record(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        reply = _ok(
            await client.add_call_data(
                cid,
                [{"called": [{"calledNo": n, "type": "SI"}]} for n in ("11", "12", "13")],
                version=2,
                batch_id="b-7",
            )
        )
    ids = [d["dataId"] for d in reply["returnObject"]["dataIdList"]]
    entry = await _one(api, "calldata.add")
    assert (entry.vdn_id, entry.target, entry.before) == (1, f"campaign {cid}", None)
    assert _json(entry.after) == {"records": 3, "dataIds": ids, "batchId": "b-7"}


async def test_a_write_back_writes_no_entry(api: Api) -> None:
    async with api.client() as client:
        await define(client, "OK", "PAID")
        cid = await make_campaign(client)
        (data_id,) = await add_numbers(client, cid, "13800000001")
        before = await _entries(api)
        reply = await client.write_back(data_id, {"busiResult": "OK", "subStatus": "PAID"})
    assert reply["resultCode"] == "0200000", reply
    assert await _entries(api) == before


async def test_key_entries_hold_the_ak_and_vdns_never_the_sk(api: Api) -> None:
    sk = "a-secret-that-must-not-be-logged"
    ak, _ = await admin.create_key(
        api.ctx.engine,
        Vault(MASTER_KEY),
        vdn_ids=[2],
        now=datetime.now(UTC),
        actor=CLI,
        ak="akaudit",
        sk=sk,
    )
    await admin.revoke_key(api.ctx.engine, ak=ak, now=datetime.now(UTC), actor=CLI)
    created = await audit.search(api.ctx.engine, Filter(action="key.create", actor="cli"))
    by_target = {e.target: e for e in created}
    entry = by_target["key akaudit"]
    assert (entry.vdn_id, entry.before) == (2, None)
    assert _json(entry.after) == {"ak": "akaudit", "vdnIds": [2]}
    for tenant in api.tenants.values():  # the fixture's keys, made the same way
        assert tenant.sk not in (by_target[f"key {tenant.ak}"].after or "")
    (revoked,) = await audit.search(api.ctx.engine, Filter(action="key.revoke"))
    assert (revoked.actor, revoked.target, revoked.vdn_id) == ("cli", "key akaudit", 2)
    assert _json(revoked.after) == {"ak": "akaudit", "vdnIds": [2], "revoked": True}
    async with api.ctx.engine.connect() as conn:
        rows = (await conn.execute(sa.select(audit_table))).all()
    assert rows and not any(sk in str(tuple(row)) for row in rows)


async def test_vdn_add_is_recorded(api: Api) -> None:
    await admin.add_vdn(
        api.ctx.engine, vdn_id=7, name="care", time_zone="UTC", now=datetime.now(UTC), actor=CLI
    )
    (entry,) = await audit.search(api.ctx.engine, Filter(action="vdn.add", vdns=[7]))
    assert (entry.actor, entry.target, entry.request_id) == ("cli", "vdn 7", None)
    assert _json(entry.after) == {"vdnId": 7, "name": "care", "timeZone": "UTC"}


async def test_blocklist_holidays_and_definitions_are_recorded(api: Api) -> None:
    async with api.client() as client:
        _ok(await client.add_blocklist({"blocklist": ["111", "222"]}))
        _ok(await client.add_blocklist({"blocklist": ["111"], "isCoverDupNo": 1, "typeId": "t"}))
        _ok(await client.delete_blocklist({"blocklistNo": "222"}))
        _ok(await client.add_holidays([{"date": "2030-10-01", "name": "National"}]))
        _ok(await client.add_holidays([{"date": "2030-10-01", "name": "Day"}]))
        _ok(await client.delete_holidays(["2030-10-01", "2030-10-02"]))
        _ok(await client.delete_holidays(["2030-10-02"]))  # nothing listed: no change
        _ok(await client.add_business_result({"name": "Sold", "code": "S", "children": []}))
        def_id = _ok(
            await client.create_obs_result(
                {"resultCode": "BUSY", "displayResult": "Busy", "obsCodes": ["00537"]}
            )
        )["defId"]
        _ok(await client.delete_obs_result(def_id))
    entries = await _entries(api)
    assert [(e.action, e.target) for e in entries] == [
        ("blocklist.add", "numbers 111, 222"),
        ("blocklist.add", "number 111"),
        ("blocklist.delete", "number 222"),
        ("holiday.add", "holiday 2030-10-01"),
        ("holiday.add", "holiday 2030-10-01"),
        ("holiday.delete", "holiday 2030-10-01"),
        ("busi_result.add", "business result S"),
        ("obs_result.create", f"display result {def_id}"),
        ("obs_result.delete", f"display result {def_id}"),
    ]
    assert {e.vdn_id for e in entries} == {1}
    added, covered, removed, named, renamed, unlisted, busi, created, deleted = entries
    assert added.before is None
    assert [x["blockNum"] for x in _json(added.after)] == ["111", "222"]
    assert [x["typeId"] for x in _json(covered.before)] == [None]
    assert [x["typeId"] for x in _json(covered.after)] == ["t"]
    assert [x["blockNum"] for x in _json(removed.before)] == ["222"] and removed.after is None
    assert (_json(named.before), _json(named.after)) == (
        None,
        [{"date": "2030-10-01", "name": "National"}],
    )
    assert _json(renamed.before) == [{"date": "2030-10-01", "name": "National"}]
    assert _json(renamed.after) == [{"date": "2030-10-01", "name": "Day"}]
    assert _json(unlisted.before) == [{"date": "2030-10-01", "name": "Day"}]
    assert _json(busi.after) == {"code": "S", "name": "Sold", "description": "", "children": []}
    assert _json(created.after)["resultCode"] == "BUSY"
    assert _json(deleted.before) == _json(created.after) and deleted.after is None


async def test_caller_numbers_dialing_and_call_data_deletes_are_recorded(api: Api) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        _ok(await client.add_caller_numbers(cid, [{"accessCode": "7001", "priority": 2}]))
        _ok(await client.delete_caller_numbers(cid, ["88889527"]))
        _ok(await client.set_dialing(cid, {"gateway": "webhook", "maxConcurrency": 3}))
        await add_numbers(client, cid, "1", "2", session="s-1")
        _ok(await client.pause_campaign(cid))
        _ok(await client.delete_call_data(cid, {"sessionId": "nobody"}))  # matches none
        _ok(await client.delete_call_data(cid, {"sessionId": "s-1"}))
    actions = [e.action for e in await _entries(api)]
    assert actions == [
        "campaign.create",
        "caller_number.add",
        "caller_number.delete",
        "campaign.dialing",
        "calldata.add",
        "campaign.pause",
        "calldata.delete",
    ]
    added = await _one(api, "caller_number.add")
    assert _json(added.before) == {"callerNo": [{"accessCode": "88889527", "priority": 3}]}
    assert _json(added.after) == {
        "callerNo": [
            {"accessCode": "88889527", "priority": 3},
            {"accessCode": "7001", "priority": 2},
        ]
    }
    removed = await _one(api, "caller_number.delete")
    assert _json(removed.after) == {"callerNo": [{"accessCode": "7001", "priority": 2}]}
    dialing = await _one(api, "campaign.dialing")
    assert _json(dialing.before)["gateway"] == ""
    assert (_json(dialing.after)["gateway"], _json(dialing.after)["maxConcurrency"]) == (
        "webhook",
        3,
    )
    deleted = await _one(api, "calldata.delete")
    assert deleted.target == f"campaign {cid}" and deleted.after is None
    assert _json(deleted.before)["records"] == 2
    assert _json(deleted.before)["filter"]["session_id"] == "s-1"


async def test_appointment_changes_are_recorded(api: Api) -> None:
    at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    async with api.client() as client:
        cid = await make_campaign(client)
        reply = _ok(
            await client.create_appointment(
                {
                    "callType": 1,
                    "calledNo": "13800000001",
                    "workNo": "2033",
                    "taskId": cid,
                    "appointTime": to_ms(at),
                }
            )
        )
        appoint_id = reply["returnObject"]["appointId"]
        _ok(await client.update_appointment({"appointId": appoint_id, "workNo": "4711"}))
        _ok(
            await client.update_appointment_result(
                {"appointId": appoint_id, "failCode": "00000", "busiResult": "OK"}
            )
        )
    created = await _one(api, "appointment.create")
    modified = await _one(api, "appointment.modify")
    result = await _one(api, "appointment.result")
    target = f"appointment {appoint_id}"
    assert created.target == modified.target == result.target == target
    assert _json(created.after)["calledNo"] == "13800000001"
    assert _json(created.after)["campaignId"] == cid
    assert _json(modified.before)["workNo"] == "2033"
    assert _json(modified.after)["workNo"] == "4711"
    assert _json(result.before)["status"] == 0
    assert (_json(result.after)["status"], _json(result.after)["busiResult"]) == (2, "OK")


@pytest.mark.parametrize("vdn", [1, 2])
async def test_each_entry_belongs_to_the_vdn_and_key_that_made_it(api: Api, vdn: int) -> None:
    async with api.client(vdn) as client:
        await make_campaign(client, f"v{vdn}")
    (entry,) = await _entries(api, vdn=vdn)
    assert (entry.vdn_id, entry.actor) == (vdn, f"ak:{api.tenants[vdn].ak}")
    assert await _entries(api, vdn=3 - vdn) == []
