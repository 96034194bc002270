"""The benchmark's database: one VDN, one running simulator campaign, N due records.

The schema and the VDN come from the ``openisales`` CLI (``migrate``, ``vdn add``),
the campaign and the records from bulk SQL. Ids follow ``openisales.store.ids``
(``vdn_id << 48 | n``) and the per-VDN counters in ``t_isl_sequence`` are
advanced past everything inserted here. Every record is due at ``due`` (one
timestamp for all, as the issue asks), has one number and has never been
called; only the ``--due-spread`` experiment spreads the due times of the
records evenly over the given number of seconds after ``due`` instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg

from common.db import Database, recreate_on_citus, sqlite_connect, sqlite_time

VDN_ID = 1
CAMPAIGN_ID = 1
ID_SHIFT = 48
MAX_RECORDS = 99_999_999  # called numbers are "139" + 8 digits
SCHEDULE = json.dumps(
    {
        "workdayBeginTime1": "00:00",
        "workdayEndTime1": "23:59",
        "holidayBeginTime1": "00:00",
        "holidayEndTime1": "23:59",
    },
    separators=(",", ":"),
)


@dataclass(frozen=True)
class Workload:
    """What the campaign does with each record."""

    records: int
    retry_interval_s: int
    answered_share: float = 0.5  # the rest fails with 00603 (no answer): one retry
    seed: int = 1
    max_concurrency: int = 100_000

    @property
    def gateway_config(self) -> str:
        no_answer = round(1 - self.answered_share, 6)
        mix = {"00000": self.answered_share, "00603": no_answer}
        return json.dumps({"seed": self.seed, "mix": mix}, separators=(",", ":"))

    @property
    def policy_json(self) -> str:
        rule = {"result": 2, "retryNumber": 1, "callInterval": self.retry_interval_s}
        return json.dumps([{"type": 1, "policy": [rule]}], separators=(",", ":"))


def _campaign_values(work: Workload, now: datetime) -> dict[str, object]:
    return {
        "vdn_id": VDN_ID,
        "campaign_id": CAMPAIGN_ID,
        "name": "bench-dispatch",
        "description": "dispatch benchmark",
        "status": 2,
        "device_type": 2,
        "api_version": 2,
        "begin_time": now - timedelta(hours=1),
        "end_time": now + timedelta(days=1),
        "caller_no": "[]",
        "max_alerting_time": 30,
        "schedule_param": SCHEDULE,
        "init_status": 2,
        "policy_type": 0,
        "policy_json": work.policy_json,
        "retry_policy_updated_at": now,
        "max_concurrency": work.max_concurrency,
        "gateway": "simulator",
        "gateway_config": work.gateway_config,
        "created_at": now,
        "updated_at": now,
    }


def _sequences(records: int) -> list[tuple[int, str, int]]:
    return [
        (VDN_ID, "data", records + 1),
        (VDN_ID, "campaign", CAMPAIGN_ID + 1),
        (VDN_ID, "result", 1),
    ]


# ---------------------------------------------------------------- PostgreSQL


class Postgres(Database):
    """The benchmark's database, through asyncpg."""

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url)

    async def recreate(self) -> None:
        if recreate_on_citus(self):
            return
        statements = self.recreate_sql()
        conn = await asyncpg.connect(self.admin_url)
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    async def scalar(self, sql: str) -> object:
        conn = await self.connect()
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    async def load(self, work: Workload, due: datetime) -> None:
        """The campaign, the records (all due at ``due``), the counters; then ANALYZE."""
        values = _campaign_values(work, due)
        columns = ", ".join(values)
        marks = ", ".join(f"${i}" for i in range(1, len(values) + 1))
        conn = await self.connect()
        try:
            async with conn.transaction():
                await conn.execute(
                    f"INSERT INTO t_isl_campaign ({columns}) VALUES ({marks})", *values.values()
                )
                await _pg_records(conn, work.records, due)
                await conn.executemany(
                    "INSERT INTO t_isl_sequence (vdn_id, name, next_value) VALUES ($1, $2, $3)"
                    " ON CONFLICT (vdn_id, name) DO UPDATE"
                    " SET next_value = GREATEST(t_isl_sequence.next_value, EXCLUDED.next_value)",
                    _sequences(work.records),
                )
            await conn.execute("VACUUM (ANALYZE) t_isl_data, t_isl_campaign, t_isl_sequence")
        finally:
            await conn.close()

    async def reload_records(self, records: int, due: datetime, spread_s: float = 0) -> None:
        """Back to the freshly loaded state after the baseline claimed every record."""
        conn = await self.connect()
        try:
            async with conn.transaction():
                await conn.execute("TRUNCATE t_isl_data, t_isl_data_result")
                await _pg_records(conn, records, due, spread_s)
            await conn.execute("VACUUM (ANALYZE) t_isl_data, t_isl_data_result")
            await conn.execute("CHECKPOINT")
        finally:
            await conn.close()

    async def end_backends(self) -> int:
        """End the clients' other sessions on the benchmark's database (left by killed workers).

        Only client backends, and not Citus's own connections between its nodes
        (``citus_internal …``, the rebalancer's): on a Citus coordinator those
        stay open between queries and are no worker's.
        """
        value = await self.scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            f" WHERE datname = '{self.dbname}' AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
            " AND coalesce(application_name, '') NOT LIKE 'citus%'"
        )
        return int(str(value))

    async def open_records(self) -> int:
        """Records still to be dialled: waiting (due now or later) or being called."""
        value = await self.scalar(
            f"SELECT count(*) FROM t_isl_data WHERE vdn_id = {VDN_ID}"
            f" AND campaign_id = {CAMPAIGN_ID} AND status IN (0, 1)"
        )
        return int(str(value))

    async def setting(self, name: str) -> str:
        return str(await self.scalar(f"SHOW {name}"))


def due_step(records: int, spread_s: float) -> float:
    """Seconds between the due times of consecutive records (0: all due at once)."""
    return spread_s / records if records else 0.0


async def _pg_records(
    conn: asyncpg.Connection, records: int, due: datetime, spread_s: float = 0
) -> None:
    await conn.execute(
        """
INSERT INTO t_isl_data
    (vdn_id, data_id, campaign_id, called_nos, next_index, attempt_index, status,
     attempt_no, next_call_time, day_attempts, created_at, updated_at)
SELECT $1::int, ($1::bigint << $2::int) | n, $3::bigint,
       '[{"calledNo":"139' || lpad(n::text, 8, '0') || '","type":""}]', 0, 0, 0, 0,
       $4::timestamptz + make_interval(secs => (n - 1) * $6::float8), 0,
       $4::timestamptz, $4::timestamptz
  FROM generate_series(1, $5::int) AS n
""",
        VDN_ID,
        ID_SHIFT,
        CAMPAIGN_ID,
        due,
        records,
        due_step(records, spread_s),
    )


# ---------------------------------------------------------------- SQLite


_SQLITE_RECORDS = """
INSERT INTO t_isl_data
    (vdn_id, data_id, campaign_id, called_nos, next_index, attempt_index, status,
     attempt_no, next_call_time, day_attempts, created_at, updated_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
SELECT ?, (? << ?) | n, ?,
       '[{"calledNo":"139' || substr('00000000' || n, -8, 8) || '","type":""}]',
       0, 0, 0, 0, ?, 0, ?, ?
  FROM seq
"""


def load_sqlite(path: Path, work: Workload, due: datetime) -> None:
    values = {
        k: sqlite_time(v) if isinstance(v, datetime) else v
        for k, v in _campaign_values(work, due).items()
    }
    stamp = sqlite_time(due)
    conn = sqlite_connect(path)
    try:
        with conn:
            conn.execute(
                f"INSERT INTO t_isl_campaign ({', '.join(values)})"
                f" VALUES ({', '.join('?' for _ in values)})",
                tuple(values.values()),
            )
            conn.execute(
                _SQLITE_RECORDS,
                (work.records, VDN_ID, VDN_ID, ID_SHIFT, CAMPAIGN_ID, stamp, stamp, stamp),
            )
            conn.executemany(
                "INSERT INTO t_isl_sequence (vdn_id, name, next_value) VALUES (?, ?, ?)"
                " ON CONFLICT (vdn_id, name) DO UPDATE"
                " SET next_value = max(next_value, excluded.next_value)",
                _sequences(work.records),
            )
        conn.execute("ANALYZE")
    finally:
        conn.close()


def sqlite_open_records(path: Path) -> int:
    conn = sqlite_connect(path)
    try:
        (count,) = conn.execute(
            "SELECT count(*) FROM t_isl_data WHERE vdn_id = ? AND campaign_id = ?"
            " AND status IN (0, 1)",
            (VDN_ID, CAMPAIGN_ID),
        ).fetchone()
    finally:
        conn.close()
    return int(count)
