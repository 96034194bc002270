"""Operator use cases behind the CLI: VDNs and API credentials.

Each change appends an audit entry (``services.audit``) in its own
transaction: ``vdn.add`` (target ``vdn N``), ``key.create`` and ``key.revoke``
(target ``key AK``). A key's entry holds its AK and VDNs, never its SK.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.auth.vault import Vault, VaultError
from openisales.services import audit
from openisales.services.audit import Actor
from openisales.store import credentials as store
from openisales.store.credentials import KeyInfo, Vdn
from openisales.store.sql import DuplicateError, reading, transaction

_AK_RE = re.compile(r"^[A-Za-z0-9_.-]{4,64}$")


class AdminError(Exception):
    """An operator command cannot be carried out; the message says why."""


def check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise AdminError(f"unknown time zone {name!r}") from exc
    return name


async def add_vdn(
    engine: AsyncEngine, *, vdn_id: int, name: str, time_zone: str, now: datetime, actor: Actor
) -> Vdn:
    if not 1 <= vdn_id <= 9999:
        raise AdminError("a VDN id is an integer between 1 and 9999")
    if not 1 <= len(name) <= 64:
        raise AdminError("a VDN name has 1 to 64 characters")
    item = Vdn(vdn_id, name, check_time_zone(time_zone), now)
    try:
        async with transaction(engine) as conn:
            await store.add_vdn(conn, item)
            await audit.record(
                conn,
                actor,
                "vdn.add",
                vdn_id=vdn_id,
                target=f"vdn {vdn_id}",
                now=now,
                after={"vdnId": vdn_id, "name": name, "timeZone": item.time_zone},
            )
    except DuplicateError as exc:
        raise AdminError(f"VDN {vdn_id} already exists") from exc
    return item


async def list_vdns(engine: AsyncEngine) -> list[Vdn]:
    async with reading(engine) as conn:
        return await store.list_vdns(conn)


async def create_key(
    engine: AsyncEngine,
    vault: Vault,
    *,
    vdn_ids: list[int],
    now: datetime,
    actor: Actor,
    ak: str | None = None,
    sk: str | None = None,
) -> tuple[str, str]:
    """Create a credential for ``vdn_ids``; returns ``(ak, sk)``, the only time the SK is shown."""
    if not vdn_ids:
        raise AdminError("a key needs at least one VDN")
    ak = ak or "ak" + secrets.token_hex(10)
    sk = sk or secrets.token_urlsafe(32)
    if not _AK_RE.match(ak):
        raise AdminError("an AK has 4 to 64 characters from A-Z a-z 0-9 _ . -")
    if len(sk) < 16:
        raise AdminError("an SK needs at least 16 characters")
    vdns = sorted(set(vdn_ids))
    async with transaction(engine) as conn:
        for vdn_id in vdns:
            if await store.get_vdn(conn, vdn_id) is None:
                raise AdminError(f"VDN {vdn_id} does not exist (add it with `openisales vdn add`)")
        if await store.ak_exists(conn, ak):
            raise AdminError(f"AK {ak} already exists")
        await store.add_key(conn, ak=ak, sk_encrypted=vault.encrypt(sk), vdn_ids=vdns, now=now)
        await audit.record(
            conn,
            actor,
            "key.create",
            vdn_id=_one(vdns),
            target=f"key {ak}",
            now=now,
            after={"ak": ak, "vdnIds": vdns},  # never the SK
        )
    return ak, sk


async def list_keys(engine: AsyncEngine) -> list[KeyInfo]:
    async with reading(engine) as conn:
        return await store.list_keys(conn)


async def master_key_opens_stored_keys(engine: AsyncEngine, vault: Vault) -> bool:
    """Whether ``vault`` decrypts every stored SK of a key not revoked (True when none).

    A process started with another master key than a key's would answer that
    key's requests with an error; a key created under another master key (a
    fresh one exported in a new shell, say) is found here too.
    """
    async with reading(engine) as conn:
        tokens = await store.encrypted_sks(conn)
    try:
        for token in tokens:
            vault.decrypt(token)
    except VaultError:
        return False
    return True


def _one(vdn_ids: list[int]) -> int | None:
    """The VDN an entry about a key belongs to: its only VDN, else none (its entry lists them)."""
    return vdn_ids[0] if len(vdn_ids) == 1 else None


async def revoke_key(engine: AsyncEngine, *, ak: str, now: datetime, actor: Actor) -> None:
    async with transaction(engine) as conn:
        vdns = await store.key_vdns(conn, ak)
        if not await store.revoke_key(conn, ak, now):
            raise AdminError(f"AK {ak} does not exist or is already revoked")
        await audit.record(
            conn,
            actor,
            "key.revoke",
            vdn_id=_one(vdns),
            target=f"key {ak}",
            now=now,
            before={"ak": ak, "vdnIds": vdns, "revoked": False},
            after={"ak": ak, "vdnIds": vdns, "revoked": True},
        )
