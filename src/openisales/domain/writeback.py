"""The business-result write-back (spec 2.4): command, target record and decision. Pure.

A :class:`WriteBackRequest` travels from the route to the store. The store
reads the :class:`Target` (the record with its campaign's busiPolicy, typed
once there); :func:`plan` turns both into the :class:`Outcome` and the
:class:`WriteBack` that is written. Given the record as it stands, the
campaign's busiPolicy and the written result, :func:`decide` says what the
record becomes. A second write-back for the same attempt is computed from the
same attempt (``attempt_index``), so it replaces the first one's effect
instead of adding to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from openisales.auth.replay import Nonce
from openisales.domain.attempt import next_in_rotation
from openisales.domain.busi_policy import BusiAction, BusiRule, decide_busi
from openisales.domain.calldata import DataStatus, Record
from openisales.validation import Obj, Str

COMPLETE_REASON = "business-result"  # complete_reason of a record a write-back completed

BODY_SPEC = Obj(
    "body",
    (
        Str("busiResult", required=True, max_len=50, description="business result code"),
        Str("subStatus", max_len=50, description="sub-result code; a child of busiResult"),
        Str("busiResultDesc", max_len=1024, description="free text"),
        Str("workNo", max_len=32, description="agent; reserves a scheduled retry for this agent"),
    ),
    required=True,
)


@dataclass(frozen=True, slots=True)
class WriteBackRequest:
    """One ``callBusiResult`` call, checked: what the agent's application wrote back.

    ``nonce`` is the request's signature, whose single use is recorded in the
    same transaction as the write (None when nothing is to be recorded).
    """

    vdn_id: int
    data_id: int
    busi_result: str
    sub_status: str | None
    busi_result_desc: str | None
    work_no: str | None
    now: datetime
    nonce: Nonce | None = None


@dataclass(frozen=True, slots=True)
class LastResult:
    """The business result a record holds (all None before its first write-back)."""

    busi_result: str | None = None
    sub_status: str | None = None
    busi_result_desc: str | None = None
    work_no: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """The record a write-back applies to, as read, with its campaign's rules.

    ``order`` is the record's number indices in dialling order; ``version`` the
    row version the batched write applies against (PostgreSQL's ``xmin``),
    None on the locking path.
    """

    record: Record
    busi_attempt_no: int | None  # the attempt the last write-back belonged to
    last: LastResult
    rules: tuple[BusiRule, ...]
    order: tuple[int, ...]
    call_back_url: str | None
    version: str | None = None

    def state(self) -> RecordState:
        record = self.record
        return RecordState(
            status=record.status,
            attempt_no=record.attempt_no,
            attempt_index=record.attempt_index,
            next_number=next_in_rotation(self.order, record.attempt_index),
            busi_attempt_no=self.busi_attempt_no,
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


@dataclass(frozen=True, slots=True)
class WriteBack:
    """Every value one write-back writes: its history row and the record's new state.

    ``store.writeback`` declares which column each field goes to; every write
    path (the locking one on both engines, the batched one on PostgreSQL) is
    derived from that declaration. The schedule fields apply only when
    ``reschedule`` is true; otherwise the record keeps its schedule.
    """

    result_id: int
    vdn_id: int
    data_id: int
    campaign_id: int
    attempt_no: int
    called: str | None
    busi_result: str
    sub_status: str | None
    busi_result_desc: str | None
    work_no: str | None
    now: datetime
    reschedule: bool
    completed: bool
    status: int
    next_index: int
    next_call_time: datetime | None
    reserved_work_no: str | None
    completed_at: datetime | None
    complete_reason: str | None


def repeats(target: Target, request: WriteBackRequest) -> bool:
    """Whether ``request`` is the write-back already recorded for the record's latest attempt.

    The same write-back means: the record's last write-back belongs to its
    current attempt (``busi_attempt_no == attempt_no``) and carried exactly the
    same ``busiResult``, ``subStatus``, ``busiResultDesc`` and ``workNo`` (as
    checked: an empty optional field counts as absent). Whatever its signature
    or time, such a write-back changes nothing, except while the record awaits
    its result: a write-back recorded while its call was still in progress
    could not take effect, and the same one sent again once the call's outcome
    arrived must.
    """
    if target.record.status == DataStatus.AWAITING_RESULT:
        return False
    return target.busi_attempt_no == target.record.attempt_no and target.last == LastResult(
        request.busi_result, request.sub_status, request.busi_result_desc, request.work_no
    )


def plan(
    target: Target, request: WriteBackRequest, result_id: int
) -> tuple[Outcome, WriteBack | None]:
    """What ``request`` does to ``target`` and what is written for it (``result_id``: its row).

    A repeat of the write-back already recorded (:func:`repeats`) writes
    nothing (None) and leaves the record as it is.
    """
    if repeats(target, request):
        record = target.record
        kept = Outcome(False, record.status, record.attempt_index, None, None, None, False)
        return kept, None
    outcome = decide(
        target.state(),
        target.rules,
        busi_result=request.busi_result,
        sub_status=request.sub_status,
        work_no=request.work_no,
        now=request.now,
    )
    completed = outcome.reschedule and outcome.completed
    written = WriteBack(
        result_id=result_id,
        vdn_id=request.vdn_id,
        data_id=request.data_id,
        campaign_id=target.record.campaign_id,
        attempt_no=target.record.attempt_no,
        called=target.record.called,
        busi_result=request.busi_result,
        sub_status=request.sub_status,
        busi_result_desc=request.busi_result_desc,
        work_no=request.work_no,
        now=request.now,
        reschedule=outcome.reschedule,
        completed=completed,
        status=int(outcome.status),
        next_index=outcome.next_index,
        next_call_time=outcome.next_call_time,
        reserved_work_no=outcome.reserved_work_no,
        completed_at=request.now if outcome.completed else None,
        complete_reason=COMPLETE_REASON if outcome.completed else None,
    )
    return outcome, written
