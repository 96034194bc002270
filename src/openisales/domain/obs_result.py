"""Display results (外显结果): a VDN's own codes grouping platform failure codes.

``createObResult`` defines a display result ``{resultCode, displayResult}`` and
the failure codes (``obsCodes``) it stands for. Within a VDN a resultCode is
defined once and a failure code belongs to at most one display result, so the
failCode → resultCode map is a function (``failcodes.display_code``).

Our rules where Huawei is silent: ``resultCode`` uses ``[0-9A-Za-z-]``; each
``obsCodes`` entry must be a five-digit code of our catalogue (``02000007``
otherwise) and may appear once (``02000009`` for a repeat); at most 100 entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openisales.domain import failcodes
from openisales.errors import ParamError
from openisales.validation import BAD_VALUE, COMBINATION, Int, List, Obj, Str

RESULT_CODE_CHARS = "0-9A-Za-z-"
MAX_RESULT_CODE = 7  # Huawei: "fewer than 8 characters"
MAX_OBS_CODES = 100

CREATE_SPEC = Obj(
    "body",
    (
        Str(
            "resultCode",
            required=True,
            max_len=MAX_RESULT_CODE,
            allowed=RESULT_CODE_CHARS,
            description="fewer than 8 characters, unique in the VDN",
        ),
        Str(
            "displayResult",
            required=True,
            max_len=100,
            forbid_special=True,
            description="the text shown for these failure codes",
        ),
        List(
            "obsCodes",
            Str(
                "obsCode",
                required=True,
                min_len=5,
                max_len=5,
                allowed="0-9",
                description="a failure code",
            ),
            required=True,
            max_items=MAX_OBS_CODES,
            description="platform failure codes (queryOBSResultCode), each once, "
            "none already mapped in the VDN",
        ),
    ),
    required=True,
)

PAGE_SPEC = (
    Int("pageSize", required=True, minimum=1, maximum=50, from_text=True, description="1 to 50"),
    Int("pageNum", required=True, minimum=1, from_text=True, description="the page, from 1"),
)


@dataclass(frozen=True)
class NewObsResult:
    result_code: str
    display_result: str
    fail_codes: tuple[str, ...]


@dataclass(frozen=True)
class ObsMap:
    map_id: int
    fail_code: str


@dataclass(frozen=True)
class ObsResult:
    def_id: int
    result_code: str
    display_result: str
    maps: tuple[ObsMap, ...]


def plan_obs_result(body: dict[str, Any]) -> NewObsResult:
    """Turn a checked ``createObResult`` body into a definition.

    Raises ``02000007`` naming ``obsCodes[i]`` for a code outside the catalogue
    and ``02000009`` for a code listed twice (the second occurrence).
    """
    codes: list[str] = body["obsCodes"]
    seen: set[str] = set()
    for i, code in enumerate(codes):
        if not failcodes.is_known(code):
            raise ParamError(BAD_VALUE, f"obsCodes[{i}]", f"{code} is not a platform failure code")
        if code in seen:
            raise ParamError(COMBINATION, f"obsCodes[{i}]", f"{code} is listed more than once")
        seen.add(code)
    return NewObsResult(body["resultCode"], body["displayResult"], tuple(codes))


def to_wire(result: ObsResult, vdn_id: int) -> dict[str, Any]:
    """The ``obResult`` shape: ids as strings, maps in creation order."""
    def_id = str(result.def_id)
    return {
        "defId": def_id,
        "displayResult": result.display_result,
        "vdnId": vdn_id,
        "resultCode": result.result_code,
        "resultMapList": [
            {"mapId": str(m.map_id), "defId": def_id, "failCode": m.fail_code, "vdnId": vdn_id}
            for m in result.maps
        ],
    }
