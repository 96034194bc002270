"""``openisales holiday add | list | delete`` on the embedded database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from openisales.cli import cli

ENV = {"OPENISALES_DATABASE_URL": "", "OPENISALES_MASTER_KEY": ""}


def _run(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(tmp_path), *args], env=ENV)


def _invoke(tmp_path: Path, *args: str) -> str:
    result = _run(tmp_path, *args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    _invoke(tmp_path, "vdn", "add", "--id", "1", "--name", "sales", "--time-zone", "Asia/Shanghai")
    _invoke(tmp_path, "vdn", "add", "--id", "2", "--name", "care")
    return tmp_path


def test_add_list_rename_delete(data_dir: Path) -> None:
    assert "holiday 2026-12-25 (Christmas) saved for VDN 1" in _invoke(
        data_dir, "holiday", "add", "--vdn", "1", "--date", "2026-12-25", "--name", "Christmas"
    )
    _invoke(data_dir, "holiday", "add", "--vdn", "1", "--date", "2026-01-01", "--name", "New Year")
    _invoke(data_dir, "holiday", "add", "--vdn", "1", "--date", "2027-01-01")
    assert _invoke(data_dir, "holiday", "list", "--vdn", "1").splitlines() == [
        "DATE        NAME",
        "2026-01-01  New Year",
        "2026-12-25  Christmas",
        "2027-01-01",
    ]
    assert _invoke(data_dir, "holiday", "list", "--vdn", "1", "--year", "2027").splitlines() == [
        "DATE        NAME",
        "2027-01-01",
    ]
    assert json.loads(_invoke(data_dir, "holiday", "list", "--vdn", "1", "--json")) == [
        {"date": "2026-01-01", "name": "New Year"},
        {"date": "2026-12-25", "name": "Christmas"},
        {"date": "2027-01-01", "name": ""},
    ]
    # adding a listed date renames it
    _invoke(data_dir, "holiday", "add", "--vdn", "1", "--date", "2026-12-25", "--name", "Xmas")
    assert "2026-12-25  Xmas" in _invoke(data_dir, "holiday", "list", "--vdn", "1")
    assert "holiday 2026-12-25 deleted from VDN 1" in _invoke(
        data_dir, "holiday", "delete", "--vdn", "1", "--date", "2026-12-25"
    )
    assert "2026-12-25" not in _invoke(data_dir, "holiday", "list", "--vdn", "1")


def test_calendars_are_per_vdn(data_dir: Path) -> None:
    _invoke(data_dir, "holiday", "add", "--vdn", "1", "--date", "2026-10-01", "--name", "National")
    assert _invoke(data_dir, "holiday", "list", "--vdn", "2") == "DATE  NAME\n"
    refused = _run(data_dir, "holiday", "delete", "--vdn", "2", "--date", "2026-10-01")
    assert refused.exit_code != 0 and "no holiday on 2026-10-01 in VDN 2" in refused.output
    assert "2026-10-01  National" in _invoke(data_dir, "holiday", "list", "--vdn", "1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "--vdn", "1", "--date", "2026-02-30"], "date: must be a date yyyy-mm-dd"),
        (["add", "--vdn", "1", "--date", "26-1-1"], "date: must be a date yyyy-mm-dd"),
        (
            ["add", "--vdn", "1", "--date", "2026-01-01", "--name", "n" * 65],
            "name: must be at most",
        ),
        (["add", "--vdn", "42", "--date", "2026-01-01"], "VDN 42 does not exist"),
        (["list", "--vdn", "42"], "VDN 42 does not exist"),
        (["list", "--vdn", "1", "--year", "0"], "--year"),
        (["delete", "--vdn", "1", "--date", "soon"], "date: must be a date yyyy-mm-dd"),
        (["delete", "--vdn", "42", "--date", "2026-01-01"], "VDN 42 does not exist"),
        (["delete", "--vdn", "1", "--date", "2026-01-01"], "no holiday on 2026-01-01 in VDN 1"),
        (["add", "--date", "2026-01-01"], "Missing option '--vdn'"),
    ],
)
def test_errors_are_clear_and_change_nothing(data_dir: Path, args: list[str], message: str) -> None:
    result = _run(data_dir, "holiday", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert _invoke(data_dir, "holiday", "list", "--vdn", "1", "--json") == "[]\n"
