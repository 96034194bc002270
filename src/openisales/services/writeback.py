"""``callBusiResult``: write back a business result and apply the campaign's busiPolicy."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.auth.replay import REPLAYED, ReplayGuard
from openisales.domain.business_result import sub_status_belongs
from openisales.domain.calldata import DataStatus
from openisales.domain.writeback import Outcome, Target, WriteBack, WriteBackRequest, plan
from openisales.errors import AuthError, Conflict, NotFound, StorageError
from openisales.store import (
    busi_results,
    dispatch,
    writeback as records,
    writeback_batch as batch,
    writeback_fast as fast_path,
    writeback_group as grouped,
)
from openisales.store.batching import FlushCancelled
from openisales.store.ids import IdAllocator, compose
from openisales.store.sql import reading, transaction

WRITE_FAILED = "0200999"
FATE_UNKNOWN = "0200998"
UNKNOWN_DESC = (
    "The database became unreachable while the write-back was being written and still is: "
    "it may or may not have been applied. Send it again: a repeated write-back changes nothing."
)

log = logging.getLogger("openisales.writeback")


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


class _Progress:
    """How far one write-back got: whether a write went out, and what it decided."""

    __slots__ = ("outcome", "sent")

    def __init__(self) -> None:
        self.sent = False
        self.outcome: Outcome | None = None


async def write_back(
    engine: AsyncEngine,
    ids: IdAllocator,
    definitions: Definitions,
    request: WriteBackRequest,
    *,
    replay: ReplayGuard | None = None,
    fast: fast_path.FastPath | None = None,
    group: grouped.GroupCommit | None = None,
) -> Outcome:
    """Record the result and decide the record's next step, atomically.

    Raises ``0200033`` when the record is not in the VDN, ``0200001`` when
    ``busi_result`` is not defined in the VDN, ``0200034`` when ``sub_status``
    is not one of its children, ``0200999`` when the database fails and
    nothing is written. The request's single use (``request.nonce``, recorded
    by ``replay``) is recorded with the write, so both commit together or not
    at all. A repeat of the write-back already recorded for the record's
    latest attempt (``domain.writeback.repeats``) writes nothing and succeeds.

    When a write went out but its answer was lost (the connection broke, the
    statement timed out, the flush was cancelled), the write-back's fate is
    looked up (:func:`_fate`): success when it committed, ``0200999`` when it
    did not, ``0200998`` when the database stayed unreachable, so that no
    answer claims more than is known.

    With ``fast`` (PostgreSQL) the write-back is first tried optimistically in
    two batched round trips (see ``store.writeback_fast``); when the record
    kept changing between read and write, or the write must also queue a
    result push, the transactional path below runs: the nonce first, then the
    record locked (``SELECT … FOR UPDATE``), so concurrent write-backs for one
    record serialise.

    With ``group`` (SQLite) a write-back whose signature's single use is
    already recorded (``request.nonce`` None: the one-process replay guard)
    shares a transaction with the write-backs that arrive with it (see
    ``store.writeback_group``); one that must also queue a result push takes
    the locking path.

    Once committed, a retry due within a dispatcher's longest rest is
    announced to the dispatchers (``store.dispatch.announce``).
    """
    vdn_id = request.vdn_id
    result_id = compose(vdn_id, (await ids.take(vdn_id, "result"))[0])
    progress = _Progress()
    try:
        outcome = await _apply(
            engine, definitions, request, result_id, replay, fast, group, progress
        )
    except (StorageError, FlushCancelled) as exc:
        if not progress.sent or (isinstance(exc, StorageError) and not exc.uncertain):
            raise  # nothing went out, or the database refused it: nothing is written
        landed = await _fate(engine, vdn_id, request.data_id, result_id)
        if landed and progress.outcome is not None:
            log.warning(
                "write-back committed although its answer was lost; answered as applied",
                extra={"dataId": str(request.data_id), "resultId": str(result_id)},
            )
            return progress.outcome
        if landed is None:
            raise StorageError(UNKNOWN_DESC, result_code=FATE_UNKNOWN) from exc
        if isinstance(exc, StorageError):
            raise
        raise StorageError("database operation failed", result_code=WRITE_FAILED) from exc
    if outcome.reschedule and outcome.status == DataStatus.WAITING and outcome.next_call_time:
        # committed: a retry due within a dispatcher's poll interval is announced
        await dispatch.announce(engine, outcome.next_call_time, request.now)
    return outcome


async def _apply(
    engine: AsyncEngine,
    definitions: Definitions,
    request: WriteBackRequest,
    result_id: int,
    replay: ReplayGuard | None,
    fast: fast_path.FastPath | None,
    group: grouped.GroupCommit | None,
    progress: _Progress,
) -> Outcome:
    vdn_id = request.vdn_id
    if fast is not None:
        done = await _optimistic(fast, engine, definitions, request, result_id, progress)
        if done is not None:
            return done
    if group is not None and request.nonce is None:
        done = await _grouped(group, engine, definitions, request, result_id, progress)
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
        if written is not None:
            progress.outcome, progress.sent = outcome, True
            await records.record(conn, written)
    return outcome


async def _grouped(
    group: grouped.GroupCommit,
    engine: AsyncEngine,
    definitions: Definitions,
    request: WriteBackRequest,
    result_id: int,
    progress: _Progress,
) -> Outcome | None:
    """The write-back in a transaction shared with others; None when the locking path must run.

    The same decision as the locking path's, in its order (the record, then
    the definition), made inside the shared transaction; the definition is
    looked up before (definitions are never changed or removed).
    """
    vdn_id = request.vdn_id
    children = definitions.cached(vdn_id, request.busi_result)
    if children is None:
        async with reading(engine, failure_code=WRITE_FAILED) as conn:
            children = await definitions.children(conn, vdn_id, request.busi_result)

    def decide(target: Target | None) -> tuple[Outcome, WriteBack | None] | None:
        if target is None:
            raise _not_found()
        _check_definition(children, vdn_id, request.busi_result, request.sub_status)
        outcome, written = plan(target, request, result_id)
        if written is not None:
            if written.completed and target.call_back_url:
                return None  # the result push must be queued in the same transaction
            progress.outcome, progress.sent = outcome, True
        return outcome, written

    return await group.apply(grouped.Member(vdn_id, request.data_id, decide))


async def _optimistic(
    fast: fast_path.FastPath,
    engine: AsyncEngine,
    definitions: Definitions,
    request: WriteBackRequest,
    result_id: int,
    progress: _Progress,
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
        if written is None:  # the same write-back again: nothing to write...
            if request.nonce is None:
                return outcome
            # ...but its signature's single use is recorded all the same, which
            # only the locking path does without a write (else it stays replayable)
            fast.leave("repeat")
            return None
        if written.completed and seen.target.call_back_url:
            fast.leave("push")  # the result push must be queued in the same transaction
            return None
        assert seen.target.version is not None  # the batched read always reads it
        progress.outcome, progress.sent = outcome, True
        if await fast.write(batch.Write(written, seen.target.version, request.nonce)):
            return outcome
        progress.sent = False  # not applied: the row had changed, nothing was written
    fast.leave("contention")  # the record kept changing (or stayed busy): take the lock
    return None


# Looking up a write-back's fate: a few tries while the database comes back.
FATE_DELAYS_S = (0.0, 0.5, 1.5)


async def _fate(engine: AsyncEngine, vdn_id: int, data_id: int, result_id: int) -> bool | None:
    """Whether the write-back committed; None when the database cannot tell us now.

    The record is locked first: a write still running on a connection the
    client side lost holds that lock until it commits or rolls back, so the
    history row's presence is final once the lock is taken.
    """
    for delay in FATE_DELAYS_S:
        await asyncio.sleep(delay)
        try:
            async with transaction(engine, failure_code=WRITE_FAILED) as conn:
                return await records.landed(conn, vdn_id, data_id, result_id)
        except StorageError:
            continue
    log.error("write-back fate unknown: the database stays unreachable")
    return None
