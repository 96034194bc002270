"""Reserved (appointment) calls (spec 2.9): request specs and the pure rules.

An appointment is dialled through an ordinary call-data record of its
campaign (``t_isl_appointment.data_id``). Automatic appointments are due five
minutes before ``appointTime`` and reserved for nobody; manual ones are due at
``appointTime`` and reserved for their ``workNo``. The appointment's progress
is derived from that record on every read (:func:`progress`), except for a
manual appointment whose agent reported the result (``updateResult``), which
is stored. Every rule takes ``now``; nothing here reads the clock or the store.
See ``docs/appointments.md`` for the rules that are ours rather than Huawei's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

from openisales.domain.calldata import NUMBER_CHARS, DataStatus
from openisales.errors import Conflict, NotFound, ParamError
from openisales.validation import BAD_VALUE, COMBINATION, EMPTY, Int, List, Obj, Str

MANUAL, AUTOMATIC = 1, 2
AUTOMATIC_LEAD = timedelta(minutes=5)  # Huawei: automatic calls start 5 min early
NOT_FOUND = "04000004"
MAX_MS = 253_402_300_799_999  # 9999-12-31 23:59:59.999 UTC
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_LIMIT = 10


class AppointStatus(IntEnum):
    PENDING = 0  # not dialled yet
    IN_PROGRESS = 1  # being dialled, retrying, or (manual) waiting for updateResult
    DONE = 2


_AGENT = (
    Str("userAccount", max_len=64, description="agent business account; stored and listed"),
    Str("workNo", max_len=32, description="agent work number; required for callType 1"),
)
_ID = Str("appointId", required=True, max_len=64, allowed="0-9", description="from create")
_TIME = "epoch milliseconds, UTC"

CREATE_SPEC = Obj(
    "body",
    (
        Int("callType", required=True, choices=(MANUAL, AUTOMATIC), description="1 manual, 2 auto"),
        Str("calledNo", required=True, max_len=24, allowed=NUMBER_CHARS, description="the number"),
        *_AGENT,
        Int("taskId", required=True, minimum=1, from_text=True, description="the campaign id"),
        Int("appointTime", required=True, minimum=0, maximum=MAX_MS, description=_TIME),
        Str("callData", max_len=1024, description="call-associated data; callType 2 only"),
        Str("remark", max_len=200, description="free text"),
    ),
    required=True,
)

UPDATE_SPEC = Obj(
    "body",
    (
        _ID,
        *_AGENT,
        Int("appointTime", minimum=0, maximum=MAX_MS, description=_TIME),
        Str("remark", max_len=200, description="free text"),
    ),
    required=True,
)

RESULT_SPEC = Obj(
    "body",
    (
        _ID,
        *_AGENT,
        Str("callerNo", max_len=24, allowed=NUMBER_CHARS, description="the calling number used"),
        Str("failCode", min_len=5, max_len=5, allowed="0-9", description="00000 = success"),
        Str("callId", max_len=64, description="the call's id"),
        Str("busiResult", max_len=50, description="the business result"),
        Str("busiSubStatus", max_len=50, description="its sub-result"),
    ),
    required=True,
)

LIST_SPEC = Obj(
    "body",
    (
        Str("calledNo", max_len=24, allowed=NUMBER_CHARS, description="only this number"),
        List(
            "userAccountList",
            Str("userAccount", max_len=64, description="an agent business account"),
            max_items=100,
            description="only these agents' (by userAccount)",
        ),
        List(
            "workNoList",
            Str("workNo", max_len=32, description="an agent work number"),
            max_items=100,
            description="only these agents' (by workNo; ours)",
        ),
        Int("beginTime", minimum=0, maximum=MAX_MS, description="appointTime from, " + _TIME),
        Int("endTime", minimum=0, maximum=MAX_MS, description="appointTime up to, " + _TIME),
        Int("taskId", minimum=1, from_text=True, description="the campaign id"),
        Int("offset", minimum=0, maximum=1_000_000_000, description="default 0"),
        Int("limit", minimum=1, maximum=100, description=f"default {DEFAULT_LIMIT}"),
    ),
    required=True,
)


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def to_ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


@dataclass(frozen=True)
class NewAppointment:
    call_type: int
    called_no: str
    campaign_id: int
    appoint_time: datetime
    work_no: str | None
    user_account: str | None
    call_data: str | None
    remark: str | None

    @property
    def due(self) -> datetime:
        return due_time(self.call_type, self.appoint_time)

    @property
    def reserved_for(self) -> str | None:
        return self.work_no if self.call_type == MANUAL else None


@dataclass(frozen=True)
class Change:
    """An update; None = unchanged."""

    appoint_id: int | None  # None: not an id of ours, so not found
    work_no: str | None
    user_account: str | None
    appoint_time: datetime | None
    remark: str | None


@dataclass(frozen=True)
class Result:
    appoint_id: int | None
    work_no: str | None
    user_account: str | None
    caller_no: str | None
    fail_code: str | None
    call_id: str | None
    busi_result: str | None
    busi_sub_status: str | None


@dataclass(frozen=True)
class Search:
    called_no: str | None
    user_accounts: tuple[str, ...]
    work_nos: tuple[str, ...]
    begin: datetime | None
    end: datetime | None
    campaign_id: int | None
    offset: int
    limit: int


def due_time(call_type: int, appoint_time: datetime) -> datetime:
    """When the linked record becomes due: automatic calls start five minutes early."""
    return appoint_time - AUTOMATIC_LEAD if call_type == AUTOMATIC else appoint_time


def _future(ms: int, now: datetime) -> datetime:
    moment = from_ms(ms)
    if moment <= now:
        raise ParamError(BAD_VALUE, "appointTime", "must be in the future")
    return moment


def _appoint_id(raw: str) -> int | None:
    value = int(raw)
    return value if 0 < value < 2**63 else None


def plan_create(body: dict[str, Any], now: datetime) -> NewAppointment:
    """A checked create body -> :class:`NewAppointment`, applying the cross-field rules."""
    call_type = body["callType"]
    if call_type == MANUAL and body["workNo"] is None:
        raise ParamError(EMPTY, "workNo", "is required for callType 1 (manual)")
    if call_type == MANUAL and body["callData"] is not None:
        raise ParamError(COMBINATION, "callData", "is allowed for callType 2 (automatic) only")
    return NewAppointment(
        call_type=call_type,
        called_no=body["calledNo"],
        campaign_id=body["taskId"],
        appoint_time=_future(body["appointTime"], now),
        work_no=body["workNo"],
        user_account=body["userAccount"],
        call_data=body["callData"],
        remark=body["remark"],
    )


def plan_update(body: dict[str, Any], now: datetime) -> Change:
    ms = body["appointTime"]
    moment = _future(ms, now) if ms is not None else None
    appoint_id = _appoint_id(body["appointId"])
    return Change(appoint_id, body["workNo"], body["userAccount"], moment, body["remark"])


def plan_result(body: dict[str, Any]) -> Result:
    return Result(
        appoint_id=_appoint_id(body["appointId"]),
        work_no=body["workNo"],
        user_account=body["userAccount"],
        caller_no=body["callerNo"],
        fail_code=body["failCode"],
        call_id=body["callId"],
        busi_result=body["busiResult"],
        busi_sub_status=body["busiSubStatus"],
    )


def plan_search(body: dict[str, Any]) -> Search:
    begin, end = body["beginTime"], body["endTime"]
    if begin is not None and end is not None and end < begin:
        raise ParamError(COMBINATION, "endTime", "must not be earlier than beginTime")
    return Search(
        called_no=body["calledNo"],
        user_accounts=tuple(a for a in body["userAccountList"] or () if a),
        work_nos=tuple(w for w in body["workNoList"] or () if w),
        begin=from_ms(begin) if begin is not None else None,
        end=from_ms(end) if end is not None else None,
        campaign_id=body["taskId"],
        offset=body["offset"] or 0,
        limit=body["limit"] or DEFAULT_LIMIT,
    )


def not_found(appoint_id: int | str | None) -> NotFound:
    return NotFound(f"appointId: appointment {appoint_id} does not exist", result_code=NOT_FOUND)


def check_within_campaign(appoint_time: datetime, campaign_end: datetime) -> None:
    """Ours: an appointment after its campaign's end would never be dialled."""
    if appoint_time >= campaign_end:
        end = campaign_end.strftime("%Y-%m-%d %H:%M:%S")
        raise ParamError(BAD_VALUE, "appointTime", f"must be before the campaign ends ({end} UTC)")


def check_manual(call_type: int, action: str) -> None:
    if call_type != MANUAL:
        raise Conflict(
            f"appointId: only manual appointments (callType 1) can {action}; "
            "automatic ones follow their call",
        )


def check_movable(stored_status: int, record_status: int | None) -> None:
    """Update moves the linked record only while it waits to be dialled."""
    if stored_status == AppointStatus.DONE:
        raise Conflict("appointId: the appointment is done; it can no longer be updated")
    if record_status is None:
        raise NotFound(
            "appointId: the appointment's call data no longer exists", result_code="0200033"
        )
    if record_status != DataStatus.WAITING:
        state = "being dialled" if record_status == DataStatus.CALLING else "already dialled"
        raise Conflict(f"appointId: the appointment's call is {state}; it can no longer be updated")


@dataclass(frozen=True)
class Outcome:
    status: int
    fail_code: str | None
    call_id: str | None
    busi_result: str | None
    busi_sub_status: str | None


@dataclass(frozen=True)
class Linked:
    """The linked call-data record as far as the appointment cares."""

    status: int
    attempt_no: int
    fail_code: str | None
    call_id: str | None
    busi_result: str | None
    sub_status: str | None


def progress(call_type: int, stored: Outcome, record: Linked | None) -> Outcome:
    """The appointment's status and result, derived from its record (lazily, on read).

    A stored ``done`` (manual: the agent's ``updateResult``) wins, and so does
    whatever is stored when the record is gone. Otherwise: never dialled ->
    pending; automatic and the record answered or finished -> done with the
    last attempt's failCode, callId and the record's business result; anything
    else (being dialled, retrying, manual awaiting its result) -> in progress.
    """
    if stored.status == AppointStatus.DONE or record is None:
        return stored
    if record.attempt_no == 0:
        return Outcome(int(AppointStatus.PENDING), None, None, None, None)
    if call_type == MANUAL:
        return Outcome(int(AppointStatus.IN_PROGRESS), None, None, None, None)
    finished = record.status in (DataStatus.AWAITING_RESULT, DataStatus.COMPLETED)
    status = AppointStatus.DONE if finished else AppointStatus.IN_PROGRESS
    return Outcome(
        int(status), record.fail_code, record.call_id, record.busi_result, record.sub_status
    )


def timed_out(appoint_time: datetime, status: int, now: datetime) -> bool:
    """``timeout`` in the list: the appointment time has passed and it is not done."""
    return appoint_time <= now and status != AppointStatus.DONE
