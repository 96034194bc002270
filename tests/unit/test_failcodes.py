from __future__ import annotations

from pathlib import Path

import pytest

from openisales.domain import failcodes

DOC = Path(__file__).resolve().parents[2] / "docs" / "failure-codes.md"

# Every code spec §2.6 names, with the category it gives (None: the spec gives none).
SPEC_CODES = {
    "00000": "success",
    **dict.fromkeys(
        ["00531", "00537", "00538", "00548", "00549", "00551", "00601", "00603", "00604", "00701"],
        "user",
    ),
    **dict.fromkeys(
        ["00702", "01040", "01043", "01046", "01049", "34601", "34605", "34608"], "platform"
    ),
    **dict.fromkeys(["00602", "00605", "01048", "34606"], "resource"),
    **dict.fromkeys(["00606", "34611"], "system"),
    **dict.fromkeys(["01056", "01281", "01288"], None),
    **dict.fromkeys(
        ["00129", "00145", "00146", "00147", "00149", "00208", "00209", "00703", "01041"],
        None,
    ),
}


def test_failure_code_document_is_generated_from_the_catalogue() -> None:
    assert DOC.read_text() == failcodes.render_markdown(), (
        "docs/failure-codes.md is stale: run "
        "`python -m openisales.domain.failcodes > docs/failure-codes.md`"
    )


@pytest.mark.parametrize(("code", "expected"), sorted(SPEC_CODES.items()))
def test_every_code_of_the_spec_is_catalogued_in_its_category(code, expected) -> None:
    assert failcodes.is_known(code)
    assert failcodes.describe(code)
    if expected is not None:
        assert failcodes.category(code) == expected


def test_catalogue_is_five_digit_codes_in_code_order() -> None:
    codes = [c.code for c in failcodes.CODES]
    assert codes == sorted(set(codes))
    assert all(len(c) == 5 and c.isdigit() for c in codes)
    assert {c.category for c in failcodes.CODES} == {
        "success",
        "user",
        "platform",
        "resource",
        "system",
    }


def test_well_known_meanings() -> None:
    assert failcodes.SUCCESS == "00000" and failcodes.describe("00000") == "Success"
    assert failcodes.NO_RESULT == "34608" and "timeout" in str(failcodes.describe("34608"))
    assert failcodes.describe("00537") == "Busy"
    assert failcodes.describe("00603") == "No answer"
    assert failcodes.describe("01040") == "Ring timeout"
    assert failcodes.describe("01281") == "Platform failure code 01281"


@pytest.mark.parametrize("code", ["", "0", "537", "99999", "00537 ", "abcde"])
def test_unknown_codes(code) -> None:
    assert failcodes.describe(code) is None
    assert failcodes.category(code) == "unknown"
    assert not failcodes.is_known(code)


def test_display_code_is_the_vdn_mapping_without_fallback() -> None:
    mapping = {"00537": "BUSY", "00603": "NOANS"}
    assert failcodes.display_code("00537", mapping) == "BUSY"
    assert failcodes.display_code("00000", mapping) is None
    assert failcodes.display_code("00537", {}) is None


def test_pages_cover_the_catalogue_once() -> None:
    total = len(failcodes.CODES)
    seen = []
    for num in range(1, total // 7 + 2):
        count, codes = failcodes.page(7, num)
        assert count == total and len(codes) <= 7
        seen.extend(codes)
    assert tuple(seen) == failcodes.CODES
    assert failcodes.page(50, 1) == (total, failcodes.CODES)
    assert failcodes.page(50, 10**18) == (total, ())
