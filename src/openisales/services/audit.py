"""The audit log's use cases: who changed what, when, from what to what (docs/console.md).

A change made through the console, the API or the CLI appends one entry in
the transaction that makes it, so an entry exists exactly when the change
committed. ``before`` and ``after`` are JSON snapshots of what changed (never
a secret: an SK or a password is recorded as ``"***"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.logs import current_request_id
from openisales.store import audit as store
from openisales.store.audit import Entry, Filter
from openisales.store.sql import reading

SECRET_FIELDS = frozenset({"sk", "password", "secret", "secretKey", "masterKey"})
MAX_SNAPSHOT = 16_384  # characters of JSON kept per snapshot; longer ones are cut and marked


@dataclass(frozen=True)
class Actor:
    kind: str  # "operator" | "ak" | "cli"
    name: str

    def __str__(self) -> str:
        return self.kind if self.kind == "cli" else f"{self.kind}:{self.name}"


CLI = Actor("cli", "")


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: "***" if k in SECRET_FIELDS else _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def snapshot(value: Any) -> str | None:
    """``value`` as the JSON an entry keeps: secrets masked, bounded in size."""
    if value is None:
        return None
    text = msgspec.json.encode(_redact(value)).decode()
    if len(text) > MAX_SNAPSHOT:
        return msgspec.json.encode({"truncated": True, "head": text[:MAX_SNAPSHOT]}).decode()
    return text


async def record(
    conn: AsyncConnection,
    actor: Actor,
    action: str,
    *,
    vdn_id: int | None,
    target: str,
    now: datetime,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append an entry on ``conn``: call it inside the change's own transaction."""
    await store.append(
        conn,
        Entry(
            vdn_id=vdn_id,
            at=now,
            actor=str(actor),
            action=action,
            target=target,
            before=snapshot(before),
            after=snapshot(after),
            request_id=current_request_id(),
        ),
    )


async def search(engine: AsyncEngine, where: Filter, limit: int = 100) -> list[Entry]:
    async with reading(engine) as conn:
        return await store.search(conn, where, limit)
