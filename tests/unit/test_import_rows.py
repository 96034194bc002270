"""Import rows -> records or refusals, with the add-call-data API's own rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, strategies as st

from openisales.domain.calldata import NewRecord, Number, plan_records
from openisales.domain.import_rows import (
    COLUMNS,
    Header,
    HeaderError,
    Row,
    RowError,
    RowParser,
    _CalledV2,
    record_spec,
    split_called,
)
from openisales.errors import Conflict, ParamError

FULL = Header.parse(list(COLUMNS))


def _row(**cells: str) -> list[str]:
    return [cells.get(c, "") for c in COLUMNS]


def test_header_matches_names_ignoring_case_and_blanks_in_any_order() -> None:
    header = Header.parse([" SessionID", "called ", "RECYCLETIME"])
    assert header.width == 3
    assert header.positions == (1, 0, None, None, None, 2)


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["called", "phone"], "unknown column 'phone'"),
        (["called", "Called"], "'called' appears twice"),
        (["sessionId"], "no 'called' column"),
        ([], "no 'called' column"),
    ],
)
def test_bad_headers_are_refused(names: list[str], message: str) -> None:
    with pytest.raises(HeaderError, match=message):
        Header.parse(names)


@pytest.mark.parametrize(
    ("text", "wire"),
    [
        ("138", [{"calledNo": "138", "type": ""}]),
        (
            "SI:138|HOME:139",
            [{"calledNo": "138", "type": "SI"}, {"calledNo": "139", "type": "HOME"}],
        ),
        ("a:b:138", [{"calledNo": "138", "type": "a:b"}]),
        ("138|", [{"calledNo": "138", "type": ""}, {"calledNo": "", "type": ""}]),
    ],
)
def test_split_called(text: str, wire: list[dict[str, str]]) -> None:
    assert split_called(text) == wire


def test_a_full_v2_row_becomes_the_record_the_api_would_store() -> None:
    parser = RowParser(FULL, 2)
    row = parser.parse(
        2,
        _row(
            called="SI:13800000001|HOME:13900000002",
            sessionId="c-1",
            customField="batch-7",
            caller="8888",
            callData='{"name": "Li"}',
            recycleTime="2030-01-01 10:00:00",
        ),
    )
    assert isinstance(row, Row)
    assert row.record() == NewRecord(
        numbers=(Number("13800000001", "SI"), Number("13900000002", "HOME")),
        session_id="c-1",
        caller="8888",
        custom_field="batch-7",
        call_data='{"name": "Li"}',
        recycle_time=datetime(2030, 1, 1, 10, tzinfo=UTC),
    )


def test_empty_cells_are_absent_values_and_missing_columns_too() -> None:
    parser = RowParser(Header.parse(["called", "callData"]), 2)
    row = parser.parse(2, ["138", ""])
    assert isinstance(row, Row)
    assert row.record() == NewRecord(
        numbers=(Number("138", None),),
        session_id=None,
        caller=None,
        custom_field=None,
        call_data=None,
        recycle_time=None,
    )


@pytest.mark.parametrize(
    ("version", "cells", "field", "code", "message"),
    [
        (2, {}, "called", "02000001", "must not be empty"),
        (2, {"called": "138|"}, "called[1].calledNo", "02000001", "must not be empty"),
        (2, {"called": "12-34"}, "called[0].calledNo", "02000002", "may contain only [0-9*#]"),
        (2, {"called": "1" * 25}, "called[0].calledNo", "02000003", "at most 24"),
        (2, {"called": "|".join(str(i) for i in range(21))}, "called", "02000011", "at most 20"),
        (2, {"called": ("T" * 33) + ":1"}, "called[0].type", "02000003", "at most 32"),
        (2, {"called": "1", "sessionId": "s" * 33}, "sessionId", "02000003", "at most 32"),
        (2, {"called": "1", "customField": "c" * 201}, "customField", "02000003", "200"),
        (2, {"called": "1", "customField": "a;b"}, "customField", "02000002", "must not contain"),
        (2, {"called": "1", "caller": "88-88"}, "caller", "02000002", "[0-9*#]"),
        (2, {"called": "1", "callData": "d" * 1025}, "callData", "02000003", "1024"),
        (2, {"called": "1", "recycleTime": "2030-01-01"}, "recycleTime", "0200030", "yyyy-MM-dd"),
        (
            2,
            {"called": "1", "recycleTime": "2030-02-30 10:00:00"},
            "recycleTime",
            "0200030",
            "valid",
        ),
        (2, {"called": "1|1"}, "called", "0200018", "duplicate numbers in one record"),
        (1, {"called": "SI:138"}, "called", "02000002", "[0-9*#]"),
        (1, {"called": "138|139"}, "called", "02000002", "[0-9*#]"),
        (1, {"called": "1", "sessionId": "s" * 33}, "sessionId", "02000003", "at most 32"),
    ],
)
def test_each_bad_cell_gets_the_api_code(
    version: int, cells: dict[str, str], field: str, code: str, message: str
) -> None:
    error = RowParser(FULL, version).parse(7, _row(**cells))
    assert isinstance(error, RowError)
    assert (error.line, error.field, error.code) == (7, field, code)
    assert message in error.message
    assert str(error).startswith(f"line 7: {field}: {code} ")


def test_the_reason_is_the_first_rule_broken_in_the_api_order() -> None:
    parser = RowParser(FULL, 2)
    both = parser.parse(2, _row(called="1", customField="a;b", callData="d" * 1025))
    assert isinstance(both, RowError) and both.field == "customField"
    late = parser.parse(3, _row(called="1", callData="d" * 1025, recycleTime="2030-13-01 00:00:00"))
    assert isinstance(late, RowError) and late.field == "callData"  # spec rules before the date
    dup = parser.parse(4, _row(called="1|1", recycleTime="soon"))
    assert isinstance(dup, RowError) and dup.code == "0200030"  # the date before duplicates


def test_columns_that_do_not_repeat_stop_being_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("openisales.domain.import_rows.MEMO_LIMIT", 3)
    parser = RowParser(FULL, 2)
    for i in range(10):
        row = parser.parse(i, _row(called=str(i), sessionId=f"s{i}", customField="batch"))
        assert isinstance(row, Row) and row.session_id == f"s{i}" and row.custom_field == "batch"
    assert [c[1] for c in parser._direct] == [FULL.positions[1]]  # sessionId only
    error = parser.parse(11, _row(called="11", sessionId="s" * 33, customField="batch"))
    assert isinstance(error, RowError) and (error.field, error.code) == ("sessionId", "02000003")
    again = parser.parse(12, _row(called="12", sessionId="s12", customField="a;b"))
    assert isinstance(again, RowError) and again.field == "customField"


def test_v1_allows_special_characters_in_custom_field_as_its_api_does() -> None:
    assert isinstance(RowParser(FULL, 1).parse(2, _row(called="1", customField="a;b")), Row)


def test_a_row_with_the_wrong_number_of_fields_is_refused() -> None:
    parser = RowParser(Header.parse(["called", "sessionId"]), 2)
    error = parser.parse(4, ["1", "s", "extra"])
    assert error == RowError(4, "row", "0200001", "has 3 fields; the header has 2")
    assert isinstance(parser.parse(5, ["1"]), RowError)


def test_a_bad_recycle_time_is_reported_on_every_row_that_repeats_it() -> None:
    parser = RowParser(FULL, 2)
    first = parser.parse(2, _row(called="1", recycleTime="soon"))
    again = parser.parse(9, _row(called="2", recycleTime="soon"))
    assert isinstance(first, RowError) and isinstance(again, RowError)
    assert (first.line, again.line) == (2, 9)
    assert first.message == again.message


def test_v2_duplicates_are_per_session_and_name_the_first_line() -> None:
    parser = RowParser(FULL, 2)
    assert isinstance(parser.parse(2, _row(called="1|2", sessionId="a")), Row)
    assert isinstance(parser.parse(3, _row(called="1", sessionId="b")), Row)
    assert isinstance(parser.parse(4, _row(called="1")), Row)  # no session: not compared
    assert isinstance(parser.parse(5, _row(called="1")), Row)
    error = parser.parse(6, _row(called="3|2", sessionId="a"))
    assert error == RowError(
        6, "called", "0200018", "duplicate number 2 for sessionId a (first on line 2)"
    )
    # the refused row left nothing behind: 3 is still free in session a
    assert isinstance(parser.parse(7, _row(called="3", sessionId="a")), Row)


def test_v1_refuses_a_number_twice_in_the_file_whatever_the_session() -> None:
    parser = RowParser(FULL, 1)
    assert isinstance(parser.parse(2, _row(called="1", sessionId="a")), Row)
    error = parser.parse(3, _row(called="1", sessionId="b"))
    assert error == RowError(3, "called", "0200018", "duplicate number 1 (first on line 2)")


def test_a_refused_row_does_not_make_a_later_one_a_duplicate() -> None:
    parser = RowParser(FULL, 1)
    assert isinstance(parser.parse(2, _row(called="1", recycleTime="bad")), RowError)
    assert isinstance(parser.parse(3, _row(called="1")), Row)


def test_unknown_version_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="version 3"):
        RowParser(FULL, 3)


# The duplicate rule is plan_records' rule: for any file of otherwise valid rows,
# the first row the parser refuses is the record at which plan_records stops.

_numbers = st.lists(st.sampled_from("123"), min_size=1, max_size=3)
_sessions = st.sampled_from(["", "a", "b"])


def _plan(items: list[dict[str, Any]], version: int) -> list[NewRecord] | int:
    """plan_records' records, or the index of the record it refuses."""
    try:
        return plan_records({"callDataList": items}, version)
    except Conflict as exc:
        assert exc.result_code == "0200018"
        found = re.match(r"callDataList\[(\d+)\]", exc.description)
        assert found is not None
        return int(found.group(1))


@given(st.lists(st.tuples(_numbers, _sessions), max_size=8), st.sampled_from([1, 2]))
def test_duplicates_match_plan_records(rows: list[tuple[list[str], str]], version: int) -> None:
    if version == 1:
        rows = [(numbers[:1], session) for numbers, session in rows]
    items = [
        {
            "called": numbers[0]
            if version == 1
            else [{"calledNo": n, "type": None} for n in numbers],
            "sessionId": session or None,
            "customField": None,
            "caller": None,
            "callData": None,
            "recycleTime": None,
        }
        for numbers, session in rows
    ]
    parser = RowParser(FULL, version)
    parsed: list[NewRecord] | int = []
    for i, (numbers, session) in enumerate(rows):
        result = parser.parse(i, _row(called="|".join(numbers), sessionId=session))
        if isinstance(result, RowError):
            assert result.code == "0200018"
            parsed = i
            break
        assert isinstance(parsed, list)
        parsed.append(result.record())
    assert parsed == _plan(items, version)


# The v2 ``called`` cell is checked without building the API's wire list: for any
# cell, the same verdict and the same numbers as the record spec's own check.

_CALLED_SPEC = record_spec(2).fields[0]
_CALLED = _CalledV2(_CALLED_SPEC)  # one for every example: its remembered types too
_part = st.text(alphabet="0123456789*#:SIHOMEx-\x00 ", max_size=30)
_good = st.tuples(st.sampled_from(["", "SI:", "HOME:", ":"]), st.text("0123456789*#", min_size=1))


@given(
    st.lists(_part, max_size=23).map("|".join)
    | st.lists(_good.map("".join), min_size=18, max_size=23).map("|".join)
    | st.text(max_size=40)
)
def test_the_called_cell_gets_the_verdict_of_the_api_spec(cell: str) -> None:
    try:
        checked = _CALLED_SPEC.check(split_called(cell) if cell else None, "called")
        assert isinstance(checked, list)
        expected: list[tuple[str, str | None]] | None = [
            (n["calledNo"], n["type"]) for n in checked
        ]
    except ParamError:
        expected = None
    try:
        got: list[tuple[str, str | None]] | None = list(_CALLED.numbers(cell))
    except ParamError:
        got = None
    assert got == expected
