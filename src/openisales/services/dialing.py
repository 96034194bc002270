"""Record attempt outcomes: history row, counters and the record's next step.

Outcomes arrive from a gateway (the simulator in process, a CTI through the
signed ``attemptResult`` endpoint) or from lease recovery. Each batch is one
transaction. An outcome for an attempt that is no longer in progress (a
duplicate report, or a report after the lease was recovered) changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.domain import attempt
from openisales.domain.calldata import DataStatus
from openisales.services import obs_results
from openisales.store import attempts, outbox
from openisales.store.ids import IdAllocator, compose
from openisales.store.sql import transaction

NO_RESULT = "34608"  # Huawei: no result, written back on timeout

DisplayLookup = Callable[[AsyncConnection, int], Awaitable[Mapping[str, str]]]


@dataclass(frozen=True)
class AttemptReport:
    vdn_id: int
    data_id: int
    attempt_no: int
    fail_code: str
    call_id: str | None = None
    ring_time: datetime | None = None
    answer_time: datetime | None = None
    end_time: datetime | None = None
    work_no: str | None = None


@dataclass(frozen=True)
class Applied:
    report: AttemptReport
    applied: bool
    missing: bool = False  # the record does not exist (in that VDN)
    kind: attempt.Kind | None = None
    display_code: str | None = None
    campaign_id: int | None = None


@dataclass(frozen=True)
class DialerTiming:
    result_wait_s: int = 600  # answered calls wait this long for the write-back
    common_interval_s: int = 600  # gap between attempts under a common policy


async def no_display(_conn: AsyncConnection, _vdn_id: int) -> Mapping[str, str]:
    return {}


async def display_map(conn: AsyncConnection, vdn_id: int) -> Mapping[str, str]:
    """The VDN's failCode -> display resultCode map (``createObResult``)."""
    return await obs_results.mapping(conn, vdn_id=vdn_id)


async def record_attempts(
    engine: AsyncEngine,
    ids: IdAllocator,
    reports: list[AttemptReport],
    *,
    now: datetime,
    timing: DialerTiming,
    displays: DisplayLookup = no_display,
) -> list[Applied]:
    """Apply attempt outcomes in one transaction; returns what happened to each."""
    if not reports:
        return []
    result_ids: dict[int, list[int]] = {}
    for vdn_id in {r.vdn_id for r in reports}:
        count = sum(1 for r in reports if r.vdn_id == vdn_id)
        result_ids[vdn_id] = [compose(vdn_id, n) for n in await ids.take(vdn_id, "result", count)]
    applied: list[Applied] = []
    async with transaction(engine) as conn:
        rows = await attempts.lock(conn, ((r.vdn_id, r.data_id) for r in reports))
        maps = {v: await displays(conn, v) for v in {r.vdn_id for r in reports}}
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        seen: set[tuple[int, int]] = set()
        for report in reports:
            key = (report.vdn_id, report.data_id)
            row = rows.get(key)
            if row is None:
                applied.append(Applied(report, False, missing=True))
                continue
            if (
                key in seen
                or row.record.status != DataStatus.CALLING
                or row.record.attempt_no != report.attempt_no
            ):
                applied.append(Applied(report, False))
                continue
            seen.add(key)
            display = maps[report.vdn_id].get(report.fail_code)
            decision, insert, update = _apply(row, report, display, now, timing)
            insert["result_id"] = result_ids[report.vdn_id].pop()
            inserts.append(insert)
            updates.append(update)
            campaign_id = row.record.campaign_id
            applied.append(Applied(report, True, False, decision.kind, display, campaign_id))
        await attempts.record(conn, inserts, updates)
        completed: dict[int, list[int]] = {}
        for item in applied:
            if item.applied and item.kind == attempt.Kind.COMPLETE:
                completed.setdefault(item.report.vdn_id, []).append(item.report.data_id)
        for vdn_id, data_ids in completed.items():
            await outbox.enqueue_completed(conn, vdn_id, data_ids, now)
    return applied


def _apply(
    target: attempts.AttemptTarget,
    report: AttemptReport,
    display: str | None,
    now: datetime,
    timing: DialerTiming,
) -> tuple[attempt.Decision, dict[str, Any], dict[str, Any]]:
    row = target.record
    decision = attempt.decide(
        fail_code=report.fail_code,
        display_code=display,
        index=row.attempt_index,
        numbers=row.numbers,
        counters=target.counters,
        policy=target.policy,
        tz=target.tz,
        now=now,
        common_interval_s=timing.common_interval_s,
    )
    answered = report.fail_code == attempt.SUCCESS
    status = {
        attempt.Kind.AWAIT_RESULT: DataStatus.AWAITING_RESULT,
        attempt.Kind.RETRY: DataStatus.WAITING,
        attempt.Kind.COMPLETE: DataStatus.COMPLETED,
    }[decision.kind]
    next_time = (
        now + timedelta(seconds=timing.result_wait_s)
        if decision.kind == attempt.Kind.AWAIT_RESULT
        else decision.next_call_time
    )
    completed = decision.kind == attempt.Kind.COMPLETE
    insert = {
        "vdn_id": row.vdn_id,
        "data_id": row.data_id,
        "campaign_id": row.campaign_id,
        "kind": "attempt",
        "attempt_no": row.attempt_no,
        "called": row.called,
        "call_status": 6 if answered else 5,
        "fail_code": report.fail_code,
        "result_code": display,
        "call_id": report.call_id,
        "ack_begin_time": report.ring_time,
        "call_begin_time": report.answer_time,
        "call_end_time": report.end_time,
        "work_no": report.work_no,
        "created_at": now,
    }
    update = {
        "k_vdn": row.vdn_id,
        "k_data": row.data_id,
        "v_status": int(status),
        "v_next_index": decision.next_index,
        "v_next_call_time": None if completed else next_time,
        "v_keep_reservation": not completed,
        "v_fail_code": report.fail_code,
        "v_call_status": 6 if answered else 5,
        "v_result_code": display,
        "v_call_id": report.call_id,
        "v_result_retries": json.dumps(dict(decision.result_retries))
        if decision.result_retries
        else None,
        "v_reason": decision.reason,
        "v_completed_at": now if completed else None,
        "v_now": now,
    }
    return decision, insert, update
