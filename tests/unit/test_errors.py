from __future__ import annotations

from pathlib import Path

import pytest

from openisales import errors

DOC = Path(__file__).resolve().parents[2] / "docs" / "result-codes.md"


def test_result_code_document_is_generated_from_the_catalogue() -> None:
    assert DOC.read_text() == errors.render_markdown(), (
        "docs/result-codes.md is stale: run `python -m openisales.errors > docs/result-codes.md`"
    )


def test_catalogue_holds_the_documented_families() -> None:
    codes = set(errors.CATALOGUE)
    assert {"0200000", "0200001", "0200033", "0200034", "0200999", "04000004"} <= codes
    assert {f"020000{i:02d}" for i in range(1, 12)} <= codes
    assert all(len(c) in (7, 8) and c.isdigit() for c in codes)


def test_an_error_with_an_unknown_code_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="unknown result code"):
        errors.OpenISalesError("x", result_code="0209999")


def test_param_error_names_the_field() -> None:
    error = errors.ParamError("02000003", "busiResult", "too long")
    assert error.result_code == "02000003"
    assert error.description == "busiResult: too long"
    assert error.http_status == 200


def test_auth_error_travels_as_401() -> None:
    assert errors.AuthError("nope").http_status == 401
