"""A campaign's outcomes as the console shows them: attempts per hour, outcomes by
failure code, display result and business result, the retry queue, failed pushes.

Reads only, each bounded by an index (``store.outcomes``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.domain import failcodes
from openisales.store import outcomes, records
from openisales.store.outcomes import PushKey
from openisales.store.pushes import Push
from openisales.store.sql import reading

PERIODS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
DEFAULT_PERIOD = "24h"
TOP = 12  # bars per outcome chart; the rest are summed as "other"
NOT_MAPPED = "(not mapped)"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)

Bars = list[tuple[str, int]]


async def attempts_per_hour(
    engine: AsyncEngine, vdn_id: int, campaign_id: int, now: datetime, tz: tzinfo, hours: int = 24
) -> Bars:
    """Attempts in each of the last ``hours`` hours of the VDN's clock, the current one last.

    Labels are the hours' starts on the VDN's clock (``"14:00"``).
    """
    current = now.astimezone(tz).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    edges = [current - timedelta(hours=hours - 1 - i) for i in range(hours)]
    edges.append(current + timedelta(hours=1))
    async with reading(engine) as conn:
        counts = await outcomes.attempts_by_bucket(conn, vdn_id, campaign_id, edges)
    return [(e.astimezone(tz).strftime("%H:%M"), n) for e, n in zip(edges, counts, strict=False)]


@dataclass(frozen=True)
class Outcomes:
    since: datetime
    attempts: int
    write_backs: int
    by_fail_code: Bars
    by_display_result: Bars
    by_busi_result: Bars


async def outcomes_since(
    engine: AsyncEngine, vdn_id: int, campaign_id: int, since: datetime
) -> Outcomes:
    """Attempts by failure code and by the VDN's display result (its failCode map as it is
    now), and write-backs by business result, recorded since ``since``."""
    async with reading(engine) as conn:
        found = await outcomes.outcome_counts(conn, vdn_id, campaign_id, since)
        displays = await outcomes.display_results(
            conn, vdn_id, [c for c in found.by_fail_code if c]
        )
        names = await outcomes.busi_result_names(
            conn, vdn_id, [c for c in found.by_busi_result if c]
        )
    by_display: dict[str, int] = {}
    for code, count in found.by_fail_code.items():
        shown = displays.get(code)
        label = f"{shown[0]} {shown[1]}" if shown else NOT_MAPPED
        by_display[label] = by_display.get(label, 0) + count
    return Outcomes(
        since=since,
        attempts=sum(found.by_fail_code.values()),
        write_backs=sum(found.by_busi_result.values()),
        by_fail_code=_top(found.by_fail_code.items(), _fail_label),
        by_display_result=_top(by_display.items(), str),
        by_busi_result=_top(
            found.by_busi_result.items(),
            lambda c: f"{c} {names[c]}" if c in names and names[c] != c else c or "(none)",
        ),
    )


def _fail_label(code: str) -> str:
    if not code:
        return "(no failure code)"
    meaning = failcodes.describe(code)
    return f"{code} {meaning}" if meaning else code


def _top(items: Iterable[tuple[str, int]], label: Callable[[str], str]) -> Bars:
    """The largest ``TOP - 1`` counts (ties by key), then one bar for the rest."""
    ranked = sorted(items, key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) > TOP:
        rest = sum(n for _, n in ranked[TOP - 1 :])
        return [(label(k), n) for k, n in ranked[: TOP - 1]] + [("other", rest)]
    return [(label(k), n) for k, n in ranked]


@dataclass(frozen=True)
class QueuedCall:
    data_id: int
    number: str | None  # the number dialled next
    due: datetime | None
    reserved_work_no: str | None
    open_to_all_at: datetime | None  # when a reservation falls back to any agent
    attempts: int
    last_fail_code: str | None
    busi_result: str | None


async def retry_queue(
    engine: AsyncEngine,
    vdn_id: int,
    campaign_id: int,
    *,
    fallback_s: int | None,
    limit: int = 50,
) -> list[QueuedCall]:
    """The next ``limit`` scheduled calls (retries, appointments), soonest first.

    ``fallback_s`` is ``OPENISALES_RESERVATION_FALLBACK_S``: a reserved call its
    agent has not taken by ``due + fallback_s`` is offered to any agent (as
    ``dialing.dispatcher`` claims it); 0 or None: never.
    """
    async with reading(engine) as conn:
        rows = await outcomes.retry_queue(conn, vdn_id, campaign_id, limit)
    out = []
    for row in rows:
        numbers = records.numbers(row.called_nos) if row.called_nos else ()
        number = numbers[row.next_index].called_no if 0 <= row.next_index < len(numbers) else None
        fallback = None
        if row.reserved_work_no and fallback_s and row.next_call_time is not None:
            fallback = row.next_call_time + timedelta(seconds=fallback_s)
        out.append(
            QueuedCall(
                data_id=row.data_id,
                number=number,
                due=row.next_call_time,
                reserved_work_no=row.reserved_work_no,
                open_to_all_at=fallback,
                attempts=row.attempt_no,
                last_fail_code=row.last_fail_code,
                busi_result=row.busi_result,
            )
        )
    return out


@dataclass(frozen=True)
class PushPage:
    items: list[Push]
    next: str | None  # the cursor of the following page; None: this is the last


async def failed_pushes(
    engine: AsyncEngine,
    vdn_id: int,
    *,
    campaign_id: int | None = None,
    after: str | None = None,
    limit: int = 50,
) -> PushPage:
    """One page of failed pushes, newest completion first; ``after`` is a page's ``next``
    (an unreadable cursor starts from the newest)."""
    async with reading(engine) as conn:
        found = await outcomes.failed_pushes(
            conn, vdn_id, campaign_id=campaign_id, after=read_cursor(after), limit=limit + 1
        )
    if len(found) > limit:
        last = found[limit - 1]
        return PushPage(found[:limit], cursor(PushKey(last.created_at, last.data_id, last.seq)))
    return PushPage(found, None)


def cursor(key: PushKey) -> str:
    return f"{(key.created_at - _EPOCH) // _US}-{key.data_id}-{key.seq}"


def read_cursor(text: str | None) -> PushKey | None:
    parts = (text or "").split("-")
    if len(parts) != 3 or not all(p.isdigit() and len(p) <= 19 for p in parts):
        return None
    micros, data_id, seq = (int(p) for p in parts)
    if max(data_id, seq) >= 2**63 or micros > 253_402_300_799_000_000:  # past 9999-12-31
        return None
    return PushKey(_EPOCH + micros * _US, data_id, seq)
