"""The business-result write-back decision (spec 2.4), pure.

Given the record as it stands, the campaign's busiPolicy and the written
result, :func:`decide` says what the record becomes. A second write-back for
the same attempt is computed from the same attempt (``attempt_index``), so it
replaces the first one's effect instead of adding to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from openisales.domain.calldata import DataStatus
from openisales.domain.retry_policy import BusiAction, BusiRule, decide_busi
from openisales.validation import Obj, Str

BODY_SPEC = Obj(
    "body",
    (
        Str("busiResult", required=True, max_len=50, description="business result code"),
        Str("subStatus", max_len=50, description="sub-result code; a child of busiResult"),
        Str("busiResultDesc", max_len=1024),
        Str("workNo", max_len=32, description="agent; reserves a scheduled retry for this agent"),
    ),
    required=True,
)


@dataclass(frozen=True)
class RecordState:
    status: DataStatus
    attempt_no: int
    attempt_index: int
    next_number: int | None  # the number after attempt_index in dialling order, if any
    busi_attempt_no: int | None  # the attempt the last write-back belonged to


@dataclass(frozen=True)
class Outcome:
    """What the record becomes; ``reschedule`` False leaves scheduling untouched."""

    reschedule: bool
    status: DataStatus
    next_index: int
    next_call_time: datetime | None
    reserved_work_no: str | None
    rule: BusiRule | None
    completed: bool


def decide(
    state: RecordState,
    rules: tuple[BusiRule, ...],
    *,
    busi_result: str,
    sub_status: str | None,
    work_no: str | None,
    now: datetime,
) -> Outcome:
    rule = decide_busi(rules, busi_result, sub_status)
    # While a newer call is being placed, or after the record was completed for
    # another reason (numbers exhausted, campaign expired, ...), the write-back
    # is recorded but cannot change what happens next.
    may_reschedule = state.status != DataStatus.CALLING and (
        state.status != DataStatus.COMPLETED or state.busi_attempt_no == state.attempt_no
    )
    if not may_reschedule:
        return Outcome(False, state.status, state.attempt_index, None, None, rule, False)
    done = Outcome(True, DataStatus.COMPLETED, state.attempt_index, None, None, rule, True)
    if rule is None or rule.action == BusiAction.STOP:
        return done
    index = state.next_number if rule.action == BusiAction.NEXT_NUMBER else state.attempt_index
    if index is None:
        return done
    assert rule.interval_s is not None  # required unless STOP
    return Outcome(
        True,
        DataStatus.WAITING,
        index,
        now + timedelta(seconds=rule.interval_s),
        work_no or None,
        rule,
        False,
    )
