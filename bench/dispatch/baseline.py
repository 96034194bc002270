"""The baseline: PostgreSQL's raw claim rate on the benchmark's own table.

C clients (asyncpg, one connection each, prepared statements, autocommit) run
the claim statements of ``openisales.store.dispatch.claim`` — an ``UPDATE``
joined to a ``MATERIALIZED`` CTE that picks the ``LIMIT n`` oldest due records
``FOR UPDATE SKIP LOCKED`` and ``RETURNING`` the claimed columns — in a loop
until every record is claimed. The SQL is not copied here: ``claim`` is run
once against a connection that only records what it is asked to execute, and
the statements it issues (one per claim pass, scheduled records first) are
compiled for asyncpg and replayed as they are. What the dispatcher does
around them (the campaign lock, the count of calls in progress, building
tasks, recording outcomes) is not in it: this is the ceiling a dispatcher
claiming in batches of ``n`` could approach on this machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from cpu import CpuMeter
from dataset import CAMPAIGN_ID, VDN_ID
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from common.machine import CpuUsage
from openisales.store import dispatch

LEASE_S = 120  # the dispatcher's defaults
FALLBACK_S = 300


@dataclass(frozen=True)
class Statement:
    sql: str
    args: tuple[Any, ...]


class _Recorder:
    """Stands in for a PostgreSQL connection: records each statement and returns no rows."""

    dialect = pg_asyncpg.dialect()  # type: ignore[no-untyped-call]

    def __init__(self) -> None:
        self.statements: list[ClauseElement] = []

    async def execute(self, stmt: ClauseElement) -> _NoRows:
        self.statements.append(stmt)
        return _NoRows()


class _NoRows:
    def all(self) -> list[Any]:
        return []

    def __iter__(self) -> Iterator[Any]:
        return iter(())


async def claim_statements(worker: str, batch: int) -> list[Statement]:
    """The statements ``dispatch.claim`` issues for one claim, ready for asyncpg."""
    now = datetime.now(UTC)
    recorder = _Recorder()
    await dispatch.claim(
        recorder,  # type: ignore[arg-type]
        vdn_id=VDN_ID,
        campaign_id=CAMPAIGN_ID,
        worker=worker,
        limit=batch,
        now=now,
        lease_until=now + timedelta(seconds=LEASE_S),
        today=now.date().isoformat(),
        agents=frozenset(),  # the simulator's, without configured agents
        fallback_before=now - timedelta(seconds=FALLBACK_S),
    )
    dialect = pg_asyncpg.dialect()  # type: ignore[no-untyped-call]
    out = []
    for stmt in recorder.statements:
        compiled = stmt.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        params = compiled.construct_params()
        names = compiled.positiontup or []
        out.append(Statement(str(compiled), tuple(params[name] for name in names)))
    return out


@dataclass(frozen=True)
class BaselineResult:
    claims: int  # records claimed
    rounds: int  # claims issued (each runs every statement once)
    empty_rounds: int  # claims that found nothing (the last one of each client)
    wall_s: float
    clients: int
    batch: int
    cpu: CpuUsage
    passes: int  # statements per round
    sql: list[str]

    @property
    def rate(self) -> float:
        return self.claims / self.wall_s if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "claims_per_s": round(self.rate, 1),
            "records_claimed": self.claims,
            "claim_rounds": self.rounds,
            "empty_rounds": self.empty_rounds,
            "wall_s": round(self.wall_s, 3),
            "clients": self.clients,
            "batch": self.batch,
            "method": "asyncpg, dispatch.claim's statements prepared, autocommit, a connection"
            " per client",
            "statements_per_round": self.passes,
            "sql": self.sql,
        }


@dataclass
class _Tally:
    claims: int = 0
    rounds: int = 0
    empty: int = 0
    first: float = float("inf")  # perf_counter before the first round
    last: float = float("-inf")  # ... and after the last one

    def add(self, started: float, rows: int) -> None:
        self.first = min(self.first, started)
        self.last = max(self.last, time.perf_counter())
        self.rounds += 1
        self.claims += rows
        self.empty += rows == 0


async def _client(
    conn: asyncpg.Connection, statements: list[Statement], batch: int, tally: _Tally
) -> None:
    prepared = [(await conn.prepare(st.sql), st.args) for st in statements]
    while True:
        started = time.perf_counter()
        claimed = 0
        for stmt, args in prepared:
            if claimed >= batch:
                break
            claimed += len(await stmt.fetch(*args))
        tally.add(started, claimed)
        if not claimed:
            return


async def run(url: str, *, clients: int, batch: int) -> BaselineResult:
    """Claim every due record with ``clients`` concurrent loops.

    The rate is records claimed over the wall time from the first round's
    start to the last one's end (connecting and preparing are not in it).
    """
    tally = _Tally()
    meter = CpuMeter()
    conns = [await asyncpg.connect(url) for _ in range(clients)]
    try:
        meter.start()  # with the backends up, so that their CPU is in the books
        jobs = [
            _client(conn, await claim_statements(f"base-{i}", batch), batch, tally)
            for i, conn in enumerate(conns)
        ]
        await asyncio.gather(*jobs)
        cpu = meter.stop()
    finally:
        for conn in conns:
            await conn.close()
    wall = max(0.0, tally.last - tally.first)
    sql = [st.sql for st in await claim_statements("base", batch)]
    return BaselineResult(
        tally.claims, tally.rounds, tally.empty, wall, clients, batch, cpu, len(sql), sql
    )
