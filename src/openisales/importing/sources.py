"""The files an import reads: UTF-8 CSV and the first sheet of an XLSX workbook.

A source gives the header row, then the non-blank data rows as text cells with
their line (CSV) or row (XLSX) numbers, and how far it has got for the progress
bar. A file that cannot be imported at all raises :class:`ImportFileError`.
"""

from __future__ import annotations

import csv
import importlib
import io
import os
from collections.abc import Iterator
from datetime import date, datetime, time as dtime
from pathlib import Path
from typing import Any, Protocol


class ImportFileError(Exception):
    """The file cannot be imported at all (unreadable, not CSV/XLSX, bad header)."""


class Source(Protocol):
    """An open file to import: its header row, then its data rows."""

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
