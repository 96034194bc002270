"""Bulk import of call data from a CSV or XLSX file (``openisales import``; docs/import.md).

One pass over the file: every row is checked with the add-call-data API's rules
(:mod:`openisales.domain.import_rows`) and the good ones stream into the
database while the rest of the file is still being read -- through ``COPY`` on
PostgreSQL (asyncpg's ``copy_records_to_table`` on the transaction's own
connection), through ``executemany`` in batches on SQLite. Everything happens in
one transaction, so an import either loads its rows or leaves nothing behind.

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
"""

from __future__ import annotations

import csv
import gc
import importlib
import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time as dtime, timedelta
from pathlib import Path
from typing import Any, Protocol, TextIO, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.clock import Clock
from openisales.domain.calldata import DataStatus, NewRecord
from openisales.domain.import_rows import Header, HeaderError, Row, RowError, RowParser
from openisales.errors import Conflict, NotFound, OpenISalesError, StorageError
from openisales.services import blocklist, calldata as calldata_service
from openisales.store import blocklist as blocklist_store, calldata as store
from openisales.store.ids import IdAllocator, compose
from openisales.store.sql import RAW_DRIVER_ERRORS, reading, transaction
from openisales.store.tables import data

log = logging.getLogger("openisales.import")

SQLITE_BATCH = 5_000
PROGRESS_EVERY = 4_096  # rows between progress reports

# The columns COPY fills, in order; the others take their server defaults (NULL for most).
# The values are those ``store.calldata.insert`` writes (a test keeps the two equal).
COPY_COLUMNS = (
    "vdn_id",
    "data_id",
    "campaign_id",
    "session_id",
    "custom_field",
    "caller",
    "call_data",
    "recycle_time",
    "called_nos",
    "next_index",
    "attempt_index",
    "status",
    "attempt_no",
    "next_call_time",
    "created_at",
    "updated_at",
)
_WAITING = int(DataStatus.WAITING)
T = TypeVar("T")


class ImportFileError(Exception):
    """The file cannot be imported at all (unreadable, not CSV/XLSX, bad header)."""


@dataclass(frozen=True)
class ImportRequest:
    vdn_id: int
    campaign_id: int
    path: Path
    version: int = 2  # whose rules: the v1 or the v2 add-call-data API
    skip_bad: bool = False
    check_only: bool = False  # validate file and campaign, load nothing
    max_unfinished: int = 200_000


@dataclass
class Outcome:
    """What an import did. ``committed`` is False whenever nothing was loaded."""

    read: int = 0  # data rows in the file (blank lines aside)
    valid: int = 0  # rows that passed every rule
    loaded: int = 0
    refused: int = 0
    elapsed: float = 0.0
    committed: bool = False
    refusal: OpenISalesError | None = None  # a campaign check that failed
    first_errors: list[RowError] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Rows read per second."""
        return self.read / self.elapsed if self.elapsed > 0 else 0.0


class Reporter(Protocol):
    """Where progress and refused rows go (the CLI draws a progress bar)."""

    def start(self, total: int, unit: str) -> None: ...

    def advance(self, done: int) -> None: ...

    def refuse(self, error: RowError) -> None: ...

    def phase(self, text: str) -> None: ...


class Quiet:
    """A reporter that shows nothing (``Outcome.first_errors`` keeps the first refusals)."""

    def start(self, total: int, unit: str) -> None:
        pass

    def advance(self, done: int) -> None:
        pass

    def refuse(self, error: RowError) -> None:
        pass

    def phase(self, text: str) -> None:
        pass


# ---------------------------------------------------------------- sources


class Source(Protocol):
    header: list[str]
    total: int  # progress units: bytes (CSV) or rows (XLSX)
    unit: str

    def row_bound(self) -> int:
        """At least the number of data rows in the file."""
        ...

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """``(line, cells)`` of each non-blank data row."""
        ...

    def position(self) -> int: ...

    def close(self) -> None: ...


class CsvSource:
    """UTF-8 CSV (a byte-order mark is allowed), RFC 4180 quoting, header row first."""

    unit = "bytes"

    def __init__(self, path: Path) -> None:
        self._path = path
        self._raw = path.open("rb")
        try:
            self.total = os.fstat(self._raw.fileno()).st_size
            text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", newline="")
            self._reader = csv.reader(text, strict=True)
            first = self._next_row()
        except BaseException:
            self._raw.close()
            raise
        if first is None:
            self._raw.close()
            raise ImportFileError(f"{path}: the file is empty (a header row is needed)")
        self.header = first

    def _next_row(self) -> list[str] | None:
        while True:
            try:
                values = next(self._reader)
            except StopIteration:
                return None
            except UnicodeDecodeError:
                raise ImportFileError(
                    f"{self._path}: not UTF-8 text (near line {self._reader.line_num + 1})"
                ) from None
            except csv.Error as exc:
                raise ImportFileError(
                    f"{self._path}: line {self._reader.line_num}: not valid CSV: {exc}"
                ) from None
            if values:
                return values

    def row_bound(self) -> int:
        newlines = 0
        with self._path.open("rb") as f:
            while chunk := f.read(1 << 20):
                newlines += chunk.count(b"\n")
        return newlines + 1

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        reader = self._reader
        start = reader.line_num + 1
        try:
            for values in reader:
                if values:
                    yield start, values
                start = reader.line_num + 1
        except UnicodeDecodeError:
            raise ImportFileError(
                f"{self._path}: not UTF-8 text (near line {reader.line_num + 1})"
            ) from None
        except csv.Error as exc:
            raise ImportFileError(f"{self._path}: line {start}: not valid CSV: {exc}") from None

    def position(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()


class XlsxSource:
    """The first worksheet of an .xlsx workbook (openpyxl, read-only); row 1 is the header."""

    unit = "rows"

    def __init__(self, path: Path) -> None:
        try:
            openpyxl: Any = importlib.import_module("openpyxl")
        except ImportError:  # pragma: no cover - a dependency
            raise ImportFileError("reading .xlsx needs the openpyxl package") from None
        try:
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zipfile, XML and openpyxl errors alike
            raise ImportFileError(f"{path}: not a readable .xlsx workbook ({exc})") from None
        self._sheet = self._book.worksheets[0]
        self._bound: int | None = self._sheet.max_row  # from the sheet's dimension, if any
        self._sheet.reset_dimensions()  # read every row whatever the dimension says
        self._rows = self._sheet.iter_rows(values_only=True)
        self._done = 0
        header: list[str] | None = None
        for values in self._rows:
            self._done += 1
            cells = [_cell_text(v) for v in values]
            if any(cells):
                header = cells
                break
        if header is None:
            self.close()
            raise ImportFileError(f"{path}: the first sheet is empty (a header row is needed)")
        while header and not header[-1]:
            header.pop()
        self.header = header
        self._header_line = self._done
        self.total = self._bound or 0

    def row_bound(self) -> int:
        if self._bound is None:
            counted = sum(1 for _ in self._book.worksheets[0].iter_rows(values_only=True))
            self._bound = counted
            self.total = counted
        return max(self._bound - self._header_line, 0)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        width = len(self.header)
        served = 0
        bound = None if self._bound is None else self._bound - self._header_line
        for values in self._rows:
            self._done += 1
            cells = [_cell_text(v) for v in values]
            while len(cells) > width and not cells[-1]:
                cells.pop()
            if not any(cells):
                continue
            if len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            served += 1
            if bound is not None and served > bound:
                raise ImportFileError(
                    "the sheet holds more rows than its recorded dimension; "
                    "save it again with a spreadsheet program, or export it as CSV"
                )
            yield self._done, cells

    def position(self) -> int:
        return self._done

    def close(self) -> None:
        self._book.close()


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as the text the API would have received."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dtime):
        return value.strftime("%H:%M:%S")
    return str(value)


def open_source(path: Path) -> Source:
    """A CSV or XLSX source, chosen by the file's extension."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            return XlsxSource(path)
        if suffix in {".csv", ".txt"}:
            return CsvSource(path)
    except OSError as exc:
        raise ImportFileError(f"{path}: {exc.strerror or exc}") from None
    raise ImportFileError(f"{path}: only .csv and .xlsx files can be imported")


# ---------------------------------------------------------------- the row stream


class _Stream:
    """The file's rows, checked in order: the good ones to load, the bad ones reported."""

    def __init__(
        self,
        source: Source,
        parser: RowParser,
        reporter: Reporter,
        outcome: Outcome,
        *,
        strict: bool,
        ids: Sequence[int],
        vdn_id: int,
    ) -> None:
        self._rows = source.rows()
        self._source = source
        self._parser = parser
        self._reporter = reporter
        self._outcome = outcome
        self._strict = strict
        self._ids = iter(ids)
        self._vdn_id = vdn_id
        self.room = 0  # records the campaign can still take
        self.over_limit = False

    @property
    def failed(self) -> bool:
        """Whether the import cannot commit (a bad row without skip_bad, or no room)."""
        return (self._strict and self._outcome.refused > 0) or self.over_limit

    def _refuse(self, error: RowError) -> None:
        self._outcome.refused += 1
        if len(self._outcome.first_errors) < 100:
            self._outcome.first_errors.append(error)
        self._reporter.refuse(error)

    def load(self, make: Callable[[int, Row], T]) -> Iterator[T]:
        """``make(data_id, row)`` for each row to load; stops once the import cannot commit.

        The rest of the file is then left to :meth:`drain`.
        """
        parse = self._parser.parse
        outcome = self._outcome
        vdn_id, ids, room = self._vdn_id, self._ids, self.room
        read, valid = outcome.read, outcome.valid  # locals in the loop, written back at the end
        try:
            for line, values in self._rows:
                read += 1
                if not read % PROGRESS_EVERY:
                    self._reporter.advance(self._source.position())
                row = parse(line, values)
                if isinstance(row, RowError):
                    self._refuse(row)
                    if self._strict:
                        return
                    continue
                valid += 1
                if valid > room:
                    self.over_limit = True
                    return
                yield make(compose(vdn_id, next(ids)), row)
            self._reporter.advance(self._source.position())
        finally:
            outcome.read, outcome.valid = read, valid

    def drain(self) -> None:
        """Check the rest of the file (every bad row is reported); load nothing."""
        parse = self._parser.parse
        outcome = self._outcome
        for line, values in self._rows:
            outcome.read += 1
            if outcome.read % PROGRESS_EVERY == 0:
                self._reporter.advance(self._source.position())
            row = parse(line, values)
            if isinstance(row, RowError):
                self._refuse(row)
            else:
                outcome.valid += 1
        self._reporter.advance(self._source.position())


# ---------------------------------------------------------------- the use case


async def run(
    engine: AsyncEngine,
    ids: IdAllocator,
    request: ImportRequest,
    *,
    clock: Clock,
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
                await _import(engine, ids, request, source, parser, reporter, outcome, now, clock)
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
) -> None:
    reporter.phase("reserving ids")
    bound = source.row_bound()
    numbers = await ids.take(request.vdn_id, "data", bound) if bound > 0 else []
    stream = _Stream(
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
    await _load(engine, request, stream, outcome, reporter, now, clock)


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
    stream = _Stream(
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
    stream: _Stream,
    outcome: Outcome,
    reporter: Reporter,
    now: datetime,
    clock: Clock,
) -> None:
    postgres = engine.dialect.name == "postgresql"
    try:
        async with transaction(engine) as conn:
            before = await store.count_unfinished(conn, request.vdn_id, request.campaign_id)
            stream.room = request.max_unfinished - before
            with _cycle_collector_paused():
                if postgres:
                    loaded = await _copy(conn, request, stream, now)
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
            await _check_campaign(conn, request, clock.now(), lock=True)
            total = await store.count_unfinished(conn, request.vdn_id, request.campaign_id)
            if total > request.max_unfinished:
                raise _over_limit(request, total)
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


async def _copy(
    conn: AsyncConnection, request: ImportRequest, stream: _Stream, now: datetime
) -> int:
    """COPY the stream into t_isl_data on the transaction's own asyncpg connection.

    asyncpg's binary timestamptz encoder costs about a microsecond a value, four
    values a row: for the COPY the connection exchanges timestamptz as
    ``(microseconds since 2000-01-01,)`` instead (asyncpg's documented "tuple"
    codec format), computed once for ``now`` and once per distinct recycle time.
    The codec is local to the connection, needs no query to set or reset, and is
    reset before anything else runs on it.
    """
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if not driver.is_in_transaction():  # pragma: no cover - count_unfinished began it
        raise RuntimeError("COPY must run inside the import's transaction")
    vdn_id, campaign_id = request.vdn_id, request.campaign_id
    stamp = pg_time(now)
    times: dict[datetime, tuple[int]] = {}

    def make(data_id: int, r: Row) -> tuple[Any, ...]:
        recycle: tuple[int] | None = None
        if r.recycle_time is not None:
            recycle = times.get(r.recycle_time)
            if recycle is None:
                recycle = times[r.recycle_time] = pg_time(r.recycle_time)
        return (
            vdn_id,
            data_id,
            campaign_id,
            r.session_id,
            r.custom_field,
            r.caller,
            r.call_data,
            recycle,
            called_json(r.numbers),
            0,
            0,
            _WAITING,
            0,
            stamp,
            stamp,
            stamp,
        )

    await driver.set_type_codec(
        "timestamptz", schema="pg_catalog", encoder=_same, decoder=_same, format="tuple"
    )
    try:
        status: str = await driver.copy_records_to_table(
            data.name, columns=COPY_COLUMNS, records=stream.load(make)
        )
    except RAW_DRIVER_ERRORS as exc:
        raise StorageError(f"database operation failed: {exc}") from exc
    finally:
        try:
            await driver.reset_type_codec("timestamptz", schema="pg_catalog")
        except Exception:  # pragma: no cover - an asyncpg that queries in an aborted transaction
            await conn.invalidate()  # the pool must not hand the codec to anyone else
            raise
    return int(status.rsplit(" ", 1)[-1])


def _same(value: T) -> T:
    return value


_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def pg_time(moment: datetime) -> tuple[int]:
    """A timestamptz in asyncpg's tuple format: microseconds since 2000-01-01 UTC."""
    return ((moment - _PG_EPOCH) // _MICROSECOND,)


async def _insert_batches(
    conn: AsyncConnection, request: ImportRequest, stream: _Stream, now: datetime
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


_TYPE_JSON: dict[str | None, str] = {}


def called_json(numbers: Sequence[tuple[str, str | None]]) -> str:
    """``called_nos`` exactly as ``store.calldata.insert`` writes it (``json.dumps``).

    Numbers passed the ``[0-9*#]`` rule and need no escaping; a type's JSON is
    computed once.
    """
    parts = []
    for number, kind in numbers:
        quoted = _TYPE_JSON.get(kind)
        if quoted is None:
            quoted = json.dumps(kind or "")
            if len(_TYPE_JSON) < 1_024:
                _TYPE_JSON[kind] = quoted
        parts.append('{"calledNo":"' + number + '","type":' + quoted + "}")
    return "[" + ",".join(parts) + "]"


# ---------------------------------------------------------------- the command line's reporter


class ConsoleReporter:
    """A progress bar (rich) and the refused rows on stderr; all refused rows to a CSV file.

    Use as a context manager around :func:`run`. Rows beyond ``show`` are
    counted but not printed.
    """

    def __init__(self, *, progress: bool = True, show: int = 20, errors: TextIO | None = None):
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self._want_progress = progress
        self._bar: Any = None
        self._task: Any = None
        self._show = show
        self.shown = 0
        self._writer = csv.writer(errors) if errors is not None else None
        if self._writer is not None:
            self._writer.writerow(["line", "field", "code", "message"])

    def __enter__(self) -> ConsoleReporter:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def start(self, total: int, unit: str) -> None:
        if not self._want_progress or self._bar is not None:
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        amount = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            amount,
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self._bar.start()
        self._task = self._bar.add_task("importing", total=total or None)

    def advance(self, done: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done)

    def phase(self, text: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=text)

    def refuse(self, error: RowError) -> None:
        if self._writer is not None:
            self._writer.writerow([error.line, error.field, error.code, error.message])
        if self.shown < self._show:
            self.shown += 1
            self.console.print(str(error), markup=False)
