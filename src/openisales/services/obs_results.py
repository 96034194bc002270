"""Display results: ``createObResult``, ``queryOBSResults``, ``deleteObsResult``,
``queryOBSResultCode``, and the failCode → resultCode lookup for the dialing engine.

No cache: the lookup is one indexed read on the unique ``(vdn_id, fail_code)``
key, made on the caller's connection, so a committed create or delete is seen by
the very next attempt in every process.

Creates and deletes append an audit entry (``services.audit``,
``obs_result.create`` and ``obs_result.delete``, target ``display result N``)
in their transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.domain import failcodes
from openisales.domain.obs_result import NewObsResult, ObsMap, ObsResult, to_wire
from openisales.errors import Conflict, ParamError
from openisales.services import audit
from openisales.services.audit import Actor
from openisales.store import obs_results as store
from openisales.store.ids import IdAllocator, compose
from openisales.store.sql import DuplicateError, reading, transaction

NOT_FOUND = "0200001"  # Huawei documents no code for an unknown defId (ours)


async def _refuse_conflicts(conn: AsyncConnection, vdn_id: int, new: NewObsResult) -> None:
    if await store.code_exists(conn, vdn_id, new.result_code):
        raise Conflict(f"resultCode: {new.result_code!r} already exists")
    taken = await store.mapping(conn, vdn_id, new.fail_codes)
    for i, code in enumerate(new.fail_codes):
        if code in taken:
            raise Conflict(
                f"obsCodes[{i}]: failure code {code} already belongs to "
                f"display result {taken[code]!r}"
            )


async def create(
    engine: AsyncEngine,
    ids: IdAllocator,
    *,
    vdn_id: int,
    new: NewObsResult,
    now: datetime,
    actor: Actor,
) -> int:
    """Store a display result with its failure codes, all or nothing; returns its defId.

    Raises :class:`Conflict` (``0200001``) when ``resultCode`` already exists in
    the VDN or one of the codes already belongs to another display result there;
    :class:`StorageError` (``0200006``) when the database fails.
    """
    def_id = compose(vdn_id, (await ids.take(vdn_id, "obs_result"))[0])
    map_ids = await ids.take(vdn_id, "obs_map", len(new.fail_codes))
    result = ObsResult(
        def_id,
        new.result_code,
        new.display_result,
        tuple(
            ObsMap(compose(vdn_id, n), code)
            for n, code in zip(map_ids, new.fail_codes, strict=True)
        ),
    )
    try:
        async with transaction(engine) as conn:
            await _refuse_conflicts(conn, vdn_id, new)
            await store.insert(conn, vdn_id, result, now)
            await audit.record(
                conn,
                actor,
                "obs_result.create",
                vdn_id=vdn_id,
                target=f"display result {def_id}",
                now=now,
                after=to_wire(result, vdn_id),
            )
    except DuplicateError as exc:  # a concurrent create won between check and insert
        async with reading(engine) as conn:
            await _refuse_conflicts(conn, vdn_id, new)
        raise Conflict("resultCode: a concurrent request defined the same codes") from exc
    return def_id


async def query(
    engine: AsyncEngine, *, vdn_id: int, page_size: int, page_num: int
) -> tuple[int, list[dict[str, Any]]]:
    """``(totalCount, data)`` for one page of the VDN's display results, oldest first."""
    offset = (page_num - 1) * page_size
    async with reading(engine) as conn:
        total = await store.count(conn, vdn_id)
        results = await store.page(conn, vdn_id, page_size, offset) if offset < total else []
    return total, [to_wire(r, vdn_id) for r in results]


async def delete(
    engine: AsyncEngine, *, vdn_id: int, def_id: int, now: datetime, actor: Actor
) -> None:
    """Remove a display result and its failure-code maps.

    Raises :class:`ParamError` (``0200001``, field ``defId``) when the VDN has
    no display result ``def_id`` (also when another VDN has it).
    """
    async with transaction(engine) as conn:
        found = await store.get(conn, vdn_id, def_id)
        if found is None or not await store.delete(conn, vdn_id, def_id):
            raise ParamError(NOT_FOUND, "defId", f"display result {def_id} does not exist")
        await audit.record(
            conn,
            actor,
            "obs_result.delete",
            vdn_id=vdn_id,
            target=f"display result {def_id}",
            now=now,
            before=to_wire(found, vdn_id),
        )


async def mapping(conn: AsyncConnection, vdn_id: int) -> dict[str, str]:
    """The VDN's whole failCode → display resultCode map, read on ``conn``.

    Its signature is ``services.dialing.DisplayLookup``: pass it as
    ``record_attempts(..., displays=obs_results.mapping)`` (or ``Dispatcher(...,
    displays=...)``); then ``failcodes.display_code(fail_code, mapping)`` per attempt.
    """
    return await store.mapping(conn, vdn_id)


async def display_code(conn: AsyncConnection, *, vdn_id: int, fail_code: str) -> str | None:
    """The display resultCode of ``fail_code`` in the VDN; None when the VDN has not mapped it.

    One indexed read on ``conn`` (use the attempt's own transaction).
    """
    return failcodes.display_code(fail_code, await store.mapping(conn, vdn_id, (fail_code,)))


def result_codes(*, page_size: int, page_num: int) -> tuple[int, list[dict[str, str]]]:
    """``(totalCount, obsCodes)`` for one page of the platform failure-code catalogue."""
    total, codes = failcodes.page(page_size, page_num)
    return total, [{"obsCode": c.code, "obsCodeDesc": c.meaning} for c in codes]
