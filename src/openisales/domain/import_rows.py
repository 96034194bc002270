"""Rows of a bulk-import file -> call-data records, or the reason a row is refused.

Pure: no file, no database, no clock. A file (``docs/import.md``) has a header
row naming some of :data:`COLUMNS`, then one record per row. Each row becomes
the record the add-call-data API would receive and is checked with the API's
own rules, taken from :mod:`openisales.domain.calldata`:

* the record spec of :func:`~openisales.domain.calldata.add_spec` (v1 or v2),
  which yields the field's ``0200000x`` parameter code;
* :func:`~openisales.domain.calldata.parse_time` for ``recycleTime`` (``0200030``);
* the duplicate-number rule of :func:`~openisales.domain.calldata.plan_records`
  (``0200018``), applied across the whole file as if it were one request:
  v1 -- a number once in the file; v2 -- a number once per record, and once
  among the records that share a ``sessionId``.

The ``called`` column holds one number or several separated by ``|``; each may
carry its type before a colon, ``type:number`` (v2 only; v1 takes exactly one
plain number, as its API does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from openisales.domain.calldata import NewRecord, Number, add_spec, parse_time
from openisales.errors import ParamError
from openisales.validation import List, Obj, Spec, Str

COLUMNS = ("called", "sessionId", "customField", "caller", "callData", "recycleTime")
NUMBER_SEPARATOR = "|"
TYPE_SEPARATOR = ":"
DUPLICATE = "0200018"
ROW_SHAPE = "0200001"  # a row whose number of fields differs from the header's


class HeaderError(ValueError):
    """The header row cannot be used: unknown, repeated or missing columns."""


@dataclass(frozen=True)
class Header:
    """Where each of :data:`COLUMNS` sits in a row (``None``: not in the file)."""

    positions: tuple[int | None, ...]
    width: int

    @classmethod
    def parse(cls, names: Sequence[str]) -> Header:
        """Header names, matched to :data:`COLUMNS` ignoring case and surrounding blanks."""
        wanted = {c.lower(): c for c in COLUMNS}
        found: dict[str, int] = {}
        for i, raw in enumerate(names):
            name = raw.strip()
            column = wanted.get(name.lower())
            if column is None:
                raise HeaderError(
                    f"unknown column {name!r} in the header; columns are {', '.join(COLUMNS)}"
                )
            if column in found:
                raise HeaderError(f"column {column!r} appears twice in the header")
            found[column] = i
        if "called" not in found:
            raise HeaderError("the header has no 'called' column")
        return cls(tuple(found.get(c) for c in COLUMNS), len(names))


BLOCKED = "0200024"


@dataclass(frozen=True, slots=True)
class RowError:
    """Why the row starting at ``line`` is refused: the field, its result code, the reason."""

    line: int
    field: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.code} {self.message}"


def record_spec(version: int) -> Obj:
    """The spec of one record of the add-call-data body (v1 or v2), as the API checks it."""
    records = add_spec(version, 1).fields[0]
    assert isinstance(records, List) and isinstance(records.item, Obj)
    return records.item


def split_called(text: str) -> list[dict[str, str]]:
    """``"SI:138…|139…"`` -> the v2 wire list ``[{"calledNo", "type"}, …]``."""
    if NUMBER_SEPARATOR not in text:
        kind, _, number = text.rpartition(TYPE_SEPARATOR)
        return [{"calledNo": number, "type": kind}]
    out = []
    for part in text.split(NUMBER_SEPARATOR):
        kind, _, number = part.rpartition(TYPE_SEPARATOR)
        out.append({"calledNo": number, "type": kind})
    return out


class DuplicateNumbers:
    """The duplicate-number rule of ``plan_records``, kept across the rows of a file.

    v1: a number may appear once in the file. v2: once per record, and once
    among the records that share a ``sessionId`` (records without one are not
    compared). Only rows that are otherwise valid are remembered, so a refused
    row never makes a later one a duplicate. Keeps the line of each number's
    first appearance for the message.
    """

    def __init__(self, version: int) -> None:
        self._version = version
        self._seen: dict[Any, int] = {}  # v1: number; v2: (sessionId, number)

    def check(self, line: int, numbers: Sequence[str], session_id: str | None) -> str | None:
        """Record the row's numbers and return ``None``, or return why it is a duplicate."""
        if self._version == 1 or len(numbers) == 1:
            return self.check_one(line, numbers[0], session_id)
        if len(set(numbers)) != len(numbers):
            return "duplicate numbers in one record"
        if not session_id:
            return None
        keys = [(session_id, n) for n in numbers]
        for key in keys:
            first = self._seen.get(key)
            if first is not None:
                return self._in_session(key[1], session_id, first)
        for key in keys:
            self._seen[key] = line
        return None

    def check_one(self, line: int, number: str, session_id: str | None) -> str | None:
        """:meth:`check` for a record with one number (most of them): one look-up."""
        seen = self._seen
        size = len(seen)
        if self._version == 1:
            first = seen.setdefault(number, line)
            if len(seen) != size:  # new: recorded
                return None
            return f"duplicate number {number} (first on line {first})"
        if not session_id:
            return None
        first = seen.setdefault((session_id, number), line)
        if len(seen) != size:
            return None
        return self._in_session(number, session_id, first)

    @staticmethod
    def _in_session(number: str, session_id: str, first: int) -> str:
        return f"duplicate number {number} for sessionId {session_id} (first on line {first})"


Numbers = tuple[tuple[str, str | None], ...]  # (calledNo, type), in dialing order


class Row(NamedTuple):
    """A good row: the fields of the record it adds (a plain tuple: files run to millions)."""

    numbers: Numbers
    session_id: str | None
    caller: str | None
    custom_field: str | None
    call_data: str | None
    recycle_time: datetime | None

    def record(self) -> NewRecord:
        return NewRecord(
            numbers=tuple(Number(n, t) for n, t in self.numbers),
            session_id=self.session_id,
            caller=self.caller,
            custom_field=self.custom_field,
            call_data=self.call_data,
            recycle_time=self.recycle_time,
        )


# Row(...) runs a Python-level __new__; tuple.__new__ builds the same value in C.
_new_row = tuple.__new__
_UNSEEN = object()
MEMO_LIMIT = 4_096  # remembered verdicts per column


class RowParser:
    """Turns the rows of one file into records, in file order (the duplicate rule has state).

    A row is checked the way ``Obj.check`` checks the API's record -- each field
    of the record spec with the field's own spec -- except that the verdict on a
    good value already seen in the same column is remembered (the checks are
    pure): columns such as ``customField`` or ``recycleTime`` tend to repeat a
    handful of values over millions of rows. A column whose values hardly repeat
    stops being remembered. When a row breaks a rule, it is checked again field
    by field in the API's order, so that the reason given is the API's.
    """

    def __init__(self, header: Header, version: int, blocked: frozenset[str] = frozenset()) -> None:
        self._blocked = blocked  # numbers blocklisted when the import started (0200024)
        if version not in (1, 2):
            raise ValueError(f"unknown call-data API version {version}")
        self._width = header.width
        self._version = version
        where = dict(zip(COLUMNS, header.positions, strict=True))
        fields = record_spec(version).fields
        self._ordered = [(spec, where[spec.name]) for spec in fields]  # the API's order
        called, *others = fields
        assert called.name == "called" and where["called"] is not None
        self._called_pos: int = where["called"]
        self._called = _CalledV2(called) if version == 2 else _CalledV1(called)
        # The other fields: (slot in _SLOTS, column, remembered good verdicts, spec), and
        # those no longer remembered: (slot, column, spec). A column the file lacks is an
        # absent value on every row: judged once, here.
        self._remembered: list[tuple[int, int, dict[Any, Any], Spec]] = []
        self._direct: list[tuple[int, int, Spec]] = []
        self._template: list[Any] = [None] * len(_SLOTS)
        self._absent_bad = False
        for spec in others:
            slot, pos = _SLOTS.index(spec.name), where[spec.name]
            if pos is not None:
                self._remembered.append((slot, pos, {}, spec))
                continue
            try:
                self._template[slot] = spec.check(None, spec.name)
            except ParamError:
                self._absent_bad = True
        self._duplicates = DuplicateNumbers(version)
        self._times: dict[str, datetime | RowError] = {}

    def parse(self, line: int, values: Sequence[str]) -> Row | RowError:
        """The record of the row starting at ``line``, or why it is refused.

        ``values`` are the row's cells as text, in header order; an empty cell is
        an absent value. One reason per row: the first rule it breaks, in the
        order the API checks them (fields in spec order, then ``recycleTime``'s
        format, then duplicates).
        """
        if len(values) != self._width:
            return RowError(
                line, "row", ROW_SHAPE, f"has {len(values)} fields; the header has {self._width}"
            )
        found = self._template.copy()
        try:
            numbers = self._called.numbers(values[self._called_pos])
            for slot, pos, memo, spec in self._remembered:
                value = values[pos] or None
                verdict = memo.get(value, _UNSEEN)
                if verdict is _UNSEEN:
                    verdict = self._learn(slot, pos, memo, spec, value)
                found[slot] = verdict
            for slot, pos, spec in self._direct:
                found[slot] = spec.check(values[pos] or None, spec.name)
        except ParamError:
            return self._first_error(line, values)
        if self._absent_bad:  # a column the file lacks may not be absent
            return self._first_error(line, values)
        session_id, caller, custom_field, call_data, recycle_text = found
        recycle: Any = None
        if recycle_text is not None:
            recycle = self._times.get(recycle_text)
            if type(recycle) is not datetime:  # not seen yet, or bad
                recycle = self._recycle_time(line, recycle_text)
                if isinstance(recycle, RowError):
                    return recycle
        if len(numbers) == 1:
            duplicate = self._duplicates.check_one(line, numbers[0][0], session_id)
        else:
            duplicate = self._duplicates.check(line, [n for n, _ in numbers], session_id)
        if duplicate is not None:
            return RowError(line, "called", DUPLICATE, duplicate)
        if self._blocked:
            barred = sorted(n for n, _ in numbers if n in self._blocked)
            if barred:
                return RowError(
                    line, "called", BLOCKED, f"blocklisted numbers: {', '.join(barred)}"
                )
        return _new_row(Row, (numbers, session_id, caller, custom_field, call_data, recycle))

    def _learn(self, slot: int, pos: int, memo: dict[Any, Any], spec: Spec, value: Any) -> Any:
        """Check a value not seen before in its column (raises ParamError) and remember it."""
        verdict = spec.check(value, spec.name)
        if len(memo) < MEMO_LIMIT:
            memo[value] = verdict
        else:  # values hardly repeat in this column: stop remembering (new lists: the
            # running loop keeps the old one, and checking a value twice is harmless)
            self._remembered = [c for c in self._remembered if c[1] != pos]
            self._direct = [*self._direct, (slot, pos, spec)]
        return verdict

    def _first_error(self, line: int, values: Sequence[str]) -> RowError:
        """The API's verdict on a row known to break a field rule: its first bad field."""
        for spec, pos in self._ordered:
            value: Any = (values[pos] or None) if pos is not None else None
            if spec.name == "called" and value is not None and self._version == 2:
                value = split_called(value)
            try:
                spec.check(value, spec.name)
            except ParamError as exc:
                return _param_error(line, exc)
        raise AssertionError("a row refused by a field rule passed every field")  # pragma: no cover

    def _recycle_time(self, line: int, value: str) -> datetime | RowError:
        """``parse_time`` once per distinct value."""
        known = self._times.get(value)
        if known is None:
            try:
                known = parse_time(value, "recycleTime")
            except ParamError as exc:
                known = _param_error(0, exc)
            if len(self._times) < MEMO_LIMIT:
                self._times[value] = known
        if isinstance(known, RowError):
            return RowError(line, known.field, known.code, known.message)
        return known


class _CalledV1:
    """v1's ``called`` cell: one plain number (the record spec's ``called`` string)."""

    def __init__(self, spec: Spec) -> None:
        assert isinstance(spec, Str) and spec.required
        self._check: Callable[[Any, str], Any] = spec.check  # required: a str when it passes

    def numbers(self, text: str) -> Numbers:
        """The cell's number, or ParamError (the API's reason: ``RowParser._first_error``)."""
        return ((self._check(text or None, "called"), None),)


class _CalledV2:
    """v2's ``called`` cell: what ``spec.check(split_called(text))`` accepts, as numbers.

    The record spec's ``called`` list of ``{calledNo, type}`` objects, checked
    without building the wire list: the list's limits, then each item's two
    fields with their own specs; a type's verdict is remembered (types repeat).
    A failure is a bare ParamError: the API's reason comes from the spec itself
    (``RowParser._first_error``). A test holds the two equal on any cell.
    """

    def __init__(self, spec: Spec) -> None:
        assert isinstance(spec, List) and spec.required and isinstance(spec.item, Obj)
        number, kind = spec.item.fields  # the only fields split_called fills
        assert (number.name, kind.name) == ("calledNo", "type")
        assert isinstance(number, Str) and isinstance(kind, Str)
        self._list = spec
        # a required string: a str when it passes; a type: a str or None (empty)
        self._number: Callable[[Any, str], Any] = number.check
        self._kind = kind.check
        self._kinds: dict[str, Any] = {}

    def numbers(self, text: str) -> Numbers:
        """The cell's ``(calledNo, type)`` pairs, or ParamError."""
        if not text:
            self._list.check(None, "called")  # required: raises
        if NUMBER_SEPARATOR not in text:  # one number, most often
            kind, _, number = text.rpartition(TYPE_SEPARATOR)
            checked = self._number(number, "called")
            verdict = self._kinds.get(kind, _UNSEEN)
            if verdict is _UNSEEN:
                verdict = self._learn(kind)
            return ((checked, verdict),)
        parts = text.split(NUMBER_SEPARATOR)
        limit = self._list.max_items
        if limit is not None and len(parts) > limit:
            self._list.check(split_called(text), "called")  # too many items: raises
        out: list[tuple[str, str | None]] = []
        for part in parts:
            kind, _, number = part.rpartition(TYPE_SEPARATOR)
            checked = self._number(number, "called")
            verdict = self._kinds.get(kind, _UNSEEN)
            if verdict is _UNSEEN:
                verdict = self._learn(kind)
            out.append((checked, verdict))
        return tuple(out)

    def _learn(self, kind: str) -> Any:
        """A type not seen before: checked (raises ParamError), remembered."""
        verdict = self._kind(kind, "called")
        if len(self._kinds) < MEMO_LIMIT:
            self._kinds[kind] = verdict
        return verdict


# Where each field other than ``called`` lands while a row is checked (Row's order).
_SLOTS = ("sessionId", "caller", "customField", "callData", "recycleTime")


def _param_error(line: int, exc: ParamError) -> RowError:
    prefix = f"{exc.field}: "
    reason = (
        exc.description[len(prefix) :] if exc.description.startswith(prefix) else exc.description
    )
    return RowError(line, exc.field, exc.result_code, reason)
