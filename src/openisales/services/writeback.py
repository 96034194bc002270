"""``callBusiResult``: write back a business result and apply the campaign's busiPolicy."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.auth.replay import REPLAYED, ReplayGuard
from openisales.domain.business_result import sub_status_belongs
from openisales.domain.writeback import Outcome, WriteBackRequest, plan
from openisales.errors import AuthError, Conflict, NotFound
from openisales.store import (
    busi_results,
    writeback as records,
    writeback_batch as batch,
    writeback_fast as fast_path,
)
from openisales.store.ids import IdAllocator, compose
from openisales.store.sql import reading, transaction

WRITE_FAILED = "0200999"


class Definitions:
    """Business-result lookups, cached once found.

    Definitions can be added but never changed or removed (there is no API
    for it), so a found definition stays true; misses are not cached.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._found: dict[tuple[int, str], frozenset[str]] = {}
        self._size = size

    def cached(self, vdn_id: int, code: str) -> frozenset[str] | None:
        """The children of a definition already found, without a query."""
        return self._found.get((vdn_id, code))

    async def children(
        self, conn: AsyncConnection, vdn_id: int, code: str
    ) -> frozenset[str] | None:
        """The sub-result codes of ``code`` in ``vdn_id``; None when it is not defined."""
        key = (vdn_id, code)
        hit = self._found.get(key)
        if hit is not None:
            return hit
        found = await busi_results.find(conn, vdn_id, code)
        if found is None:
            return None
        if len(self._found) >= self._size:
            self._found.clear()
        self._found[key] = frozenset(found[1])
        return self._found[key]


def _check_definition(
    children: frozenset[str] | None, vdn_id: int, busi_result: str, sub_status: str | None
) -> None:
    """``0200001`` for an undefined ``busi_result``, ``0200034`` for a foreign ``sub_status``."""
    if children is None:
        raise Conflict(
            f"busiResult: business result {busi_result!r} is not defined in VDN {vdn_id}"
        )
    if not sub_status_belongs(set(children), sub_status):
        raise Conflict(
            f"subStatus: {sub_status!r} is not a sub-result of {busi_result!r}",
            result_code="0200034",
        )


def _not_found() -> NotFound:
    return NotFound("The outbound call data does not exist.", result_code="0200033")


async def write_back(
    engine: AsyncEngine,
    ids: IdAllocator,
    definitions: Definitions,
    request: WriteBackRequest,
    *,
    replay: ReplayGuard | None = None,
    fast: fast_path.FastPath | None = None,
) -> Outcome:
    """Record the result and decide the record's next step, atomically.

    Raises ``0200033`` when the record is not in the VDN, ``0200001`` when
    ``busi_result`` is not defined in the VDN, ``0200034`` when ``sub_status``
    is not one of its children, ``0200999`` when the database fails (nothing
    is written then). The request's single use (``request.nonce``, recorded by
    ``replay``) is recorded with the write, so both commit together or not at all.

    With ``fast`` (PostgreSQL) the write-back is first tried optimistically in
    two batched round trips (see ``store.writeback_fast``); when the record
    kept changing between read and write, or the write must also queue a
    result push, the transactional path below runs: the nonce first, then the
    record locked (``SELECT … FOR UPDATE``), so concurrent write-backs for one
    record serialise.
    """
    vdn_id = request.vdn_id
    result_id = compose(vdn_id, (await ids.take(vdn_id, "result"))[0])
    if fast is not None:
        done = await _optimistic(fast, engine, definitions, request, result_id)
        if done is not None:
            return done
    async with transaction(engine, failure_code=WRITE_FAILED) as conn:
        if request.nonce is not None and replay is not None:
            if not await replay.first_use_in(conn, request.nonce):
                raise AuthError(REPLAYED)
        target = await records.lock(conn, vdn_id, request.data_id)
        if target is None:
            raise _not_found()
        children = await definitions.children(conn, vdn_id, request.busi_result)
        _check_definition(children, vdn_id, request.busi_result, request.sub_status)
        outcome, written = plan(target, request, result_id)
        await records.record(conn, written)
    return outcome


async def _optimistic(
    fast: fast_path.FastPath,
    engine: AsyncEngine,
    definitions: Definitions,
    request: WriteBackRequest,
    result_id: int,
) -> Outcome | None:
    """The two-round-trip write-back; None when the transactional path must run."""
    vdn_id = request.vdn_id
    key = batch.ReadKey(vdn_id, request.data_id, request.nonce, request.now)
    for _ in range(3):
        seen = await fast.read(key)
        if seen.replayed:
            raise AuthError(REPLAYED)
        if seen.target is None:
            raise _not_found()
        children = definitions.cached(vdn_id, request.busi_result)
        if children is None:
            async with reading(engine, failure_code=WRITE_FAILED) as conn:
                children = await definitions.children(conn, vdn_id, request.busi_result)
        _check_definition(children, vdn_id, request.busi_result, request.sub_status)
        outcome, written = plan(seen.target, request, result_id)
        if written.completed and seen.target.call_back_url:
            fast.leave("push")  # the result push must be queued in the same transaction
            return None
        assert seen.target.version is not None  # the batched read always reads it
        if await fast.write(batch.Write(written, seen.target.version, request.nonce)):
            return outcome
    fast.leave("contention")  # the record kept changing (or stayed busy): take the lock
    return None
