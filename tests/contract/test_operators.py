"""Console operators, their sessions and the login throttle, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.auth import passwords
from openisales.domain.operator import Role, SessionPolicy, Throttle
from openisales.errors import Conflict, NotFound, ParamError
from openisales.services import admin, audit, operators
from openisales.services.audit import Actor
from openisales.services.operators import LoginRefused
from openisales.store import operators as store
from openisales.store.audit import Entry, Filter
from openisales.store.sql import reading, transaction
from openisales.store.tables import audit as audit_table, console_session, login_throttle

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
POLICY = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=2))
THROTTLE = Throttle(per_account=5, per_address=20, window=timedelta(minutes=15))
ADDRESS = "192.0.2.10"
ROOT = Actor("operator", "root")


@pytest.fixture(autouse=True)
async def _vdns(engine: AsyncEngine) -> None:
    """VDNs 1 to 9 exist (an operator may only be given VDNs that do); the audit log is empty."""
    for vdn_id in range(1, 10):
        await admin.add_vdn(
            engine, vdn_id=vdn_id, name=f"vdn{vdn_id}", time_zone="UTC", now=NOW, actor=audit.CLI
        )
    async with transaction(engine) as conn:
        await conn.execute(sa.delete(audit_table))


async def _add(
    engine: AsyncEngine,
    name: str = "alice",
    role: Role = Role.SUPERVISOR,
    vdns: tuple[int, ...] = (1, 2),
    password: str = PASSWORD,
    actor: Actor = audit.CLI,
) -> None:
    await operators.add(engine, actor, name=name, role=role, vdns=vdns, password=password, now=NOW)


async def _login(
    engine: AsyncEngine,
    name: str = "alice",
    password: str = PASSWORD,
    *,
    now: datetime = NOW,
    address: str = ADDRESS,
    throttle: Throttle = THROTTLE,
) -> operators.Opened:
    return await operators.login(
        engine,
        name=name,
        password=password,
        address=address,
        now=now,
        policy=POLICY,
        throttle=throttle,
    )


async def _refused(engine: AsyncEngine, *args: str, **kwargs: object) -> LoginRefused:
    with pytest.raises(LoginRefused) as caught:
        await _login(engine, *args, **kwargs)  # type: ignore[arg-type]
    return caught.value


async def _session_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(sa.select(sa.func.count()).select_from(console_session))
    return int(count or 0)


async def _entries(engine: AsyncEngine, action: str | None = None) -> list[Entry]:
    return await audit.search(engine, Filter(action=action))


# ---- Accounts ---------------------------------------------------------------


async def test_add_list_and_read_an_account(engine: AsyncEngine) -> None:
    await _add(engine, "bob", Role.VIEWER, (3,))
    await _add(engine, "alice", Role.SUPERVISOR, (2, 1, 2))
    await _add(engine, "root", Role.ADMIN, (7,))  # an admin's VDNs are dropped: it sees all
    found = await operators.accounts(engine)
    assert [(a.operator.name, a.operator.role, a.operator.vdns) for a in found] == [
        ("alice", Role.SUPERVISOR, frozenset({1, 2})),
        ("bob", Role.VIEWER, frozenset({3})),
        ("root", Role.ADMIN, frozenset()),
    ]
    alice = await operators.account(engine, "alice")
    assert not alice.operator.disabled
    assert alice.created_at == alice.password_changed_at == NOW
    assert alice.password_hash.startswith("$argon2id$") and PASSWORD not in alice.password_hash
    with pytest.raises(NotFound, match="no operator named 'carol'"):
        await operators.account(engine, "carol")


async def test_a_taken_name_is_refused_and_nothing_is_audited(engine: AsyncEngine) -> None:
    await _add(engine)
    with pytest.raises(Conflict, match="an operator named 'alice' already exists"):
        await _add(engine, role=Role.VIEWER, vdns=(3,))
    assert len(await _entries(engine, "operator.add")) == 1
    (alice,) = await operators.accounts(engine)
    assert alice.operator.vdns == frozenset({1, 2})


@pytest.mark.parametrize(
    ("name", "role", "vdns", "password", "field"),
    [
        ("bad name", Role.ADMIN, (), PASSWORD, "name"),
        ("alice", Role.SUPERVISOR, (), PASSWORD, "vdn"),
        ("alice", Role.VIEWER, (), PASSWORD, "vdn"),
        ("alice", Role.ADMIN, (), "too short", "password"),
        ("alice", Role.ADMIN, (), "ALICE", "password"),
        ("alice.operator", Role.ADMIN, (), "Alice.Operator", "password"),
    ],
)
async def test_invalid_accounts_are_refused_and_not_audited(
    engine: AsyncEngine, name: str, role: Role, vdns: tuple[int, ...], password: str, field: str
) -> None:
    with pytest.raises(ParamError) as caught:
        await _add(engine, name, role, vdns, password)
    assert caught.value.field == field
    assert password not in caught.value.description
    assert await operators.accounts(engine) == []
    assert await _entries(engine) == []


async def test_set_access_changes_role_and_vdns(engine: AsyncEngine) -> None:
    await _add(engine)
    later = NOW + timedelta(minutes=1)
    await operators.set_access(
        engine, ROOT, name="alice", role=Role.VIEWER, vdns=[5, 4, 5], now=later
    )
    alice = (await operators.account(engine, "alice")).operator
    assert (alice.role, alice.vdns) == (Role.VIEWER, frozenset({4, 5}))
    await operators.set_access(engine, ROOT, name="alice", role=Role.ADMIN, vdns=[1], now=later)
    alice = (await operators.account(engine, "alice")).operator
    assert (alice.role, alice.vdns) == (Role.ADMIN, frozenset())
    (last, first) = await _entries(engine, "operator.access")
    assert (first.actor, first.target, first.at) == ("operator:root", "operator alice", later)
    assert first.before == '{"role":"supervisor","vdns":[1,2]}'
    assert first.after == '{"role":"viewer","vdns":[4,5]}'
    assert last.after == '{"role":"admin","vdns":[]}'


async def test_set_access_refuses_unknown_operators_and_missing_vdns(engine: AsyncEngine) -> None:
    await _add(engine)
    with pytest.raises(NotFound):
        await operators.set_access(
            engine, audit.CLI, name="ghost", role=Role.VIEWER, vdns=[1], now=NOW
        )
    with pytest.raises(ParamError, match="needs at least one VDN"):
        await operators.set_access(
            engine, audit.CLI, name="alice", role=Role.SUPERVISOR, vdns=[], now=NOW
        )
    with pytest.raises(NotFound, match="VDN 14 does not exist"):
        await operators.set_access(
            engine, audit.CLI, name="alice", role=Role.VIEWER, vdns=[1, 14], now=NOW
        )
    assert await _entries(engine, "operator.access") == []
    alice = (await operators.account(engine, "alice")).operator
    assert (alice.role, alice.vdns) == (Role.SUPERVISOR, frozenset({1, 2}))


async def test_an_operator_is_given_existing_vdns_only(engine: AsyncEngine) -> None:
    with pytest.raises(NotFound, match="VDN 17 does not exist"):
        await _add(engine, vdns=(1, 17))
    assert await operators.accounts(engine) == []
    assert await _entries(engine, "operator.add") == []


async def test_unknown_operators_cannot_be_disabled_or_given_a_password(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(NotFound):
        await operators.set_disabled(engine, audit.CLI, name="ghost", disabled=True, now=NOW)
    with pytest.raises(NotFound):
        await operators.set_password(
            engine, audit.CLI, name="ghost", password=PASSWORD + "2", now=NOW
        )
    assert await _entries(engine) == []


async def test_every_change_is_audited_without_the_password(engine: AsyncEngine) -> None:
    new_password = "another long password"
    await _add(engine, actor=ROOT)
    await operators.set_disabled(engine, audit.CLI, name="alice", disabled=True, now=NOW)
    await operators.set_disabled(engine, audit.CLI, name="alice", disabled=False, now=NOW)
    await operators.set_password(engine, audit.CLI, name="alice", password=new_password, now=NOW)
    await operators.set_access(engine, audit.CLI, name="alice", role=Role.ADMIN, vdns=[], now=NOW)
    with pytest.raises(ParamError):  # a refused change is not recorded
        await operators.set_password(engine, audit.CLI, name="alice", password="short", now=NOW)
    entries = list(reversed(await _entries(engine)))
    assert [(e.action, e.actor, e.target, e.vdn_id) for e in entries] == [
        ("operator.add", "operator:root", "operator alice", None),
        ("operator.disable", "cli", "operator alice", None),
        ("operator.enable", "cli", "operator alice", None),
        ("operator.passwd", "cli", "operator alice", None),
        ("operator.access", "cli", "operator alice", None),
    ]
    assert entries[0].after == '{"role":"supervisor","vdns":[1,2]}'
    assert (entries[1].before, entries[1].after) == ('{"disabled":false}', '{"disabled":true}')
    assert entries[3].after == '{"password":"***"}'
    for entry in entries:
        for snapshot in (entry.before or "", entry.after or ""):
            assert PASSWORD not in snapshot and new_password not in snapshot
            assert "argon2" not in snapshot


# ---- Login and sessions ------------------------------------------------------


async def test_a_login_opens_a_session_that_session_finds(engine: AsyncEngine) -> None:
    await _add(engine)
    opened = await _login(engine, "  alice ")
    assert opened.operator.name == "alice" and opened.operator.role is Role.SUPERVISOR
    assert opened.token and opened.csrf_token and opened.token != opened.csrf_token
    found = await operators.session(
        engine, opened.token, now=NOW + timedelta(seconds=1), policy=POLICY
    )
    assert found is not None
    assert found.account.operator == opened.operator
    assert found.csrf_token == opened.csrf_token
    assert found.created_at == found.last_seen_at == NOW
    assert found.expires_at == NOW + POLICY.absolute
    assert found.token_hash == operators.token_hash(opened.token) != opened.token
    assert await operators.session(engine, "not-a-token", now=NOW, policy=POLICY) is None
    await operators.logout(engine, opened.token)
    assert await operators.session(engine, opened.token, now=NOW, policy=POLICY) is None
    assert await _session_rows(engine) == 0


async def test_a_session_sees_access_changes_at_its_next_request(engine: AsyncEngine) -> None:
    await _add(engine)
    opened = await _login(engine)
    await operators.set_access(engine, ROOT, name="alice", role=Role.VIEWER, vdns=[9], now=NOW)
    found = await operators.session(engine, opened.token, now=NOW, policy=POLICY)
    assert found is not None
    assert (found.account.operator.role, found.account.operator.vdns) == (
        Role.VIEWER,
        frozenset({9}),
    )


async def test_wrong_password_unknown_name_and_disabled_account_look_alike(
    engine: AsyncEngine,
) -> None:
    await _add(engine)
    await _add(engine, "dora", password="dora's long password")
    await operators.set_disabled(engine, audit.CLI, name="dora", disabled=True, now=NOW)
    refusals = [
        await _refused(engine, "alice", "wrong password!!"),
        await _refused(engine, "nobody", PASSWORD),
        await _refused(engine, "not a valid name", PASSWORD),
        await _refused(engine, "dora", "dora's long password"),
    ]
    assert {(str(r), r.description, r.result_code, r.until) for r in refusals} == {
        ("wrong name or password", "wrong name or password", "0200001", None)
    }
    assert await _session_rows(engine) == 0


async def test_the_throttle_blocks_an_account_until_its_window_ends(engine: AsyncEngine) -> None:
    await _add(engine)
    for second in range(5):
        at = NOW + timedelta(seconds=second)
        refused = await _refused(
            engine, "alice", "wrong password!!", now=at, address=f"10.0.0.{second}"
        )
        assert refused.until is None
    # the right password, from a fresh address, a different case of the name
    for name in ("alice", "ALICE"):
        refused = await _refused(
            engine, name, PASSWORD, now=NOW + timedelta(minutes=1), address="10.9.9.9"
        )
        assert str(refused) == "too many failed logins; try again later"
        assert refused.until == NOW + THROTTLE.window
    almost = NOW + THROTTLE.window - timedelta(microseconds=1)
    assert (await _refused(engine, "alice", PASSWORD, now=almost)).until == NOW + THROTTLE.window
    opened = await _login(engine, now=NOW + THROTTLE.window)
    assert opened.operator.name == "alice"


async def test_the_throttle_blocks_an_address_across_names(engine: AsyncEngine) -> None:
    throttle = Throttle(per_account=5, per_address=3, window=timedelta(minutes=15))
    await _add(engine)
    for i, name in enumerate(["mallory", "trent", "alice"]):
        at = NOW + timedelta(seconds=i)
        await _refused(engine, name, "guess guess guess", now=at, throttle=throttle)
    later = NOW + timedelta(minutes=1)
    refused = await _refused(engine, "alice", PASSWORD, now=later, throttle=throttle)
    assert refused.until == NOW + throttle.window
    # another address is not blocked, and alice's own count (1) is under its limit
    opened = await _login(engine, now=later, address="198.51.100.7", throttle=throttle)
    assert opened.operator.name == "alice"
    # a success does not clear the address's count
    refused = await _refused(engine, "alice", PASSWORD, now=later, throttle=throttle)
    assert refused.until == NOW + throttle.window


async def test_a_success_clears_the_accounts_failures(engine: AsyncEngine) -> None:
    await _add(engine)
    for second in range(4):
        await _refused(engine, "alice", "wrong password!!", now=NOW + timedelta(seconds=second))
    await _login(engine, now=NOW + timedelta(seconds=10))
    async with reading(engine) as conn:
        assert await store.failures(conn, "account", "alice") is None
        assert await store.failures(conn, "address", ADDRESS) == (4, NOW)
    for second in range(4):
        await _refused(
            engine, "alice", "wrong password!!", now=NOW + timedelta(seconds=20 + second)
        )
    assert (await _login(engine, now=NOW + timedelta(seconds=30))).operator.name == "alice"


async def test_a_failure_after_the_window_starts_a_new_one(engine: AsyncEngine) -> None:
    await _add(engine)
    for second in range(5):
        await _refused(engine, "alice", "wrong password!!", now=NOW + timedelta(seconds=second))
    ends = NOW + THROTTLE.window
    # the instant the window ends, the next failure is the first of a new window
    for second in range(5):
        refused = await _refused(
            engine, "alice", "wrong password!!", now=ends + timedelta(seconds=second)
        )
        assert refused.until is None
    async with reading(engine) as conn:
        assert await store.failures(conn, "account", "alice") == (5, ends)
    refused = await _refused(engine, "alice", PASSWORD, now=ends + timedelta(seconds=5))
    assert refused.until == ends + THROTTLE.window


async def test_a_successful_login_prunes_ended_throttle_windows(engine: AsyncEngine) -> None:
    await _add(engine)
    await _refused(engine, "ghost", "wrong password!!", address="203.0.113.1")
    await _login(engine, now=NOW + THROTTLE.window + timedelta(seconds=1))
    async with engine.connect() as conn:
        keys: set[str] = set(await conn.scalars(sa.select(login_throttle.c.key)))
    assert keys == set()


async def test_an_idle_session_ends_and_its_row_is_deleted(engine: AsyncEngine) -> None:
    await _add(engine)
    opened = await _login(engine)

    async def at(minutes: int) -> bool:
        now = NOW + timedelta(minutes=minutes)
        return await operators.session(engine, opened.token, now=now, policy=POLICY) is not None

    assert await at(29)  # within the idle time; last use recorded at +29
    assert await at(58)  # 29 minutes after the last use
    assert await _session_rows(engine) == 1
    assert not await at(88)  # 30 minutes after the last use
    assert await _session_rows(engine) == 0
    assert not await at(58)  # gone for good


async def test_a_busy_session_ends_at_its_absolute_expiry(engine: AsyncEngine) -> None:
    await _add(engine)
    opened = await _login(engine)
    for minutes in range(20, 120, 20):
        now = NOW + timedelta(minutes=minutes)
        assert await operators.session(engine, opened.token, now=now, policy=POLICY) is not None
    at_expiry = NOW + POLICY.absolute
    assert await operators.session(engine, opened.token, now=at_expiry, policy=POLICY) is None
    assert await _session_rows(engine) == 0


async def test_last_use_is_written_at_most_once_a_minute(engine: AsyncEngine) -> None:
    await _add(engine)
    opened = await _login(engine)
    hashed = operators.token_hash(opened.token)

    async def last_seen() -> datetime:
        async with reading(engine) as conn:
            found = await store.get_session(conn, hashed)
        assert found is not None
        return found.last_seen_at

    await operators.session(engine, opened.token, now=NOW + timedelta(seconds=59), policy=POLICY)
    assert await last_seen() == NOW
    await operators.session(engine, opened.token, now=NOW + timedelta(seconds=60), policy=POLICY)
    assert await last_seen() == NOW + timedelta(seconds=60)


async def test_a_login_deletes_other_expired_sessions(engine: AsyncEngine) -> None:
    await _add(engine)
    await _add(engine, "bob", Role.VIEWER, (1,), "bob's long password")
    await _login(engine)
    await _login(engine, now=NOW + timedelta(minutes=10))
    await _login(engine, "bob", "bob's long password", now=NOW + timedelta(minutes=35))
    assert await _session_rows(engine) == 2  # alice's first one was idle too long


async def test_disabling_ends_sessions_at_once(engine: AsyncEngine) -> None:
    await _add(engine)
    opened = [await _login(engine), await _login(engine, address="198.51.100.1")]
    await operators.set_disabled(engine, ROOT, name="alice", disabled=True, now=NOW)
    for each in opened:
        assert await operators.session(engine, each.token, now=NOW, policy=POLICY) is None
    assert await _session_rows(engine) == 0
    assert (await operators.account(engine, "alice")).operator.disabled
    await operators.set_disabled(engine, ROOT, name="alice", disabled=False, now=NOW)
    assert await operators.session(engine, opened[0].token, now=NOW, policy=POLICY) is None
    assert (await _login(engine)).operator.disabled is False


async def test_a_session_of_an_operator_disabled_behind_its_back_ends(engine: AsyncEngine) -> None:
    await _add(engine)
    opened = await _login(engine)
    async with transaction(engine) as conn:  # the flag alone, as another writer might set it
        await store.set_disabled(conn, "alice", True, NOW)
    assert await operators.session(engine, opened.token, now=NOW, policy=POLICY) is None
    assert await _session_rows(engine) == 0


async def test_a_new_password_ends_sessions_and_replaces_the_old(engine: AsyncEngine) -> None:
    new_password = "a brand new password"
    await _add(engine)
    opened = await _login(engine)
    later = NOW + timedelta(minutes=1)
    await operators.set_password(engine, ROOT, name="alice", password=new_password, now=later)
    assert await operators.session(engine, opened.token, now=later, policy=POLICY) is None
    assert await _session_rows(engine) == 0
    await _refused(engine, "alice", PASSWORD, now=later)
    assert (await _login(engine, "alice", new_password, now=later)).operator.name == "alice"
    assert (await operators.account(engine, "alice")).password_changed_at == later


async def test_a_weak_hash_is_upgraded_at_login(engine: AsyncEngine) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    assert passwords.needs_rehash(weak)
    async with transaction(engine) as conn:
        await store.insert(conn, "alice", Role.VIEWER, [1], weak, NOW)
    await _login(engine, now=NOW + timedelta(minutes=1))
    upgraded = (await operators.account(engine, "alice")).password_hash
    assert upgraded != weak and not passwords.needs_rehash(upgraded)
    assert passwords.verify(upgraded, PASSWORD)
    assert await _entries(engine) == []  # not a change of the account's
    alice = await operators.account(engine, "alice")
    assert alice.password_changed_at == NOW  # the same password, only better kept


async def test_a_rehash_never_overwrites_a_new_password(engine: AsyncEngine) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    async with transaction(engine) as conn:
        await store.insert(conn, "alice", Role.VIEWER, [1], weak, NOW)
        assert not await store.rehash(conn, "alice", "not the stored hash", "$argon2id$new")
        assert await store.rehash(conn, "alice", weak, "$argon2id$new")
    assert (await operators.account(engine, "alice")).password_hash == "$argon2id$new"


async def test_a_password_changed_during_a_login_refuses_it(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _add(engine)
    stale = await operators.account(engine, "alice")  # what the login read before the change
    await operators.set_password(
        engine, ROOT, name="alice", password="the replacement one", now=NOW + timedelta(seconds=1)
    )
    real_get = store.get
    reads: list[str] = []

    async def get(conn: object, name: str, *, lock: bool = False) -> store.Account | None:
        reads.append(name)
        if len(reads) == 1:
            return stale
        return await real_get(conn, name, lock=lock)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "get", get)
    refused = await _refused(engine, "alice", PASSWORD, now=NOW + timedelta(seconds=2))
    assert str(refused) == "wrong name or password"
    assert reads == ["alice", "alice"]
    assert await _session_rows(engine) == 0
