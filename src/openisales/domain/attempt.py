"""What follows a dialled attempt (spec 2.1 retry-policy model, 2.6 failure codes). Pure.

The rules that Huawei leaves open are ours and documented in ``docs/dialing.md``:

* number order: ``callPolicy.turns`` lists number types (``turnType``); numbers
  of the first listed type come first, then the next type, ...; numbers whose
  type is not listed follow in the order given;
* result types: the int ``result`` of a result policy (``policyJson`` entry of
  ``type`` 1) is one of :data:`RESULT_TYPES` (busy, no answer, ...), derived
  from the failure code;
* a common policy (``type`` 0) allows ``retryTimes`` attempts per VDN-local day
  for ``retryDay`` days, rotating through the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from openisales.domain.calldata import CalledNumber
from openisales.domain.retry_policy import (
    CommonRetry,
    ResultRetry,
    RetryPolicy,
)

SUCCESS = "00000"

BUSY, NO_ANSWER, REJECTED, UNREACHABLE, PLATFORM = 1, 2, 3, 4, 5
RESULT_TYPES: dict[int, str] = {
    BUSY: "busy",
    NO_ANSWER: "no answer",
    REJECTED: "rejected or hung up",
    UNREACHABLE: "unreachable (empty number, powered off, out of service)",
    PLATFORM: "platform, resource or system failure",
}
_BY_CODE = {
    **dict.fromkeys(("00537", "00145"), BUSY),
    **dict.fromkeys(("00603", "00146", "00147", "01040", "00601", "00701"), NO_ANSWER),
    **dict.fromkeys(("00604", "00149", "00531", "00551"), REJECTED),
    **dict.fromkeys(("00538", "00548", "00549", "00129", "00208", "00209", "34605"), UNREACHABLE),
}


def result_type(fail_code: str) -> int:
    return _BY_CODE.get(fail_code, PLATFORM)


def rotation(numbers: Sequence[CalledNumber], turns: Sequence[str]) -> list[int]:
    """Indices of ``numbers`` in dialling order.

    ``turns`` is the number-type order (``RetryPolicy.turns``): numbers of the
    first type come first, then the next type's, ...; numbers of unlisted
    types follow in the order given.
    """
    rank: dict[str, int] = {}
    for turn in turns:
        rank.setdefault(turn, len(rank))
    return sorted(range(len(numbers)), key=lambda i: rank.get(numbers[i].type, len(rank)))


def next_in_rotation(order: Sequence[int], index: int, *, cycle: bool = False) -> int | None:
    pos = order.index(index) if index in order else -1
    if pos + 1 < len(order):
        return order[pos + 1]
    return order[0] if cycle and order else None


@dataclass(frozen=True)
class Counters:
    """Attempt counters kept on the record."""

    day_attempts: int = 0  # attempts on attempt_day, this one included
    attempt_day: str | None = None  # VDN-local yyyy-mm-dd
    first_attempt_day: str | None = None
    result_retries: Mapping[str, int] = field(default_factory=dict)  # "index:type" -> retries


class Kind(Enum):
    AWAIT_RESULT = "await"
    RETRY = "retry"
    COMPLETE = "complete"


@dataclass(frozen=True)
class Decision:
    kind: Kind
    next_index: int
    next_call_time: datetime | None = None
    reason: str | None = None  # why a record completes
    result_retries: Mapping[str, int] = field(default_factory=dict)


def count_attempt(counters: Counters, local_day: date) -> Counters:
    """Counters after placing an attempt on ``local_day``."""
    today = local_day.isoformat()
    same_day = counters.attempt_day == today
    return Counters(
        day_attempts=counters.day_attempts + 1 if same_day else 1,
        attempt_day=today,
        first_attempt_day=counters.first_attempt_day or today,
        result_retries=counters.result_retries,
    )


def decide(
    *,
    fail_code: str,
    display_code: str | None,
    index: int,
    numbers: Sequence[CalledNumber],
    counters: Counters,
    policy: RetryPolicy,
    tz: ZoneInfo,
    now: datetime,
    common_interval_s: int,
) -> Decision:
    """The record's next step after an attempt on ``numbers[index]`` ended with ``fail_code``.

    Takes the display result of ``fail_code`` (None: none defined), the
    record's numbers and counters, the campaign's policy and its time zone;
    returns a :class:`Decision` (the counters' retry map updated).
    """
    retries = dict(counters.result_retries)
    if fail_code == SUCCESS:
        return Decision(Kind.AWAIT_RESULT, index, result_retries=retries)
    if display_code is not None and display_code in policy.no_retry:
        return Decision(Kind.COMPLETE, index, reason="no-retry", result_retries=retries)
    order = rotation(numbers, policy.turns)
    entry = policy.entry_for(numbers[index].type) if numbers else None
    if isinstance(entry, CommonRetry):
        return _common(entry, index, order, counters, tz, now, common_interval_s)
    if isinstance(entry, ResultRetry):
        kind = result_type(fail_code)
        rule = next((r for r in entry.rules if r is not None and r.result == kind), None)
        key = f"{index}:{kind}"
        if rule is not None and retries.get(key, 0) < rule.retry_number:
            retries[key] = retries.get(key, 0) + 1
            due = now + timedelta(seconds=rule.call_interval_s)
            return Decision(Kind.RETRY, index, due, result_retries=retries)
    following = next_in_rotation(order, index)
    if following is None:
        return Decision(Kind.COMPLETE, index, reason="exhausted", result_retries=retries)
    return Decision(Kind.RETRY, following, now, result_retries=retries)


def _common(
    rule: CommonRetry,
    index: int,
    order: Sequence[int],
    counters: Counters,
    tz: ZoneInfo,
    now: datetime,
    interval_s: int,
) -> Decision:
    per_day = max(1, rule.retry_times or 1)
    days = max(1, rule.retry_days or 1)
    following = next_in_rotation(order, index, cycle=True)
    assert following is not None
    local_today = now.astimezone(tz).date()
    first = date.fromisoformat(counters.first_attempt_day or local_today.isoformat())
    used_days = (local_today - first).days + 1
    kept = dict(counters.result_retries)
    if counters.day_attempts < per_day:
        due = now + timedelta(seconds=interval_s)
        return Decision(Kind.RETRY, following, due, result_retries=kept)
    if used_days < days:
        tomorrow = datetime.combine(local_today + timedelta(days=1), time(0), tzinfo=tz)
        return Decision(Kind.RETRY, following, tomorrow, result_retries=kept)
    return Decision(Kind.COMPLETE, index, reason="exhausted", result_retries=kept)
