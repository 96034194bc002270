"""The ``attemptResult`` body a CTI sends for each call task (ours, modelled on spec 2.6/2.8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openisales.domain.schedule import parse_time
from openisales.errors import ParamError
from openisales.validation import COMBINATION, ILLEGAL, Int, Obj, Str

SUCCESS = "00000"
MAX_DATA_ID = 2**63 - 1  # ids are signed 64-bit
MAX_ATTEMPT_NO = 2**31 - 1  # attempts are counted in a 32-bit column

REPORT_SPEC = Obj(
    "body",
    (
        Str(
            "attemptId",
            required=True,
            max_len=40,
            description="from the call task: dataId:attemptNo",
        ),
        Str(
            "failCode",
            required=True,
            min_len=5,
            max_len=5,
            allowed="0-9",
            description="platform failure code; 00000 = answered",
        ),
        Int(
            "callStatus",
            choices=(5, 6),
            description="5 failed, 6 succeeded; must agree with failCode",
        ),
        Str("callId", max_len=64, description="the CTI's call id"),
        Str("ringTime", max_len=19, description="yyyy-MM-dd HH:mm:ss UTC"),
        Str("answerTime", max_len=19, description="yyyy-MM-dd HH:mm:ss UTC"),
        Str("endTime", max_len=19, description="yyyy-MM-dd HH:mm:ss UTC"),
        Str("workNo", max_len=32, description="the agent who took the call"),
    ),
    required=True,
)

PULL_SPEC = Obj(
    "body",
    (
        Str("workNo", required=True, max_len=32, description="the agent"),
        Int("campaignId", minimum=1, description="only this campaign's records"),
    ),
    required=True,
)


@dataclass(frozen=True)
class Report:
    data_id: int
    attempt_no: int
    fail_code: str
    call_id: str | None
    ring_time: datetime | None
    answer_time: datetime | None
    end_time: datetime | None
    work_no: str | None


def plan_report(body: dict[str, Any]) -> Report:
    data_id, sep, attempt_no = body["attemptId"].partition(":")
    if (
        not sep
        or not (data_id.isascii() and data_id.isdigit() and len(data_id) <= 19)
        or not (attempt_no.isascii() and attempt_no.isdigit() and len(attempt_no) <= 10)
        or int(data_id) > MAX_DATA_ID
        or int(attempt_no) > MAX_ATTEMPT_NO
    ):
        raise ParamError(ILLEGAL, "attemptId", "must be dataId:attemptNo as given in the call task")
    status = body["callStatus"]
    if status is not None and (status == 6) != (body["failCode"] == SUCCESS):
        raise ParamError(COMBINATION, "callStatus", "6 goes with failCode 00000, 5 with any other")
    times = {
        name: parse_time(body[name], name) if body[name] else None
        for name in ("ringTime", "answerTime", "endTime")
    }
    return Report(
        int(data_id),
        int(attempt_no),
        body["failCode"],
        body["callId"],
        times["ringTime"],
        times["answerTime"],
        times["endTime"],
        body["workNo"],
    )
