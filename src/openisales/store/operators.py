"""SQL for console operators, their sessions and the login throttle (``t_isl_operator*``,
``t_isl_console_session``, ``t_isl_login_throttle``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.operator import Operator, Role
from openisales.store.tables import (
    console_session as s,
    login_throttle as th,
    operator as t,
    operator_vdn as tv,
    vdn,
)


@dataclass(frozen=True)
class Account:
    operator: Operator
    password_hash: str
    created_at: datetime
    password_changed_at: datetime


async def _vdns(conn: AsyncConnection, names: Iterable[str]) -> dict[str, frozenset[int]]:
    rows = await conn.execute(sa.select(tv.c.name, tv.c.vdn_id).where(tv.c.name.in_(list(names))))
    found: dict[str, set[int]] = {}
    for row in rows:
        found.setdefault(str(row.name), set()).add(int(row.vdn_id))
    return {name: frozenset(v) for name, v in found.items()}


def _account(row: sa.Row[tuple[object, ...]], vdns: frozenset[int]) -> Account:
    return Account(
        Operator(row.name, Role(row.role), vdns, disabled=row.disabled_at is not None),
        row.password_hash,
        row.created_at,
        row.password_changed_at,
    )


async def insert(
    conn: AsyncConnection,
    name: str,
    role: Role,
    vdns: Iterable[int],
    password_hash: str,
    now: datetime,
) -> None:
    """Raises ``sa.exc.IntegrityError`` when the name is taken."""
    await conn.execute(
        sa.insert(t).values(
            name=name,
            password_hash=password_hash,
            role=role.value,
            disabled_at=None,
            password_changed_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    rows = [{"name": name, "vdn_id": v} for v in sorted(set(vdns))]
    if rows:
        await conn.execute(sa.insert(tv), rows)


async def get(conn: AsyncConnection, name: str, *, lock: bool = False) -> Account | None:
    """The account ``name``; ``lock``: its row is locked until the transaction ends
    (PostgreSQL; a SQLite transaction holds the database's write lock already)."""
    query = sa.select(t).where(t.c.name == name)
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        return None
    return _account(row, (await _vdns(conn, [name])).get(name, frozenset()))


async def all_accounts(conn: AsyncConnection) -> list[Account]:
    rows = (await conn.execute(sa.select(t).order_by(t.c.name))).all()
    vdns = await _vdns(conn, [r.name for r in rows]) if rows else {}
    return [_account(r, vdns.get(r.name, frozenset())) for r in rows]


async def set_disabled(conn: AsyncConnection, name: str, disabled: bool, now: datetime) -> bool:
    result = await conn.execute(
        sa.update(t)
        .where(t.c.name == name)
        .values(disabled_at=now if disabled else None, updated_at=now)
    )
    return result.rowcount == 1


async def set_password(conn: AsyncConnection, name: str, password_hash: str, now: datetime) -> bool:
    result = await conn.execute(
        sa.update(t)
        .where(t.c.name == name)
        .values(password_hash=password_hash, password_changed_at=now, updated_at=now)
    )
    return result.rowcount == 1


async def rehash(conn: AsyncConnection, name: str, old_hash: str, new_hash: str) -> bool:
    """Store a stronger hash of the same password, unless the password changed meanwhile
    (the password's change time stays: the password is the same)."""
    result = await conn.execute(
        sa.update(t)
        .where(t.c.name == name, t.c.password_hash == old_hash)
        .values(password_hash=new_hash)
    )
    return result.rowcount == 1


async def set_access(
    conn: AsyncConnection, name: str, role: Role, vdns: Iterable[int], now: datetime
) -> bool:
    result = await conn.execute(
        sa.update(t).where(t.c.name == name).values(role=role.value, updated_at=now)
    )
    if result.rowcount != 1:
        return False
    await conn.execute(sa.delete(tv).where(tv.c.name == name))
    rows = [{"name": name, "vdn_id": v} for v in sorted(set(vdns))]
    if rows:
        await conn.execute(sa.insert(tv), rows)
    return True


# ---- Sessions -------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    token_hash: str
    account: Account
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


async def insert_session(
    conn: AsyncConnection,
    *,
    token_hash: str,
    name: str,
    csrf_token: str,
    address: str | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        sa.insert(s).values(
            token_hash=token_hash,
            operator=name,
            csrf_token=csrf_token,
            address=address[:64] if address else None,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )


async def get_session(conn: AsyncConnection, token_hash: str) -> Session | None:
    """The session and its operator as they are now (a disabled operator shows as disabled)."""
    row = (
        await conn.execute(
            sa.select(
                s.c.token_hash,
                s.c.csrf_token,
                s.c.created_at.label("session_created_at"),
                s.c.last_seen_at,
                s.c.expires_at,
                t,
            )
            .select_from(s.join(t, t.c.name == s.c.operator))
            .where(s.c.token_hash == token_hash)
        )
    ).first()
    if row is None:
        return None
    vdns = (await _vdns(conn, [row.name])).get(row.name, frozenset())
    return Session(
        row.token_hash,
        _account(row, vdns),
        row.csrf_token,
        row.session_created_at,
        row.last_seen_at,
        row.expires_at,
    )


async def touch_session(conn: AsyncConnection, token_hash: str, now: datetime) -> None:
    await conn.execute(sa.update(s).where(s.c.token_hash == token_hash).values(last_seen_at=now))


async def delete_session(conn: AsyncConnection, token_hash: str) -> None:
    await conn.execute(sa.delete(s).where(s.c.token_hash == token_hash))


async def delete_sessions_of(conn: AsyncConnection, name: str) -> int:
    result = await conn.execute(sa.delete(s).where(s.c.operator == name))
    return result.rowcount


async def delete_expired_sessions(
    conn: AsyncConnection, idle_before: datetime, now: datetime
) -> int:
    result = await conn.execute(
        sa.delete(s).where(sa.or_(s.c.expires_at <= now, s.c.last_seen_at <= idle_before))
    )
    return result.rowcount


# ---- Login throttle -------------------------------------------------------


async def failures(conn: AsyncConnection, scope: str, key: str) -> tuple[int, datetime] | None:
    row = (
        await conn.execute(
            sa.select(th.c.failures, th.c.window_start).where(
                th.c.scope == scope, th.c.key == key[:128]
            )
        )
    ).first()
    return None if row is None else (row.failures, row.window_start)


async def record_failure(
    conn: AsyncConnection, scope: str, key: str, now: datetime, window_start_after: datetime
) -> None:
    """Count one failure; a window begun at or before ``window_start_after`` (``now`` less
    the window: it has ended) starts anew at ``now``."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(th).values(scope=scope, key=key[:128], window_start=now, failures=1)
    fresh = th.c.window_start <= window_start_after
    stmt = stmt.on_conflict_do_update(
        index_elements=[th.c.scope, th.c.key],
        set_={
            "failures": sa.case((fresh, 1), else_=th.c.failures + 1),
            "window_start": sa.case((fresh, now), else_=th.c.window_start),
        },
    )
    await conn.execute(stmt)


async def clear_failures(conn: AsyncConnection, scope: str, key: str) -> None:
    await conn.execute(sa.delete(th).where(th.c.scope == scope, th.c.key == key[:128]))


async def prune_failures(conn: AsyncConnection, before: datetime) -> None:
    """Delete the windows begun at or before ``before`` (``now`` less the window: ended)."""
    await conn.execute(sa.delete(th).where(th.c.window_start <= before))


async def unknown_vdns(conn: AsyncConnection, vdns: Iterable[int]) -> list[int]:
    """The VDNs of ``vdns`` that do not exist, in order."""
    wanted = sorted(set(vdns))
    if not wanted:
        return []
    rows = await conn.execute(sa.select(vdn.c.vdn_id).where(vdn.c.vdn_id.in_(wanted)))
    known = {int(r[0]) for r in rows}
    return [v for v in wanted if v not in known]
