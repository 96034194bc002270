"""Deleting outbound call data (spec 2.3 ``calldata/{campaignId}/delete``). Pure.

Filters combine with AND; at least one of ``sessionId``, ``called``,
``customField``, ``recycleTime`` is required (``02000001``, ours: a delete
without a filter would empty the campaign). ``recycleTime`` and
``recycleType`` go together (``02000009``): 1 = the record's recycleTime is
on or before that (UTC) day, 2 = on that day, 3 = exactly that second.
``called`` matches a record holding that number among its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from openisales.domain.calldata import NUMBER_CHARS, DataStatus, parse_time
from openisales.domain.schedule import start_of_day
from openisales.errors import ParamError
from openisales.validation import COMBINATION, EMPTY, Int, Obj, Str

ON_OR_BEFORE, SAME_DAY, EXACT = 1, 2, 3
FILTERS = ("sessionId", "called", "customField", "recycleTime")
# Only records not yet being called are deleted; the others are skipped (ours).
DELETABLE = (DataStatus.WAITING,)

DELETE_SPEC = Obj(
    "body",
    (
        Str("sessionId", max_len=32, description="records with this sessionId"),
        Str("called", max_len=24, allowed=NUMBER_CHARS, description="a number of the record"),
        Str("customField", max_len=200, description="batch id"),
        Str("recycleTime", max_len=19, description="yyyy-MM-dd HH:mm:ss, UTC"),
        Int(
            "recycleType",
            choices=(ON_OR_BEFORE, SAME_DAY, EXACT),
            description="with recycleTime: 1 on or before that day, 2 that day, 3 exact",
        ),
        Int(
            "archiveHistory",
            choices=(0, 1),
            description="0 (default) delete, 1 move to the history table",
        ),
    ),
    required=True,
)


@dataclass(frozen=True)
class DeletePlan:
    session_id: str | None = None
    called: str | None = None
    custom_field: str | None = None
    recycle_from: datetime | None = None  # recycle_time >= this
    recycle_before: datetime | None = None  # recycle_time < this
    archive: bool = False


def recycle_range(moment: datetime, recycle_type: int) -> tuple[datetime | None, datetime]:
    """``[from, before)`` of recycle times that ``recycleType`` selects for ``moment``."""
    if recycle_type == EXACT:
        return moment, moment + timedelta(seconds=1)
    day = start_of_day(moment)
    following = day + timedelta(days=1)
    return (day if recycle_type == SAME_DAY else None), following


def plan_delete(body: dict[str, Any]) -> DeletePlan:
    if not any(body[name] for name in FILTERS):
        raise ParamError(EMPTY, "body", "give at least one of " + ", ".join(FILTERS))
    text, kind = body["recycleTime"], body["recycleType"]
    if (text is None) != (kind is None):
        raise ParamError(COMBINATION, "recycleType", "recycleTime and recycleType go together")
    low: datetime | None = None
    high: datetime | None = None
    if text is not None:
        low, high = recycle_range(parse_time(text, "recycleTime"), kind)
    return DeletePlan(
        session_id=body["sessionId"],
        called=body["called"],
        custom_field=body["customField"],
        recycle_from=low,
        recycle_before=high,
        archive=body["archiveHistory"] == 1,
    )
