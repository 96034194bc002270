"""What the workers did, read back from the database after the run.

Every attempt leaves one ``t_isl_data_result`` row (kind ``attempt``) whose
``created_at`` is the moment the worker recorded the outcome. With the
instant simulator that moment follows the claim's commit in the same
coroutine with no ``await`` in between (tasks are built, outcomes drawn,
``Dispatcher.report`` reads the clock), so it stands for the dispatch time;
it is later than the handover to the gateway by that CPU work only.

A retry's scheduled time is exactly the first attempt's ``created_at`` plus
the policy's ``callInterval``: ``record_attempts`` computes ``next_call_time``
from the same clock reading that it stores as ``created_at``.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from dataset import CAMPAIGN_ID, ID_SHIFT, VDN_ID

from common.db import sqlite_connect

ID_MASK = (1 << ID_SHIFT) - 1  # an id's per-VDN number: record n has data_id 1 << 48 | n
NO_ANSWER = "00603"
ANSWERED = "00000"
NO_RESULT = "34608"  # an outcome recorded by lease recovery, not by the gateway


@dataclass(frozen=True)
class Attempt:
    data_id: int
    attempt_no: int
    fail_code: str
    at: float  # created_at, seconds since the epoch


@dataclass(frozen=True)
class Record:
    data_id: int
    status: int
    attempt_no: int  # claims: every claim increments it


@dataclass(frozen=True)
class Quantiles:
    count: int
    p50: float | None
    p99: float | None
    max: float | None

    def as_dict(self) -> dict[str, object]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 4)

        return {
            "count": self.count,
            "p50_s": r(self.p50),
            "p99_s": r(self.p99),
            "max_s": r(self.max),
        }


def quantiles(values: list[float]) -> Quantiles:
    """Nearest-rank p50/p99 (the value at or below which 50 % / 99 % of them lie)."""
    if not values:
        return Quantiles(0, None, None, None)
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return Quantiles(len(ordered), rank(0.50), rank(0.99), ordered[-1])


@dataclass(frozen=True)
class Integrity:
    duplicate_rows: int  # rows beyond one per (data_id, attempt_no)
    numbering_gaps: int  # records whose attempt numbers are not 1..k
    unrecorded_claims: int  # claims (t_isl_data.attempt_no) without an attempt row
    recovered: int  # attempts closed by lease recovery (34608), not by the simulator
    wrong_attempt_count: int  # records not dialled exactly as the policy says
    open_records: int  # records still waiting or being called

    @property
    def duplicates(self) -> int:
        """The issue's figure: attempt rows that repeat a (record, attempt number)."""
        return self.duplicate_rows

    def problems(self) -> list[str]:
        names = {
            "numbering_gaps": "records with gaps in their attempt numbers",
            "unrecorded_claims": "claims without a recorded outcome (double or lost dispatch)",
            "recovered": "attempts recovered after their lease expired",
            "wrong_attempt_count": "records not dialled the number of times the policy says",
            "open_records": "records still open at the end",
        }
        return [f"{getattr(self, k)} {text}" for k, text in names.items() if getattr(self, k)]

    def as_dict(self) -> dict[str, int]:
        return {
            "duplicates": self.duplicates,
            "numbering_gaps": self.numbering_gaps,
            "unrecorded_claims": self.unrecorded_claims,
            "recovered": self.recovered,
            "wrong_attempt_count": self.wrong_attempt_count,
            "open_records": self.open_records,
        }


def integrity(attempts: list[Attempt], records: list[Record]) -> Integrity:
    pairs = Counter((a.data_id, a.attempt_no) for a in attempts)
    numbers: dict[int, set[int]] = {}
    first_code: dict[int, str] = {}
    for a in attempts:
        numbers.setdefault(a.data_id, set()).add(a.attempt_no)
        if a.attempt_no == 1:
            first_code[a.data_id] = a.fail_code
    placed = {data_id: len(nos) for data_id, nos in numbers.items()}
    return Integrity(
        duplicate_rows=sum(n - 1 for n in pairs.values() if n > 1),
        numbering_gaps=sum(1 for nos in numbers.values() if nos != set(range(1, len(nos) + 1))),
        unrecorded_claims=sum(max(0, r.attempt_no - placed.get(r.data_id, 0)) for r in records),
        recovered=sum(1 for a in attempts if a.fail_code == NO_RESULT),
        wrong_attempt_count=sum(
            1 for r in records if placed.get(r.data_id, 0) != _expected(first_code.get(r.data_id))
        ),
        open_records=sum(1 for r in records if r.status in (0, 1)),
    )


def _expected(first_code: str | None) -> int:
    """Attempts the policy calls for: two after a first 'no answer', else one."""
    return 2 if first_code == NO_ANSWER else 1


@dataclass(frozen=True)
class Timing:
    attempts: int
    first_attempts: int
    retries: int
    first_at: float
    last_at: float
    backlog_drained_at: float  # the last first attempt
    first_lateness: Quantiles  # every first attempt: dispatch - due
    lateness: Quantiles  # every retry: dispatch - scheduled
    lateness_during_backlog: Quantiles  # retries due while first attempts were still going out
    lateness_after_backlog: Quantiles  # retries scheduled after the first attempts were done
    excess: Quantiles  # lateness beyond the wait for the records ahead in claim order
    retries_first: bool  # the claim order: due retries before first calls

    @property
    def wall_s(self) -> float:
        return self.last_at - self.first_at

    @property
    def rate(self) -> float:
        return self.attempts / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def first_attempt_rate(self) -> float:
        span = self.backlog_drained_at - self.first_at
        return self.first_attempts / span if span > 0 else 0.0


def timing(
    attempts: list[Attempt],
    *,
    due: float,
    interval_s: float,
    due_step: float = 0.0,
    retries_first: bool = False,
) -> Timing:
    """Rates and lateness; record ``n`` was due at ``due + (n - 1) * due_step``.

    ``retries_first``: the claim takes due retries before first calls (the
    schema has ``t_isl_data.priority``); otherwise oldest due first.
    """
    if not attempts:
        raise ValueError("no attempt was recorded")

    def due_of(data_id: int) -> float:
        return due + ((data_id & ID_MASK) - 1) * due_step

    first = {a.data_id: a for a in attempts if a.attempt_no == 1}
    retries = [a for a in attempts if a.attempt_no == 2 and a.data_id in first]
    drained = max(a.at for a in first.values())
    scheduled = {a.data_id: first[a.data_id].at + interval_s for a in retries}
    late = [a.at - scheduled[a.data_id] for a in retries]
    during = [a.at - scheduled[a.data_id] for a in retries if scheduled[a.data_id] <= drained]
    after = [a.at - scheduled[a.data_id] for a in retries if scheduled[a.data_id] > drained]
    return Timing(
        attempts=len(attempts),
        first_attempts=len(first),
        retries=len(retries),
        first_at=min(a.at for a in attempts),
        last_at=max(a.at for a in attempts),
        backlog_drained_at=drained,
        first_lateness=quantiles([a.at - due_of(a.data_id) for a in first.values()]),
        lateness=quantiles(late),
        lateness_during_backlog=quantiles(during),
        lateness_after_backlog=quantiles(after),
        excess=quantiles(_beyond_order(first, retries, scheduled, due_of, retries_first)),
        retries_first=retries_first,
    )


def _beyond_order(
    first: dict[int, Attempt],
    retries: list[Attempt],
    scheduled: dict[int, float],
    due_of: Callable[[int], float],
    retries_first: bool,
) -> list[float]:
    """Each retry's lateness beyond what the claim order alone makes it wait.

    Records are claimed in (priority, ``next_call_time``, ``data_id``) order,
    where a retry's priority is ahead of a first call's when
    ``retries_first``, and the same otherwise: a retry can go no earlier than
    its scheduled time, nor before the records ahead of it (due strictly
    earlier, or of a better priority) have gone. The excess is its dispatch
    time minus the later of the two (at least 0): the dispatcher's own delay,
    queueing aside.
    """
    later = 1 if retries_first else 0
    items = [(later, due_of(a.data_id), a.at, False) for a in first.values()]
    items += [(0, scheduled[a.data_id], a.at, True) for a in retries]
    items.sort()
    ahead = float("-inf")  # the latest dispatch among records strictly ahead in order
    group: tuple[int, float] | None = None
    group_latest = float("-inf")
    out = []
    for priority, when, at, is_retry in items:
        if (priority, when) != group:  # records due at the same time go in one claim
            ahead = max(ahead, group_latest)
            group, group_latest = (priority, when), float("-inf")
        if is_retry:
            out.append(max(0.0, at - max(when, ahead)))
        group_latest = max(group_latest, at)
    return out


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class RunData:
    attempts: list[Attempt]
    records: list[Record]
    retries_first: bool  # the schema has a claim priority (retries before first calls)


async def read_postgres(url: str) -> RunData:
    conn = await asyncpg.connect(url)
    try:
        priority = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns"
            " WHERE table_name = 't_isl_data' AND column_name = 'priority'"
        )
        rows = await conn.fetch(
            "SELECT data_id, attempt_no, fail_code, extract(epoch FROM created_at)::float8 AS at"
            " FROM t_isl_data_result WHERE vdn_id = $1 AND campaign_id = $2 AND kind = 'attempt'",
            VDN_ID,
            CAMPAIGN_ID,
        )
        data = await conn.fetch(
            "SELECT data_id, status, attempt_no FROM t_isl_data"
            " WHERE vdn_id = $1 AND campaign_id = $2",
            VDN_ID,
            CAMPAIGN_ID,
        )
    finally:
        await conn.close()
    attempts = [Attempt(r["data_id"], r["attempt_no"], r["fail_code"], r["at"]) for r in rows]
    records = [Record(r["data_id"], r["status"], r["attempt_no"]) for r in data]
    return RunData(attempts, records, bool(priority))


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def read_sqlite(path: Path) -> RunData:
    conn: sqlite3.Connection = sqlite_connect(path)
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(t_isl_data)")}
        rows = conn.execute(
            "SELECT data_id, attempt_no, fail_code, created_at FROM t_isl_data_result"
            " WHERE vdn_id = ? AND campaign_id = ? AND kind = 'attempt'",
            (VDN_ID, CAMPAIGN_ID),
        ).fetchall()
        data = conn.execute(
            "SELECT data_id, status, attempt_no FROM t_isl_data"
            " WHERE vdn_id = ? AND campaign_id = ?",
            (VDN_ID, CAMPAIGN_ID),
        ).fetchall()
    finally:
        conn.close()
    attempts = [Attempt(int(d), int(n), str(c), _epoch(t)) for d, n, c, t in rows]
    records = [Record(int(d), int(s), int(n)) for d, s, n in data]
    return RunData(attempts, records, "priority" in columns)
