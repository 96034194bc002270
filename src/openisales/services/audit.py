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

# Every action an entry may name (the audit page offers them as a filter);
# ``record`` refuses any other, so a new kind of change is declared here first.
ACTIONS = (
    "appointment.create",
    "appointment.modify",
    "appointment.result",
    "blocklist.add",
    "blocklist.delete",
    "busi_result.add",
    "caller_number.add",
    "caller_number.delete",
    "calldata.add",
    "calldata.delete",
    "calldata.import",
    "campaign.create",
    "campaign.delete",
    "campaign.dialing",
    "campaign.modify",
    "campaign.pause",
    "campaign.resume",
    "campaign.retry_policy",
    "holiday.add",
    "holiday.delete",
    "key.create",
    "key.revoke",
    "obs_result.create",
    "obs_result.delete",
    "operator.access",
    "operator.add",
    "operator.disable",
    "operator.enable",
    "operator.passwd",
    "push.resend",
    "vdn.add",
)
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
    if action not in ACTIONS:
        raise ValueError(f"undeclared audit action {action!r} (services.audit.ACTIONS)")
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


async def search(
    engine: AsyncEngine, where: Filter, limit: int = 100, scan: int | None = None
) -> list[Entry]:
    """The entries ``where`` selects, newest first, at most ``limit``.

    ``scan`` bounds the read when an actor or an action is asked for: they are
    looked for among the newest ``scan`` entries of the VDNs and time range
    (None: among all; what tests and scripts want, not a page).
    """
    async with reading(engine) as conn:
        return await store.search(conn, where, limit, scan)


@dataclass(frozen=True)
class Found:
    """A page of the audit log and where the next one starts."""

    entries: list[Entry]
    older: int | None  # the ``before_id`` of the next page; None: nothing older to look at
    searched_to: datetime | None  # set when the page ended with the bounded window, not a match


async def browse(engine: AsyncEngine, where: Filter, *, limit: int, scan: int) -> Found:
    """One page of at most ``limit`` entries, each read bounded (see :func:`search`)."""
    async with reading(engine) as conn:
        entries = await store.search(conn, where, limit + 1, scan)
        if len(entries) > limit:
            return Found(entries[:limit], entries[limit - 1].audit_id, None)
        end = await store.window_end(conn, where, scan) if where.narrowed else None
    if end is not None:
        return Found(entries, end[0], end[1])
    return Found(entries, None, None)
