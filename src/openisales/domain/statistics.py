"""Campaign statistics (spec 2.3) and failure-category statistics (spec 2.1): specs and rules.

Every counter is an aggregate over ``t_isl_data`` and ``t_isl_data_result``
(no stored counters); the definitions are in ``docs/results.md``. "Today" and
the days of the failure statistics are days of the VDN's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

from openisales.domain.results import MAX_DAYS, DayRange, day_range
from openisales.errors import ParamError
from openisales.validation import WRONG_TYPE, Str

STATISTICS_SPEC = (
    Str("campaignId", required=True, max_len=19, description="the campaign (64-bit id)"),
    Str("batchId", max_len=200, description="batchDetail for this customField only"),
)

FAIL_STATISTICS_SPEC = (
    Str("campaignId", required=True, max_len=19, description="the campaign (64-bit id)"),
    Str("startDate", description="yyyy-MM-dd, VDN-local, inclusive; with endDate"),
    Str("endDate", description="yyyy-MM-dd, VDN-local, inclusive; default: the last 30 days"),
)


def parse_id(text: str, field: str) -> int:
    """A 64-bit id given as text; ``02000006`` when it is not one."""
    if not text.isascii() or not text.isdigit() or int(text) >= 2**63:
        raise ParamError(WRONG_TYPE, field, "must be a 64-bit integer")
    return int(text)


def fail_range(start: str | None, end: str | None, today: date) -> DayRange:
    """The days of the failure statistics: both dates inclusive, or the 30 days up to today."""
    checked = day_range(start, end, names=("startDate", "endDate"), end_inclusive=True)
    if checked is None:
        return DayRange(today - timedelta(days=MAX_DAYS - 1), today + timedelta(days=1))
    return checked


@dataclass
class Counters:
    """The counters of one campaign or batch (wire names)."""

    unCallCount: int = 0
    calledCount: int = 0
    finishCount: int = 0
    totalCalledCount: int = 0
    totalCallSucc: int = 0
    totalFinishCount: int = 0
    totalCount: int = 0
    dailyCalledCount: int = 0
    dailyCallSucc: int = 0
    dailyFinishCount: int = 0
    dailyCount: int = 0

    def add_records(
        self, *, total: int, uncalled: int, finished: int, finished_today: int, added_today: int
    ) -> None:
        self.totalCount += total
        self.unCallCount += uncalled
        self.finishCount += finished
        self.totalFinishCount += finished
        self.dailyFinishCount += finished_today
        self.dailyCount += added_today

    def add_attempts(
        self, *, placed: int, answered: int, placed_today: int, answered_today: int
    ) -> None:
        self.totalCalledCount += placed
        self.totalCallSucc += answered
        self.calledCount += placed_today
        self.dailyCalledCount += placed_today
        self.dailyCallSucc += answered_today

    def wire(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}


def count_detail(
    campaign_id: int,
    records: list[Any],
    attempts: list[Any],
    batch_id: str | None,
) -> dict[str, Any]:
    """One ``countDetail`` entry from rows grouped by batch (``batch`` = customField).

    ``records`` rows: batch, total, uncalled, finished, finished_today, added_today;
    ``attempts`` rows: batch, placed, answered, placed_today, answered_today.
    The campaign's counters are the sums over all batches (records without a
    customField included); ``batchDetail`` lists batches that hold records,
    only ``batch_id`` when given.
    """
    whole = Counters()
    batches: dict[str, Counters] = {}
    for r in records:
        parts = {k: int(getattr(r, k) or 0) for k in _RECORD_KEYS}
        whole.add_records(**parts)
        if r.batch is not None:
            batches.setdefault(r.batch, Counters()).add_records(**parts)
    for a in attempts:
        parts = {k: int(getattr(a, k) or 0) for k in _ATTEMPT_KEYS}
        whole.add_attempts(**parts)
        if a.batch is not None and a.batch in batches:
            batches[a.batch].add_attempts(**parts)
    chosen = sorted(b for b in batches if batch_id is None or b == batch_id)
    return {
        "campaignId": str(campaign_id),
        **whole.wire(),
        "batchDetail": [{"batchId": b, **batches[b].wire()} for b in chosen],
    }


_RECORD_KEYS = ("total", "uncalled", "finished", "finished_today", "added_today")
_ATTEMPT_KEYS = ("placed", "answered", "placed_today", "answered_today")
