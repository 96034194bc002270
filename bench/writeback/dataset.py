"""The benchmark's database: one VDN, one key, one result definition, one campaign, N records.

The VDN and the key are created through the ``openisales`` CLI, the rest in
bulk with SQL. Ids follow ``openisales.store.ids`` (``vdn_id << 48 | n``) and
the per-VDN counters in ``t_isl_sequence`` are advanced past every row
inserted here. Records are waiting (status 0) but due only tomorrow, so that
no dialer ever claims one during a run; the write-back path does not read
``next_call_time``. pgbench's result rows take ids ``(2 << 48) + k``, which the
server (VDN 1, ids below ``2 << 48``) can never hand out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import cli
from common.db import Psql, sqlite_connect, sqlite_time

VDN_ID = 1
AK = "benchak01"
SK = "bench-secret-key-0123456789abcdef"
CAMPAIGN_ID = 1
BUSI_CODE = "SOLD"
WORK_NO = "2033"
ID_SHIFT = 48
SERVER_ID_LIMIT = (VDN_ID + 1) << ID_SHIFT  # pgbench's result ids start here
MAX_ROWS = 99_999_999  # called numbers are "138" + 8 digits
BUSI_POLICY = '[{"busiResultCode":"SOLD","busiResultPolicy":2,"callInterval":60}]'


def data_id(n: int) -> int:
    return (VDN_ID << ID_SHIFT) | n


def provision(env: dict[str, str]) -> None:
    """Schema, VDN and key, the way an operator would create them."""
    cli.provision(env, VDN_ID)
    cli.run(env, "keys", "create", "--vdn", str(VDN_ID), "--ak", AK, "--sk", SK)


# ---------------------------------------------------------------- PostgreSQL


class Postgres(Psql):
    """The benchmark's database, through psql."""

    def load(self, rows: int) -> None:
        self.psql(_pg_load_sql(rows))

    def settle(self) -> None:
        """Vacuum what the previous phase churned and flush dirty pages."""
        self.psql("VACUUM (ANALYZE) t_isl_data, t_isl_data_result")
        self.checkpoint()

    def checkpoint(self) -> None:
        """So that no phase pays for the previous phase's checkpoint."""
        self.psql("CHECKPOINT")

    def server_results(self) -> ResultCount:
        out = self.psql(
            "SELECT count(*), count(DISTINCT data_id),"
            " (SELECT sessions FROM pg_stat_database WHERE datname = current_database())"
            f" FROM t_isl_data_result WHERE vdn_id = {VDN_ID} AND result_id < {SERVER_ID_LIMIT}"
        )
        total, distinct, sessions = out.split("|")
        return ResultCount(int(total), int(distinct), int(sessions))


def _pg_load_sql(rows: int) -> str:
    return f"""
INSERT INTO t_isl_busi_result
    (vdn_id, def_id, parent_def_id, def_level, code, name, description, created_at)
VALUES ({VDN_ID}, {data_id(1)}, 0, 1, '{BUSI_CODE}', 'Sold', 'benchmark', now());

INSERT INTO t_isl_campaign
    (vdn_id, campaign_id, name, description, status, device_type, api_version,
     begin_time, end_time, caller_no, max_alerting_time, priority, schedule_param,
     skill_param, init_status, busi_policy, retry_policy_updated_at, created_at, updated_at)
VALUES ({VDN_ID}, {CAMPAIGN_ID}, 'bench', 'write-back benchmark', 2, 2, 2,
        now() - interval '1 day', now() + interval '10 years', '[]', 30, NULL, '{{}}',
        '{{}}', 2, '{BUSI_POLICY}', now(), now(), now());

INSERT INTO t_isl_data
    (vdn_id, data_id, campaign_id, called_nos, next_index, attempt_index, status,
     attempt_no, next_call_time, created_at, updated_at)
SELECT {VDN_ID}, ({VDN_ID}::bigint << {ID_SHIFT}) | n, {CAMPAIGN_ID},
       '[{{"calledNo":"138' || lpad(n::text, 8, '0') || '","type":""}}]', 0, 0, 0, 0,
       now() + interval '1 day', now(), now()
  FROM generate_series(1, {rows}) AS n;

INSERT INTO t_isl_sequence (vdn_id, name, next_value)
VALUES ({VDN_ID}, 'data', {rows + 1}), ({VDN_ID}, 'campaign', {CAMPAIGN_ID + 1}),
       ({VDN_ID}, 'busi_result', 2), ({VDN_ID}, 'result', 1)
ON CONFLICT (vdn_id, name)
DO UPDATE SET next_value = GREATEST(t_isl_sequence.next_value, EXCLUDED.next_value);

CREATE SEQUENCE bench_result_seq;
ANALYZE;
"""


@dataclass(frozen=True)
class ResultCount:
    """The server's result rows and, on PostgreSQL, the database's sessions so far."""

    total: int
    distinct_data: int
    sessions: int | None = None  # pg_stat_database.sessions (this query's own included)


# ---------------------------------------------------------------- SQLite


_SQLITE_DATA = """
INSERT INTO t_isl_data
    (vdn_id, data_id, campaign_id, called_nos, next_index, attempt_index, status,
     attempt_no, next_call_time, created_at, updated_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
SELECT ?, (? << ?) | n, ?,
       '[{"calledNo":"138' || substr('00000000' || n, -8, 8) || '","type":""}]',
       0, 0, 0, 0, ?, ?, ?
  FROM seq
"""


def load_sqlite(path: Path, rows: int) -> None:
    now = datetime.now(UTC)
    stamp = sqlite_time(now)
    due = sqlite_time(now + timedelta(days=1))
    end = sqlite_time(now + timedelta(days=3653))
    conn = sqlite_connect(path)
    try:
        with conn:
            conn.execute(
                "INSERT INTO t_isl_busi_result (vdn_id, def_id, parent_def_id, def_level,"
                " code, name, description, created_at) VALUES (?, ?, 0, 1, ?, 'Sold',"
                " 'benchmark', ?)",
                (VDN_ID, data_id(1), BUSI_CODE, stamp),
            )
            conn.execute(
                "INSERT INTO t_isl_campaign (vdn_id, campaign_id, name, description, status,"
                " device_type, api_version, begin_time, end_time, caller_no,"
                " max_alerting_time, priority, schedule_param, skill_param, init_status,"
                " busi_policy, retry_policy_updated_at, created_at, updated_at)"
                " VALUES (?, ?, 'bench', 'write-back benchmark', 2, 2, 2, ?, ?, '[]', 30,"
                " NULL, '{}', '{}', 2, ?, ?, ?, ?)",
                (VDN_ID, CAMPAIGN_ID, stamp, end, BUSI_POLICY, stamp, stamp, stamp),
            )
            conn.execute(
                _SQLITE_DATA, (rows, VDN_ID, VDN_ID, ID_SHIFT, CAMPAIGN_ID, due, stamp, stamp)
            )
            for name, value in [
                ("data", rows + 1),
                ("campaign", CAMPAIGN_ID + 1),
                ("busi_result", 2),
                ("result", 1),
            ]:
                conn.execute(
                    "INSERT INTO t_isl_sequence (vdn_id, name, next_value) VALUES (?, ?, ?)"
                    " ON CONFLICT (vdn_id, name) DO UPDATE"
                    " SET next_value = max(next_value, excluded.next_value)",
                    (VDN_ID, name, value),
                )
        conn.execute("ANALYZE")
    finally:
        conn.close()


def sqlite_results(path: Path) -> ResultCount:
    conn = sqlite_connect(path)
    try:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT data_id) FROM t_isl_data_result"
            " WHERE vdn_id = ? AND result_id < ?",
            (VDN_ID, SERVER_ID_LIMIT),
        ).fetchone()
    finally:
        conn.close()
    return ResultCount(int(total), int(distinct))
