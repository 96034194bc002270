"""The administration pages: VDNs, API keys, holidays and operators, for admins only."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from openisales.client import AsyncClient
from openisales.services import admin, audit, operators
from openisales.store.audit import Filter
from tests.conftest import BASE_URL
from tests.console.conftest import PASSWORD, Console

NEW_PASSWORD = "a new password, long enough"
PAGES = [
    "/console/admin/vdns",
    "/console/admin/keys",
    "/console/admin/holidays?vdn=1",
    "/console/admin/operators",
    "/console/admin/operators/sup1",
]


def posts(console: Console) -> list[tuple[str, dict[str, object]]]:
    """One forged change of every kind an admin page makes."""
    add = {"name": "intruder", "role": "admin", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    return [
        ("/console/admin/vdns", {"vdn_id": "3", "name": "vdn3", "time_zone": "UTC"}),
        ("/console/admin/keys", {"vdn": ["1", "2"]}),
        ("/console/admin/keys/revoke", {"ak": console.tenants[2].ak}),
        ("/console/admin/holidays", {"vdn": "1", "date": "2030-10-01", "name": "National Day"}),
        ("/console/admin/holidays/delete", {"vdn": "1", "date": "2030-10-01"}),
        ("/console/admin/operators", add),
        ("/console/admin/operators/sup2/access", {"role": "admin"}),
        (
            "/console/admin/operators/sup2/password",
            {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        ),
        ("/console/admin/operators/sup2/disable", {}),
        ("/console/admin/operators/sup2/enable", {}),
    ]


async def log_in_fails(console: Console, name: str, password: str) -> bool:
    reply = await console.browser().http.post(
        "/console/login", data={"username": name, "password": password}
    )
    return reply.status_code == 401


def client(ak: str, sk: str, console: Console, vdn_id: int = 1) -> AsyncClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=console.app), base_url=BASE_URL)  # type: ignore[arg-type]
    return AsyncClient(BASE_URL, ak, sk, vdn_id=vdn_id, http=http)


async def test_every_admin_page_renders_for_an_admin(console: Console) -> None:
    browser = await console.login("root")
    for path in PAGES:
        page = await browser.get(path)
        assert page.status_code == 200, (path, page.text)
        assert 'aria-label="Administration"' in page.text  # the sub-navigation
        assert 'aria-current="page"' in page.text
    assert (await browser.get("/console/admin")).url.path == "/console/admin/vdns"


@pytest.mark.parametrize("name", ["sup1", "view1"])
async def test_others_are_refused_every_admin_page_and_change(console: Console, name: str) -> None:
    browser = await console.login(name)
    assert browser.csrf  # a valid token: the role alone refuses
    for path in PAGES:
        assert (await browser.get(path)).status_code == 403, path
    for path, data in posts(console):
        reply = await browser.post(path, data)  # type: ignore[arg-type]
        assert reply.status_code == 403, (path, reply.text)
        assert "may not do this" in reply.text
    engine = console.ctx.engine
    assert [v.vdn_id for v in await admin.list_vdns(engine)] == [1, 2]
    assert sorted((k.vdn_ids, k.revoked_at) for k in await admin.list_keys(engine)) == [
        ((1,), None),
        ((2,), None),
    ]
    accounts = {a.operator.name: a.operator for a in await operators.accounts(engine)}
    assert set(accounts) == {"root", "sup1", "view1", "sup2"}
    assert accounts["sup2"].role.value == "supervisor" and not accounts["sup2"].disabled
    async with console.api(1) as api:
        assert (await api.list_holidays())["data"] == []
    assert await audit.search(engine, Filter(actor=f"operator:{name}")) == []
    assert not await log_in_fails(console, "sup2", PASSWORD)


async def test_a_vdn_added_is_listed_and_audited(console: Console) -> None:
    browser = await console.login("root")
    page = await browser.get("/console/admin/vdns")
    assert 'list="zones"' in page.text and '<option value="Asia/Shanghai">' in page.text
    reply = await browser.post(
        "/console/admin/vdns", {"vdn_id": "3", "name": "Paris", "time_zone": "Europe/Paris"}
    )
    assert reply.status_code == 303
    page = await browser.get(reply.headers["location"])
    assert "VDN 3 added" in page.text
    row = re.search(r'<tr data-vdn="3">(.*?)</tr>', page.text, re.S)
    assert row and "Paris" in row.group(1) and "Europe/Paris" in row.group(1)
    (entry,) = await audit.search(
        console.ctx.engine, Filter(action="vdn.add", actor="operator:root")
    )
    assert entry.vdn_id == 3 and entry.target == "vdn 3"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"vdn_id": "1", "name": "again", "time_zone": "UTC"}, "VDN 1 already exists"),
        ({"vdn_id": "4", "name": "typo", "time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"vdn_id": "10000", "name": "big", "time_zone": "UTC"}, "between 1 and 9999"),
        ({"vdn_id": "x", "name": "bad", "time_zone": "UTC"}, "between 1 and 9999"),
    ],
)
async def test_a_refused_vdn_shows_why_and_keeps_the_form(
    console: Console, data: dict[str, str], why: str
) -> None:
    browser = await console.login("root")
    reply = await browser.post("/console/admin/vdns", data)
    assert reply.status_code == 400
    assert why in reply.text and 'role="alert"' in reply.text
    assert f'value="{data["name"]}"' in reply.text and f'value="{data["time_zone"]}"' in reply.text
    assert [v.vdn_id for v in await admin.list_vdns(console.ctx.engine)] == [1, 2]


async def test_a_new_keys_sk_is_shown_once_and_the_key_works_until_revoked(
    console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    browser = await console.login("root")
    await browser.get("/console/admin/keys")
    made = await browser.post("/console/admin/keys", {"vdn": ["1", "2"], "ak": "ak_console_1"})
    assert made.status_code == 200  # the answer itself, not a redirect
    assert made.headers["cache-control"] == "no-store"
    ak = re.search(r"<code data-ak>([^<]+)</code>", made.text)
    sk = re.search(r"<code data-sk>([^<]+)</code>", made.text)
    assert ak and sk and ak.group(1) == "ak_console_1"
    ak_, sk_ = ak.group(1), sk.group(1)
    assert len(sk_) >= 32 and "shown this once" in made.text
    again = await browser.get("/console/admin/keys")
    assert ak_ in again.text and sk_ not in again.text and "data-sk" not in again.text
    assert sk_ not in caplog.text
    (entry,) = await audit.search(
        console.ctx.engine, Filter(action="key.create", actor="operator:root")
    )
    assert sk_ not in f"{entry.before}{entry.after}" and ak_ in (entry.after or "")
    for vdn_id in (1, 2):
        async with client(ak_, sk_, console, vdn_id) as api:
            assert (await api.list_holidays())["resultCode"] == "0200000"
    revoked = await browser.post("/console/admin/keys/revoke", {"ak": ak_})
    assert revoked.status_code == 303
    page = await browser.get(revoked.headers["location"])
    assert f"Key {ak_} revoked" in page.text
    row = re.search(rf'<tr data-ak="{ak_}">(.*?)</tr>', page.text, re.S)
    assert row and "revoked" in row.group(1) and "Revoke" not in row.group(1)
    async with client(ak_, sk_, console) as api:
        reply = await api.request("GET", "/rest/isales/v1/openapi/campaigns/1/holidays")
    assert reply.status_code == 401
    (entry,) = await audit.search(console.ctx.engine, Filter(action="key.revoke"))
    assert entry.actor == "operator:root"


async def test_a_refused_key_changes_nothing(console: Console) -> None:
    browser = await console.login("root")
    none = await browser.post("/console/admin/keys", {"ak": "my-key"})
    assert none.status_code == 400 and "a key needs at least one VDN" in none.text
    assert 'value="my-key"' in none.text and "data-sk" not in none.text
    taken = await browser.post("/console/admin/keys", {"vdn": "1", "ak": console.tenants[1].ak})
    assert taken.status_code == 400 and "already exists" in taken.text
    assert 'id="key-vdn-1" name="vdn" value="1" checked' in taken.text
    unknown = await browser.post("/console/admin/keys/revoke", {"ak": "nosuchkey"})
    assert unknown.status_code == 400 and "does not exist" in unknown.text
    assert len(await admin.list_keys(console.ctx.engine)) == 2


async def test_holidays_added_and_deleted_through_the_page_are_the_apis(console: Console) -> None:
    browser = await console.login("root")
    page = await browser.get("/console/admin/holidays")  # the first VDN
    assert "Holidays of VDN 1" in page.text and "Asia/Shanghai" in page.text
    reply = await browser.post(
        "/console/admin/holidays", {"vdn": "2", "date": "2030-10-01", "name": "National Day"}
    )
    assert reply.status_code == 303
    page = await browser.get(reply.headers["location"])
    assert "Holidays of VDN 2" in page.text and '<tr data-date="2030-10-01">' in page.text
    async with console.api(2) as api:
        listed = await api.list_holidays()
        assert listed["data"] == [{"date": "2030-10-01", "name": "National Day"}]
    async with console.api(1) as api:
        assert (await api.list_holidays())["data"] == []
    year = await browser.get("/console/admin/holidays?vdn=2&year=2031")
    assert '<tr data-date="2030-10-01">' not in year.text and "in 2031" in year.text
    gone = await browser.post("/console/admin/holidays/delete", {"vdn": "2", "date": "2030-10-01"})
    assert gone.status_code == 303
    async with console.api(2) as api:
        assert (await api.list_holidays())["data"] == []
    actions = [
        e.action
        for e in await audit.search(console.ctx.engine, Filter(vdns=[2], actor="operator:root"))
    ]
    assert actions == ["holiday.delete", "holiday.add"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"date": "2030-02-30", "name": "Nope"}, "0200030"),
        ({"date": "", "name": "Empty"}, "02000001"),
        ({"date": "2030-10-01", "name": "x" * 65}, "02000003"),
        ({"date": "2030-10-01", "name": "On VDN 9", "vdn": "9"}, "0200007"),
    ],
)
async def test_a_refused_holiday_shows_the_apis_code(
    console: Console, data: dict[str, str], code: str
) -> None:
    browser = await console.login("root")
    reply = await browser.post("/console/admin/holidays", {"vdn": "1", **data})
    assert reply.status_code == 400
    assert f'<span class="code">{code}</span>' in reply.text
    assert f'value="{data["name"]}"' in reply.text
    async with console.api(1) as api:
        assert (await api.list_holidays())["data"] == []


async def test_an_operator_added_can_log_in(console: Console) -> None:
    browser = await console.login("root")
    reply = await browser.post(
        "/console/admin/operators",
        {
            "name": "sup3",
            "role": "supervisor",
            "vdn": ["2"],
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert reply.status_code == 303
    page = await browser.get(reply.headers["location"])
    assert "Operator sup3 added" in page.text and "supervisor" in page.text
    listing = await browser.get("/console/admin/operators")
    assert '<tr data-operator="sup3">' in listing.text
    new = await console.login("sup3", NEW_PASSWORD)
    assert (await new.get("/console/vdn/2/campaigns")).status_code == 200
    assert (await new.get("/console/vdn/1/campaigns")).status_code == 404
    (entry,) = await audit.search(
        console.ctx.engine, Filter(action="operator.add", actor="operator:root")
    )
    assert entry.target == "operator sup3" and NEW_PASSWORD not in f"{entry.after}"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (
            {
                "name": "sup3",
                "role": "supervisor",
                "vdn": "1",
                "confirm": "something else entirely",
            },
            "confirmation differ",
        ),
        ({"name": "sup3", "role": "supervisor", "confirm": NEW_PASSWORD}, "needs at least one VDN"),
        (
            {"name": "sup3", "role": "overlord", "confirm": NEW_PASSWORD},
            "must be admin, supervisor or viewer",
        ),
        (
            {"name": "sup3", "role": "viewer", "vdn": "9", "confirm": NEW_PASSWORD},
            "VDN 9 does not exist",
        ),
        ({"name": "sup1", "role": "viewer", "vdn": "1", "confirm": NEW_PASSWORD}, "already exists"),
        (
            {"name": "bad name", "role": "viewer", "vdn": "1", "confirm": NEW_PASSWORD},
            "1-64 characters",
        ),
    ],
)
async def test_a_refused_operator_is_not_added(
    console: Console, data: dict[str, str], why: str
) -> None:
    browser = await console.login("root")
    reply = await browser.post("/console/admin/operators", {"password": NEW_PASSWORD, **data})
    assert reply.status_code == 400
    assert why in reply.text
    assert f'value="{data["name"]}"' in reply.text and NEW_PASSWORD not in reply.text
    names = {a.operator.name for a in await operators.accounts(console.ctx.engine)}
    assert names == {"root", "sup1", "view1", "sup2"}


async def test_a_short_password_is_refused_with_its_code(console: Console) -> None:
    browser = await console.login("root")
    reply = await browser.post(
        "/console/admin/operators",
        {"name": "sup3", "role": "viewer", "vdn": "1", "password": "short", "confirm": "short"},
    )
    assert reply.status_code == 400
    assert '<span class="code">02000007</span>' in reply.text and "at least 12" in reply.text


async def test_disabling_an_operator_ends_its_session_at_once(console: Console) -> None:
    victim = await console.login("sup1")
    assert (await victim.get("/console/vdn/1/campaigns")).status_code == 200
    browser = await console.login("root")
    page = await browser.get("/console/admin/operators/sup1")
    assert "Disable sup1" in page.text and 'data-confirm="Disable sup1?' in page.text
    reply = await browser.post("/console/admin/operators/sup1/disable")
    assert reply.status_code == 303
    page = await browser.get(reply.headers["location"])
    assert "sup1 disabled" in page.text and "Enable sup1" in page.text
    sent = await victim.get("/console/vdn/1/campaigns", follow=False)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/console/login")
    assert await log_in_fails(console, "sup1", PASSWORD)
    assert (await browser.post("/console/admin/operators/sup1/enable")).status_code == 303
    assert not await log_in_fails(console, "sup1", PASSWORD)
    actions = [
        e.action
        for e in await audit.search(console.ctx.engine, Filter(vdns=[None], actor="operator:root"))
    ]
    assert actions == ["operator.enable", "operator.disable"]


async def test_a_new_password_replaces_the_old_one(console: Console) -> None:
    victim = await console.login("view1")
    browser = await console.login("root")
    mismatch = await browser.post(
        "/console/admin/operators/view1/password", {"password": NEW_PASSWORD, "confirm": "other"}
    )
    assert mismatch.status_code == 400 and "confirmation differ" in mismatch.text
    assert not await log_in_fails(console, "view1", PASSWORD)
    reply = await browser.post(
        "/console/admin/operators/view1/password",
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert reply.status_code == 303
    assert await log_in_fails(console, "view1", PASSWORD)
    assert not await log_in_fails(console, "view1", NEW_PASSWORD)
    assert (await victim.get("/console/vdn/1/campaigns", follow=False)).status_code == 303


async def test_an_admin_cannot_disable_or_demote_itself(console: Console) -> None:
    browser = await console.login("root")
    page = await browser.get("/console/admin/operators/root")
    assert "You cannot disable yourself" in page.text and "/root/disable" not in page.text
    refused = await browser.post("/console/admin/operators/root/disable")
    assert refused.status_code == 400 and "you cannot disable yourself" in refused.text
    demoted = await browser.post(
        "/console/admin/operators/root/access", {"role": "viewer", "vdn": "1"}
    )
    assert demoted.status_code == 400 and "you cannot demote yourself" in demoted.text
    account = await operators.account(console.ctx.engine, "root")
    assert account.operator.role.value == "admin" and not account.operator.disabled
    assert (await browser.get("/console/admin/vdns")).status_code == 200
    assert await audit.search(console.ctx.engine, Filter(actor="operator:root")) == []


async def test_role_and_vdns_change_what_an_operator_sees(console: Console) -> None:
    viewer = await console.login("view1")
    assert (await viewer.get("/console/vdn/2/campaigns")).status_code == 404
    browser = await console.login("root")
    reply = await browser.post(
        "/console/admin/operators/view1/access", {"role": "supervisor", "vdn": ["1", "2"]}
    )
    assert reply.status_code == 303
    assert (await viewer.get("/console/vdn/2/campaigns")).status_code == 200
    (entry,) = await audit.search(console.ctx.engine, Filter(action="operator.access"))
    assert entry.before == '{"role":"viewer","vdns":[1]}'
    assert entry.after == '{"role":"supervisor","vdns":[1,2]}'
    assert (await browser.get("/console/admin/operators/nobody")).status_code == 404
