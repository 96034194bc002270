"""Outbound call data (spec 2.3): request shapes, number rules and record states."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from functools import lru_cache
from typing import Any

from openisales.errors import Conflict, ParamError
from openisales.validation import List, Obj, Str

NUMBER_CHARS = "0-9*#"
TOO_FREQUENT = "0200022"
_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


class DataStatus(IntEnum):
    WAITING = 0  # due at next_call_time (NULL = now)
    CALLING = 1  # claimed by a dialer
    AWAITING_RESULT = 2  # answered; waiting for the business write-back
    COMPLETED = 3


@dataclass(frozen=True, slots=True)
class CalledNumber:
    """One of a record's numbers as stored; ``type`` is "" when none was given."""

    called_no: str
    type: str

    def wire(self) -> dict[str, str]:
        return {"calledNo": self.called_no, "type": self.type}


@dataclass(frozen=True, slots=True)
class Record:
    """A call-data record as the engine reads it: where it stands, its numbers decoded.

    Built once per read in ``store/`` and shared by the write-back, the
    dispatcher's claims and the attempt outcomes, each of which wraps it with
    what else it reads.
    """

    vdn_id: int
    data_id: int
    campaign_id: int
    status: DataStatus
    attempt_no: int  # attempts placed so far
    attempt_index: int  # the number the last attempt dialled
    numbers: tuple[CalledNumber, ...]

    @property
    def called(self) -> str | None:
        """The number the last attempt dialled (None for a record without numbers)."""
        return self.numbers[self.attempt_index].called_no if self.numbers else None


_COMMON = (
    Str("sessionId", max_len=32, description="the caller's own customer key"),
    Str("caller", max_len=24, allowed=NUMBER_CHARS, description="the calling number to show"),
    Str("recycleTime", max_len=19, description="yyyy-MM-dd HH:mm:ss, UTC"),
    Str("callData", max_len=1024, description="call-associated data"),
)

_RECORD_V1 = Obj(
    "callData",
    (
        Str("called", required=True, max_len=24, allowed=NUMBER_CHARS, description="the number"),
        Str("customField", max_len=200, description="batch id for statistics"),
        *_COMMON,
    ),
    description="a customer's record",
)

_NUMBER_V2 = Obj(
    "called",
    (
        Str("calledNo", required=True, max_len=24, allowed=NUMBER_CHARS, description="the number"),
        Str("type", max_len=32, description="number type, e.g. SI"),
    ),
    description="a number and its type",
)


@lru_cache(maxsize=32)
def add_spec(version: int, max_items: int) -> Obj:
    """The add-call-data body: v1 ``called`` is a string, v2 a list of typed numbers."""
    if version == 1:
        record = _RECORD_V1
        limit = 20
    else:
        record = Obj(
            "callData",
            (
                List(
                    "called",
                    _NUMBER_V2,
                    required=True,
                    max_items=20,
                    description="the customer's numbers, in dialling order",
                ),
                Str(
                    "customField",
                    max_len=200,
                    forbid_special=True,
                    description="batch id for statistics",
                ),
                *_COMMON,
            ),
            description="a customer's record",
        )
        limit = max_items
    records = List(
        "callDataList",
        record,
        required=True,
        max_items=limit,
        too_many_code="0200029",
        description=f"the records to add, at most {limit} (more: 0200029)",
    )
    if version == 1:
        return Obj("body", (records,), required=True)
    batch = Str(
        "batchId",
        max_len=200,
        forbid_special=True,
        description="the batch of every record; a record without customField gets it as its "
        "customField (the statistics batch)",
    )
    return Obj("body", (records, batch), required=True)


@dataclass(frozen=True)
class Number:
    called_no: str
    type: str | None

    def wire(self) -> dict[str, Any]:
        return {"calledNo": self.called_no, "type": self.type or ""}


@dataclass(frozen=True)
class NewRecord:
    numbers: tuple[Number, ...]
    session_id: str | None
    caller: str | None
    custom_field: str | None
    call_data: str | None
    recycle_time: datetime | None
    batch_id: str | None = None  # v2's top-level batchId, stored as given


def check_interval(last_added: datetime | None, now: datetime, min_interval_s: float) -> None:
    """Huawei: adds to one campaign at least ``min_interval_s`` apart (``0200022``); 0: any.

    ``last_added`` is the campaign's last successful add. A clock that reads
    earlier than it (another process's clock behind this one's) is too soon as well.
    """
    if min_interval_s <= 0 or last_added is None:
        return
    if now - last_added < timedelta(seconds=min_interval_s):
        raise Conflict(
            f"campaignId: call data was added to this campaign less than {min_interval_s:g} s "
            "ago; wait and send again",
            result_code=TOO_FREQUENT,
        )


def parse_time(value: str, field: str) -> datetime:
    """``yyyy-MM-dd HH:mm:ss`` as UTC; ``0200030`` when malformed."""
    if not _TIME_RE.match(value):
        raise ParamError("0200030", field, "must be yyyy-MM-dd HH:mm:ss")
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise ParamError("0200030", field, "is not a valid date and time") from None


def plan_records(body: dict[str, Any], version: int) -> list[NewRecord]:
    """Checked body -> records; refuses duplicate numbers (``0200018``).

    v1: a number may appear once per request. v2: a number may appear once per
    record, and once among the records that share a ``sessionId``; the
    request's ``batchId`` is stored on every record and is the ``customField``
    (the batch of the statistics) of each record that has none of its own.
    """
    records = []
    batch_id = body.get("batchId")  # v2 only
    seen_v1: set[str] = set()
    seen_by_session: dict[str, set[str]] = {}
    for i, item in enumerate(body["callDataList"]):
        path = f"callDataList[{i}]"
        if version == 1:
            numbers: tuple[Number, ...] = (Number(item["called"], None),)
            if item["called"] in seen_v1:
                raise Conflict(
                    f"{path}.called: duplicate number {item['called']}", result_code="0200018"
                )
            seen_v1.add(item["called"])
        else:
            numbers = tuple(Number(n["calledNo"], n["type"]) for n in item["called"])
            own = [n.called_no for n in numbers]
            if len(own) != len(set(own)):
                raise Conflict(
                    f"{path}.called: duplicate numbers in one record", result_code="0200018"
                )
            if item["sessionId"]:
                session = seen_by_session.setdefault(item["sessionId"], set())
                if session & set(own):
                    raise Conflict(
                        f"{path}.called: duplicate number for sessionId {item['sessionId']}",
                        result_code="0200018",
                    )
                session.update(own)
        recycle = item["recycleTime"]
        records.append(
            NewRecord(
                numbers=numbers,
                session_id=item["sessionId"],
                caller=item["caller"],
                custom_field=item["customField"] or batch_id,
                call_data=item["callData"],
                recycle_time=parse_time(recycle, f"{path}.recycleTime") if recycle else None,
                batch_id=batch_id,
            )
        )
    return records
