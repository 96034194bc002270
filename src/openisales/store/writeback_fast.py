"""The write-back in two round trips on PostgreSQL, without an explicit transaction.

Both statements run on the asyncpg connection itself (SQLAlchemy's execution
layer costs more than the statements on this hot path). Read the record
without a lock (with its row version, ``xmin``), decide in
Python, then write with one statement that applies only if the row is still
the version that was read and the request's signature is still unused:
``UPDATE … WHERE xmin = :version`` followed, in the same statement, by the
history row and the replay nonce (data-modifying CTEs). One statement is one
atomic transaction. If another writer got there first, the caller reads
again. Used only when the write-back writes nothing else (no result push to
queue); otherwise the transactional path in ``store.calldata`` applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.writeback import Outcome
from openisales.replay import Nonce
from openisales.store.calldata import WriteBack, schedule_values

_READ_SQL = """
    SELECT r.replayed, d.*
    FROM (SELECT EXISTS (
            SELECT 1 FROM t_isl_auth_nonce
            WHERE vdn_id = :vdn AND digest = :digest AND expires_at >= :now
          ) AS replayed) AS r
    LEFT JOIN LATERAL (
        SELECT CAST(t.xmin AS text) AS version, t.campaign_id, t.status, t.attempt_no,
               t.attempt_index, t.called_nos, t.busi_attempt_no,
               c.busi_policy, c.call_policy, c.call_back_url
        FROM t_isl_data t
        JOIN t_isl_campaign c ON c.vdn_id = t.vdn_id AND c.campaign_id = t.campaign_id
        WHERE t.vdn_id = :vdn AND t.data_id = :data
    ) AS d ON true
    """

_UPDATE = """
    UPDATE t_isl_data SET
        busi_result = :busi_result, sub_status = :sub_status,
        busi_result_desc = :busi_result_desc, work_no = :work_no,
        busi_write_time = :now, busi_attempt_no = :attempt_no, updated_at = :now,
        status = CASE WHEN :resched THEN CAST(:status AS smallint) ELSE status END,
        next_index = CASE WHEN :resched THEN CAST(:next_index AS integer) ELSE next_index END,
        next_call_time = CASE WHEN :resched THEN CAST(:next_call_time AS timestamptz)
                              ELSE next_call_time END,
        priority = CASE WHEN :resched THEN 0 ELSE priority END,
        reserved_work_no = CASE WHEN :resched THEN CAST(:reserved_work_no AS varchar)
                                ELSE reserved_work_no END,
        completed_at = CASE WHEN :resched THEN CAST(:completed_at AS timestamptz)
                            ELSE completed_at END,
        complete_reason = CASE WHEN :resched THEN CAST(:complete_reason AS varchar)
                               ELSE complete_reason END
    WHERE vdn_id = :vdn AND data_id = :data AND xmin = CAST(:version AS xid)
"""

_HISTORY = """
    INSERT INTO t_isl_data_result (vdn_id, result_id, data_id, campaign_id, kind, attempt_no,
        called, busi_result, sub_status, busi_result_desc, work_no, created_at)
    SELECT CAST(:vdn AS integer), CAST(:result_id AS bigint), CAST(:data AS bigint),
        CAST(:campaign_id AS bigint), 'busi', CAST(:attempt_no AS integer),
        CAST(:called AS varchar), CAST(:busi_result AS varchar), CAST(:sub_status AS varchar),
        CAST(:busi_result_desc AS text), CAST(:work_no AS varchar), CAST(:now AS timestamptz)
    FROM upd
"""

_WRITE_SQL = (
    f"WITH upd AS ({_UPDATE} RETURNING data_id), ins AS ({_HISTORY}) "
    "SELECT (SELECT count(*) FROM upd) AS updated"
)

_WRITE_WITH_NONCE_SQL = f"""
    WITH upd AS ({_UPDATE}
        AND NOT EXISTS (SELECT 1 FROM t_isl_auth_nonce
                        WHERE vdn_id = :vdn AND digest = :digest AND expires_at >= :now)
        RETURNING data_id),
    ins AS ({_HISTORY}),
    nonce AS (
        INSERT INTO t_isl_auth_nonce (vdn_id, digest, expires_at)
        SELECT CAST(:vdn AS integer), CAST(:digest AS varchar), CAST(:expires AS timestamptz)
        FROM upd
        ON CONFLICT (vdn_id, digest) DO UPDATE SET expires_at = EXCLUDED.expires_at
        WHERE t_isl_auth_nonce.expires_at < :now
        RETURNING 1)
    SELECT (SELECT count(*) FROM upd) AS updated
    """


_BIND = re.compile(r"(?<![:\w]):(\w+)(?!:)")


@dataclass(frozen=True)
class Statement:
    """SQL with ``:name`` parameters compiled once to asyncpg's ``$n`` form."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def compile(cls, text: str) -> Statement:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        return cls(_BIND.sub(number, text), tuple(names))

    def args(self, params: dict[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


_READ = Statement.compile(_READ_SQL)
_WRITE = Statement.compile(_WRITE_SQL)
_WRITE_WITH_NONCE = Statement.compile(_WRITE_WITH_NONCE_SQL)


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn`` (statements on it skip SQLAlchemy's layer)."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


@dataclass(frozen=True)
class Read:
    replayed: bool
    row: Any  # None when the record is not in the VDN


async def read(
    conn: AsyncConnection, vdn_id: int, data_id: int, nonce: Nonce | None, now: datetime
) -> Read:
    params = {"vdn": vdn_id, "data": data_id, "digest": nonce.key if nonce else "", "now": now}
    record = await (await _driver(conn)).fetchrow(_READ.sql, *_READ.args(params))
    row = SimpleNamespace(**dict(record))
    return Read(bool(row.replayed), row if row.version is not None else None)


async def write(
    conn: AsyncConnection,
    wb: WriteBack,
    outcome: Outcome,
    *,
    version: str,
    nonce: Nonce | None,
    now: datetime,
) -> bool:
    """Apply the write-back if the record is still ``version``; False when it is not."""
    params: dict[str, Any] = {
        "vdn": wb.vdn_id,
        "data": wb.data_id,
        "version": int(version),
        "result_id": wb.result_id,
        "campaign_id": wb.campaign_id,
        "attempt_no": wb.attempt_no,
        "called": wb.called,
        "busi_result": wb.busi_result,
        "sub_status": wb.sub_status,
        "busi_result_desc": wb.busi_result_desc,
        "work_no": wb.work_no,
        "now": now,
        "resched": outcome.reschedule,
        **schedule_values(outcome, now),
    }
    statement = _WRITE
    if nonce is not None:
        statement = _WRITE_WITH_NONCE
        params.update(digest=nonce.key, expires=nonce.expires_at)
    updated = await (await _driver(conn)).fetchval(statement.sql, *statement.args(params))
    return bool(updated)
