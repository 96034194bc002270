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

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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

CLI = str(Path(sys.executable).with_name("openisales"))


def data_id(n: int) -> int:
    return (VDN_ID << ID_SHIFT) | n


def cli(env: dict[str, str], *args: str) -> str:
    """Run ``openisales <args>``; raise with its output when it fails."""
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openisales {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def clean_env() -> dict[str, str]:
    """The caller's environment without any ``OPENISALES_*`` setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENISALES_")}


def provision(env: dict[str, str]) -> None:
    """Schema, VDN and key, the way an operator would create them."""
    cli(env, "migrate")
    cli(env, "vdn", "add", "--id", str(VDN_ID), "--name", "bench", "--time-zone", "UTC")
    cli(env, "keys", "create", "--vdn", str(VDN_ID), "--ak", AK, "--sk", SK)


# ---------------------------------------------------------------- PostgreSQL


@dataclass(frozen=True)
class Postgres:
    url: str  # postgresql://user@host:port/dbname

    @property
    def dbname(self) -> str:
        return urlsplit(self.url).path.lstrip("/")

    @property
    def admin_url(self) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path="/postgres"))

    def psql(self, sql: str, *, admin: bool = False) -> str:
        """Run ``sql`` with psql (stop at the first error); unaligned output."""
        done = subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", self._target(admin)],
            input=sql,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}\n--- SQL ---\n{sql}")
        return done.stdout.strip()

    def _target(self, admin: bool) -> str:
        return self.admin_url if admin else self.url

    def recreate(self) -> None:
        name = self.dbname
        if not name.replace("_", "").isalnum():
            raise ValueError(f"refusing an unusual database name: {name!r}")
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin=True)
        self.psql(f'CREATE DATABASE "{name}"', admin=True)

    def version(self) -> str:
        return self.psql("SHOW server_version")

    def setting(self, name: str) -> str:
        return self.psql(f"SHOW {name}")

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


def _sqlite_time(moment: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime on SQLite (naive, microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


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


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def load_sqlite(path: Path, rows: int) -> None:
    now = datetime.now(UTC)
    stamp = _sqlite_time(now)
    due = _sqlite_time(now + timedelta(days=1))
    end = _sqlite_time(now + timedelta(days=3653))
    conn = _connect(path)
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
    conn = _connect(path)
    try:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT data_id) FROM t_isl_data_result"
            " WHERE vdn_id = ? AND result_id < ?",
            (VDN_ID, SERVER_ID_LIMIT),
        ).fetchone()
    finally:
        conn.close()
    return ResultCount(int(total), int(distinct))
