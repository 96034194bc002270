from __future__ import annotations

import pytest

from openisales.domain.obs_result import (
    CREATE_SPEC,
    PAGE_SPEC,
    NewObsResult,
    ObsMap,
    ObsResult,
    plan_obs_result,
    to_wire,
)
from openisales.errors import ParamError
from openisales.validation import query_params

GOOD = {"resultCode": "007", "displayResult": "No answer", "obsCodes": ["00602", "00606"]}


def _plan(body):
    return plan_obs_result(CREATE_SPEC.check(body, ""))


def test_a_good_body_becomes_a_definition() -> None:
    assert _plan(GOOD) == NewObsResult("007", "No answer", ("00602", "00606"))


def test_result_code_of_seven_characters_is_the_longest() -> None:
    assert _plan({**GOOD, "resultCode": "OB-9999"}).result_code == "OB-9999"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"resultCode": None}, "02000001", "resultCode"),
        ({"resultCode": ""}, "02000001", "resultCode"),
        ({"resultCode": 7}, "02000006", "resultCode"),
        ({"resultCode": "OB99999X"}, "02000003", "resultCode"),
        ({"resultCode": "a b"}, "02000002", "resultCode"),
        ({"resultCode": "a_b"}, "02000002", "resultCode"),
        ({"displayResult": None}, "02000001", "displayResult"),
        ({"displayResult": "d" * 101}, "02000003", "displayResult"),
        ({"displayResult": "a<b"}, "02000002", "displayResult"),
        ({"obsCodes": None}, "02000001", "obsCodes"),
        ({"obsCodes": []}, "02000001", "obsCodes"),
        ({"obsCodes": "00537"}, "02000006", "obsCodes"),
        ({"obsCodes": ["00537"] * 101}, "02000011", "obsCodes"),
        ({"obsCodes": ["00537", None]}, "02000001", "obsCodes[1]"),
        ({"obsCodes": [537]}, "02000006", "obsCodes[0]"),
        ({"obsCodes": ["0537"]}, "02000004", "obsCodes[0]"),
        ({"obsCodes": ["000537"]}, "02000003", "obsCodes[0]"),
        ({"obsCodes": ["0053a"]}, "02000002", "obsCodes[0]"),
        ({"obsCodes": ["00537", "99999"]}, "02000007", "obsCodes[1]"),
        ({"obsCodes": ["00537", "00603", "00537"]}, "02000009", "obsCodes[2]"),
    ],
)
def test_bad_bodies_get_their_code_and_field(change, code, field) -> None:
    with pytest.raises(ParamError) as info:
        _plan({**GOOD, **change})
    assert info.value.result_code == code
    assert info.value.field == field


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"pageNum": "1"}, "02000001"),
        ({"pageSize": "10"}, "02000001"),
        ({"pageSize": "0", "pageNum": "1"}, "02000007"),
        ({"pageSize": "51", "pageNum": "1"}, "02000007"),
        ({"pageSize": "10", "pageNum": "0"}, "02000007"),
        ({"pageSize": "x", "pageNum": "1"}, "02000006"),
    ],
)
def test_paging_parameters(params, code) -> None:
    with pytest.raises(ParamError) as info:
        query_params(PAGE_SPEC, params)
    assert info.value.result_code == code


def test_paging_parameters_from_text() -> None:
    assert query_params(PAGE_SPEC, {"pageSize": "50", "pageNum": "3"}) == {
        "pageSize": 50,
        "pageNum": 3,
    }


def test_wire_shape_has_string_ids() -> None:
    result = ObsResult(11, "007", "No answer", (ObsMap(21, "00602"), ObsMap(22, "00606")))
    assert to_wire(result, 3) == {
        "defId": "11",
        "displayResult": "No answer",
        "vdnId": 3,
        "resultCode": "007",
        "resultMapList": [
            {"mapId": "21", "defId": "11", "failCode": "00602", "vdnId": 3},
            {"mapId": "22", "defId": "11", "failCode": "00606", "vdnId": 3},
        ],
    }
