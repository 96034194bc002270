"""Console operators and their sessions: accounts, login, the session of a request, logout.

Every change to an account is audited (``services.audit``). Disabling an
operator or changing its password ends its sessions in the same transaction.
A login is refused with the same answer for an unknown name, a wrong password
and a disabled account; past the throttle's limits (per account and per
address) it is refused without checking the password. The KDF (tenths of a
second of CPU) runs in a worker thread, so a login does not hold up the event
loop serving the other requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.auth import passwords
from openisales.domain.operator import (
    Operator,
    Role,
    SessionPolicy,
    Throttle,
    check_name,
    check_password,
    needs_touch,
    session_alive,
)
from openisales.errors import Conflict, NotFound, OpenISalesError, ParamError
from openisales.services.audit import Actor, record
from openisales.store import operators as store
from openisales.store.operators import Account, Session
from openisales.store.sql import DuplicateError, reading, transaction
from openisales.validation import BAD_VALUE


class LoginRefused(OpenISalesError):
    """The login failed; ``until`` is set when the throttle refused it."""

    def __init__(self, description: str, until: datetime | None = None) -> None:
        super().__init__(description)
        self.until = until


def _access(role: Role, vdns: Iterable[int]) -> dict[str, object]:
    return {"role": role.value, "vdns": sorted(set(vdns))}


def _check(name: str, role: Role, vdns: Iterable[int]) -> None:
    if (why := check_name(name)) is not None:
        raise ParamError(BAD_VALUE, "name", why)
    if role is not Role.ADMIN and not list(vdns):
        raise ParamError(BAD_VALUE, "vdn", f"a {role.value} needs at least one VDN")


async def _check_vdns(conn: AsyncConnection, vdns: Iterable[int]) -> None:
    """``0200007`` naming the first VDN that does not exist (read in the change's transaction)."""
    missing = await store.unknown_vdns(conn, vdns)
    if missing:
        raise NotFound(f"vdn: VDN {missing[0]} does not exist")


async def _password(password: str, name: str) -> str:
    if (why := check_password(password, name)) is not None:
        raise ParamError(BAD_VALUE, "password", why)
    return await asyncio.to_thread(passwords.hash_password, password)


async def add(
    engine: AsyncEngine,
    actor: Actor,
    *,
    name: str,
    role: Role,
    vdns: Iterable[int],
    password: str,
    now: datetime,
) -> None:
    vdns = sorted(set(vdns)) if role is not Role.ADMIN else []
    _check(name, role, vdns)
    hashed = await _password(password, name)
    try:
        async with transaction(engine) as conn:
            await _check_vdns(conn, vdns)
            await store.insert(conn, name, role, vdns, hashed, now)
            await record(
                conn,
                actor,
                "operator.add",
                vdn_id=None,
                target=f"operator {name}",
                now=now,
                after=_access(role, vdns),
            )
    except DuplicateError:
        raise Conflict(f"name: an operator named {name!r} already exists") from None


async def accounts(engine: AsyncEngine) -> list[Account]:
    async with reading(engine) as conn:
        return await store.all_accounts(conn)


async def account(engine: AsyncEngine, name: str) -> Account:
    async with reading(engine) as conn:
        found = await store.get(conn, name)
    if found is None:
        raise NotFound(f"name: no operator named {name!r}")
    return found


async def set_disabled(
    engine: AsyncEngine, actor: Actor, *, name: str, disabled: bool, now: datetime
) -> None:
    """Disable (its sessions end at once) or enable an operator."""
    async with transaction(engine) as conn:
        before = await store.get(conn, name)
        if before is None or not await store.set_disabled(conn, name, disabled, now):
            raise NotFound(f"name: no operator named {name!r}")
        if disabled:
            await store.delete_sessions_of(conn, name)
        await record(
            conn,
            actor,
            "operator.disable" if disabled else "operator.enable",
            vdn_id=None,
            target=f"operator {name}",
            now=now,
            before={"disabled": before.operator.disabled},
            after={"disabled": disabled},
        )


async def set_password(
    engine: AsyncEngine, actor: Actor, *, name: str, password: str, now: datetime
) -> None:
    """A new password; every session of the operator ends."""
    hashed = await _password(password, name)
    async with transaction(engine) as conn:
        if not await store.set_password(conn, name, hashed, now):
            raise NotFound(f"name: no operator named {name!r}")
        await store.delete_sessions_of(conn, name)
        await record(
            conn,
            actor,
            "operator.passwd",
            vdn_id=None,
            target=f"operator {name}",
            now=now,
            after={"password": "changed"},
        )


async def set_access(
    engine: AsyncEngine, actor: Actor, *, name: str, role: Role, vdns: Iterable[int], now: datetime
) -> None:
    vdns = sorted(set(vdns)) if role is not Role.ADMIN else []
    _check(name, role, vdns)
    async with transaction(engine) as conn:
        await _check_vdns(conn, vdns)
        before = await store.get(conn, name)
        if before is None or not await store.set_access(conn, name, role, vdns, now):
            raise NotFound(f"name: no operator named {name!r}")
        await record(
            conn,
            actor,
            "operator.access",
            vdn_id=None,
            target=f"operator {name}",
            now=now,
            before=_access(before.operator.role, before.operator.vdns),
            after=_access(role, vdns),
        )


# ---- Login and sessions ---------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Opened:
    token: str  # goes into the (signed) cookie, never stored
    csrf_token: str
    operator: Operator


async def login(
    engine: AsyncEngine,
    *,
    name: str,
    password: str,
    address: str,
    now: datetime,
    policy: SessionPolicy,
    throttle: Throttle,
) -> Opened:
    """Open a session, or raise :class:`LoginRefused`."""
    name = name.strip()[:64]
    address = address[:64]
    window_after = now - throttle.window
    async with reading(engine) as conn:
        for scope, key, limit in (
            ("account", name.lower(), throttle.per_account),
            ("address", address, throttle.per_address),
        ):
            found = await store.failures(conn, scope, key)
            if found is not None:
                until = throttle.blocked_until(
                    failures=found[0], window_start=found[1], limit=limit, now=now
                )
                if until is not None:
                    raise LoginRefused("too many failed logins; try again later", until)
        existing = await store.get(conn, name) if check_name(name) is None else None
    password = password[: 1024 + 1]
    if existing is None:
        ok = await asyncio.to_thread(passwords.verify_absent, password)
    else:
        ok = await asyncio.to_thread(passwords.verify, existing.password_hash, password)
        ok = ok and not existing.operator.disabled
    if not ok or existing is None:
        async with transaction(engine) as conn:
            await store.record_failure(conn, "account", name.lower(), now, window_after)
            await store.record_failure(conn, "address", address, now, window_after)
        raise LoginRefused("wrong name or password")
    upgraded = None
    if passwords.needs_rehash(existing.password_hash):
        upgraded = await asyncio.to_thread(passwords.hash_password, password)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    async with transaction(engine) as conn:
        # The password was checked against what was read before: a new password or a
        # disable committed meanwhile ended the operator's sessions, and must end this
        # one before it opens (the lock orders this login and such a change).
        current = await store.get(conn, existing.operator.name, lock=True)
        if (
            current is None
            or current.operator.disabled
            or current.password_changed_at != existing.password_changed_at
        ):
            raise LoginRefused("wrong name or password")
        await store.clear_failures(conn, "account", name.lower())
        await store.prune_failures(conn, window_after)
        await store.delete_expired_sessions(conn, now - policy.idle, now)
        if upgraded is not None:
            await store.rehash(conn, existing.operator.name, existing.password_hash, upgraded)
        await store.insert_session(
            conn,
            token_hash=token_hash(token),
            name=existing.operator.name,
            csrf_token=csrf,
            address=address,
            now=now,
            expires_at=now + policy.absolute,
        )
    return Opened(token, csrf, existing.operator)


async def session(
    engine: AsyncEngine, token: str, *, now: datetime, policy: SessionPolicy
) -> Session | None:
    """The live session of ``token``, or None (unknown, idle too long, past its expiry,
    or its operator disabled). Its last use is recorded at most once a minute."""
    hashed = token_hash(token)
    async with reading(engine) as conn:
        found = await store.get_session(conn, hashed)
    if found is None:
        return None
    alive = (
        session_alive(policy, last_seen=found.last_seen_at, expires=found.expires_at, now=now)
        and not found.account.operator.disabled
    )
    if not alive:
        async with transaction(engine) as conn:
            await store.delete_session(conn, hashed)
        return None
    if needs_touch(policy, last_seen=found.last_seen_at, now=now):
        async with transaction(engine) as conn:
            await store.touch_session(conn, hashed, now)
    return found


async def logout(engine: AsyncEngine, token: str) -> None:
    async with transaction(engine) as conn:
        await store.delete_session(conn, token_hash(token))
