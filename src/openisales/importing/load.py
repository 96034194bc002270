"""Running an import: :class:`ImportRequest` in, :class:`Outcome` out (:func:`run`).

One pass over the file: every row is checked with the add-call-data API's rules
(:mod:`openisales.domain.import_rows`, applied by :mod:`openisales.importing.stream`)
and the good ones stream into the database while the rest of the file is still
being read -- through ``COPY`` on PostgreSQL (asyncpg's ``copy_records_to_table``
on the transaction's own connection, :mod:`openisales.importing.pgcopy`), through
``executemany`` in batches on SQLite. Everything happens in one transaction, so
an import either loads its rows or leaves nothing behind.

* Without ``skip_bad`` any bad row means nothing is loaded: loading stops at the
  first one, the rest of the file is still checked (every bad row is
  reported), and the transaction is rolled back.
* With ``skip_bad`` the bad rows are reported and the good ones loaded.

Campaign checks are the API's: the campaign must exist (``0200007``) and not
have ended (``0200019``), checked before the file is read and again at the end
under the campaign's row lock; and it may not hold more than
``max_unfinished`` unfinished records once the import is in (``0200020``).
The lock is taken only at the end, just before commit, so that dialing and API
adds to the campaign are not held up while the file loads.

Ids are reserved before the transaction (``store.ids``), in one block as large
as the file's row count can be (its line count); unused ids are simply skipped.

An import that loads rows appends ONE audit entry (``services.audit``,
``calldata.import``: the counts and the file's name) in the import's one
transaction, just before it commits, so the entry exists exactly when the rows do.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.clock import Clock
from openisales.domain.calldata import NewRecord
from openisales.domain.import_rows import Header, HeaderError, RowParser
from openisales.errors import Conflict, NotFound, StorageError
from openisales.importing.pgcopy import copy_rows
from openisales.importing.progress import Quiet, Reporter
from openisales.importing.sources import ImportFileError, Source, open_source
from openisales.importing.stream import Outcome, RowStream
from openisales.services import audit, blocklist, calldata as calldata_service
from openisales.services.audit import Actor
from openisales.store import blocklist as blocklist_store, calldata as store
from openisales.store.ids import IdAllocator
from openisales.store.sql import reading, transaction

log = logging.getLogger("openisales.import")

SQLITE_BATCH = 5_000


@dataclass(frozen=True)
class ImportRequest:
    """What to import into which campaign, and how (see the module docstring)."""

    vdn_id: int
    campaign_id: int
    path: Path
    version: int = 2  # whose rules: the v1 or the v2 add-call-data API
    skip_bad: bool = False
    check_only: bool = False  # validate file and campaign, load nothing
    max_unfinished: int = 200_000


async def run(
    engine: AsyncEngine,
    ids: IdAllocator,
    request: ImportRequest,
    *,
    clock: Clock,
    actor: Actor,
    reporter: Reporter | None = None,
) -> Outcome:
    """Import ``request.path`` into the campaign; see the module docstring.

    A campaign check that fails comes back as ``outcome.refusal`` (nothing
    loaded); an unusable file raises :class:`ImportFileError`, a database
    failure :class:`~openisales.errors.StorageError`.
    """
    reporter = reporter or Quiet()
    started = time.perf_counter()
    outcome = Outcome()
    source = open_source(request.path)
    try:
        now = clock.now()
        barred = await _blocked(engine, request.vdn_id, now)
        try:
            parser = RowParser(Header.parse(source.header), request.version, barred)
        except HeaderError as exc:
            raise ImportFileError(f"{request.path}: {exc}") from None
        try:
            unfinished = await _campaign_open(engine, request, now, count=request.check_only)
            if request.check_only:
                _check_only(source, parser, reporter, outcome, request, unfinished)
            else:
                await _import(
                    engine, ids, request, source, parser, reporter, outcome, now, clock, actor
                )
        except (NotFound, Conflict) as exc:
            outcome.refusal = exc
            outcome.loaded = 0
            outcome.committed = False
    finally:
        source.close()
        outcome.elapsed = time.perf_counter() - started
    return outcome


async def _import(
    engine: AsyncEngine,
    ids: IdAllocator,
    request: ImportRequest,
    source: Source,
    parser: RowParser,
    reporter: Reporter,
    outcome: Outcome,
    now: datetime,
    clock: Clock,
    actor: Actor,
) -> None:
    reporter.phase("reserving ids")
    bound = source.row_bound()
    numbers = await ids.take(request.vdn_id, "data", bound) if bound > 0 else []
    stream = RowStream(
        source,
        parser,
        reporter,
        outcome,
        strict=not request.skip_bad,
        ids=numbers,
        vdn_id=request.vdn_id,
    )
    reporter.phase("importing")
    reporter.start(source.total, source.unit)
    await _load(engine, request, stream, outcome, reporter, now, clock, actor)


async def _blocked(engine: AsyncEngine, vdn_id: int, now: datetime) -> frozenset[str]:
    """The VDN's numbers that may not be called now: rows with them are refused (0200024)."""
    async with reading(engine) as conn:
        listed = await blocklist_store.numbers(conn, vdn_id)
        return (
            frozenset(await blocklist.blocked(conn, vdn_id, listed, now)) if listed else frozenset()
        )


async def _campaign_open(
    engine: AsyncEngine, request: ImportRequest, now: datetime, *, count: bool
) -> int:
    """Before reading the file: the campaign exists and has not ended; its unfinished count."""
    async with reading(engine) as conn:
        await _check_campaign(conn, request, now, lock=False)
        if not count:
            return 0
        return await store.count_unfinished(conn, request.vdn_id, request.campaign_id)


async def _check_campaign(
    conn: AsyncConnection, request: ImportRequest, now: datetime, *, lock: bool
) -> None:
    await calldata_service.open_campaign(conn, request.vdn_id, request.campaign_id, now, lock=lock)


def _over_limit(request: ImportRequest, total: int) -> Conflict:
    return Conflict(
        f"the campaign would hold {total} unfinished records; "
        f"the maximum is {request.max_unfinished}",
        result_code="0200020",
    )


def _check_only(
    source: Source,
    parser: RowParser,
    reporter: Reporter,
    outcome: Outcome,
    request: ImportRequest,
    unfinished: int,
) -> None:
    reporter.phase("checking")
    reporter.start(source.total, source.unit)
    stream = RowStream(
        source, parser, reporter, outcome, strict=not request.skip_bad, ids=(), vdn_id=0
    )
    stream.drain()
    if unfinished + outcome.valid > request.max_unfinished:
        outcome.refusal = _over_limit(request, unfinished + outcome.valid)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while rows stream (the process's, for that long).

    Rows are acyclic and freed by reference counting; the collector's passes
    only cost time (a few per cent of the import).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _RollBack(Exception):
    """Leave the transaction without committing."""


async def _load(
    engine: AsyncEngine,
    request: ImportRequest,
    stream: RowStream,
    outcome: Outcome,
    reporter: Reporter,
    now: datetime,
    clock: Clock,
    actor: Actor,
) -> None:
    postgres = engine.dialect.name == "postgresql"
    try:
        async with transaction(engine) as conn:
            before = await store.count_unfinished(conn, request.vdn_id, request.campaign_id)
            stream.room = request.max_unfinished - before
            with _cycle_collector_paused():
                if postgres:
                    loaded = await copy_rows(conn, request.vdn_id, request.campaign_id, stream, now)
                else:
                    loaded = await _insert_batches(conn, request, stream, now)
                stream.drain()
            if stream.over_limit:
                outcome.refusal = _over_limit(request, before + outcome.valid)
            if stream.failed:
                raise _RollBack
            reporter.phase("committing")
            # Under the campaign's lock until commit: still open, and still within the limit
            # counting what was added meanwhile (our rows are visible to our transaction).
            committed_at = clock.now()
            await _check_campaign(conn, request, committed_at, lock=True)
            total = await store.count_unfinished(conn, request.vdn_id, request.campaign_id)
            if total > request.max_unfinished:
                raise _over_limit(request, total)
            if loaded:  # one entry per import, in its transaction (never one per row)
                await audit.record(
                    conn,
                    actor,
                    "calldata.import",
                    vdn_id=request.vdn_id,
                    target=f"campaign {request.campaign_id}",
                    now=committed_at,
                    after={
                        "file": request.path.name,
                        "rows": outcome.read,
                        "loaded": loaded,
                        "refused": outcome.refused,
                        "version": request.version,
                    },
                )
    except _RollBack:
        return
    outcome.loaded = loaded
    outcome.committed = True
    if postgres and loaded:
        # Fresh statistics for the planner: the dispatcher's claims and the
        # write-back's plans are made from them (see store.writeback_fast).
        reporter.phase("analysing")
        try:
            await store.analyze(engine)
        except StorageError:  # the rows are committed: a stale planner is not worth failing for
            log.warning("ANALYZE t_isl_data failed after the import; autovacuum will catch up")


async def _insert_batches(
    conn: AsyncConnection, request: ImportRequest, stream: RowStream, now: datetime
) -> int:
    """``store.calldata.insert`` (one executemany) per batch of rows."""
    loaded = 0
    batch: list[tuple[int, NewRecord]] = []
    for item in stream.load(lambda data_id, row: (data_id, row.record())):
        batch.append(item)
        if len(batch) == SQLITE_BATCH:
            await store.insert(conn, request.vdn_id, request.campaign_id, batch, now)
            loaded += len(batch)
            batch = []
    if batch:
        await store.insert(conn, request.vdn_id, request.campaign_id, batch, now)
        loaded += len(batch)
    return loaded
