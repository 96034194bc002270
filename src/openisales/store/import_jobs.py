"""SQL of the console's import jobs (``t_isl_import_job``) and their refused rows
(``t_isl_import_reject``); every statement by primary key or its prefix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.store.tables import import_job as job, import_reject as reject

RUNNING, DONE, FAILED = "running", "done", "failed"


@dataclass(frozen=True)
class Job:
    vdn_id: int
    job_id: int
    campaign_id: int
    file_name: str
    actor: str
    version: int
    mode: str
    status: str
    phase: str
    progress_done: int
    progress_total: int
    rows_read: int
    rows_valid: int
    rows_loaded: int
    rows_refused: int
    result_code: str | None
    result_desc: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Reject:
    line: int
    field: str
    code: str
    message: str


def _job(row: Any) -> Job:
    return Job(**row._asdict())


def _key(vdn_id: int, job_id: int) -> tuple[sa.ColumnElement[bool], ...]:
    return (job.c.vdn_id == vdn_id, job.c.job_id == job_id)


async def insert(conn: AsyncConnection, item: Job) -> None:
    await conn.execute(sa.insert(job).values(**item.__dict__))


async def get(conn: AsyncConnection, vdn_id: int, job_id: int) -> Job | None:
    row = (await conn.execute(sa.select(job).where(*_key(vdn_id, job_id)))).first()
    return _job(row) if row else None


async def recent(conn: AsyncConnection, vdn_id: int, limit: int) -> list[Job]:
    """The VDN's newest jobs first."""
    stmt = sa.select(job).where(job.c.vdn_id == vdn_id).order_by(job.c.job_id.desc()).limit(limit)
    return [_job(r) for r in await conn.execute(stmt)]


async def update(conn: AsyncConnection, vdn_id: int, job_id: int, **values: Any) -> None:
    await conn.execute(sa.update(job).where(*_key(vdn_id, job_id)).values(**values))


async def add_rejects(
    conn: AsyncConnection, vdn_id: int, job_id: int, rows: Sequence[Reject]
) -> None:
    if rows:
        await conn.execute(
            sa.insert(reject),
            [{"vdn_id": vdn_id, "job_id": job_id, **r.__dict__} for r in rows],
        )


async def rejects(
    conn: AsyncConnection, vdn_id: int, job_id: int, after: int, limit: int
) -> list[Reject]:
    """Refused rows after line ``after``, in line order."""
    stmt = (
        sa.select(reject.c.line, reject.c.field, reject.c.code, reject.c.message)
        .where(reject.c.vdn_id == vdn_id, reject.c.job_id == job_id, reject.c.line > after)
        .order_by(reject.c.line)
        .limit(limit)
    )
    return [Reject(r.line, r.field, r.code, r.message) for r in await conn.execute(stmt)]


async def prune(conn: AsyncConnection, vdn_id: int, keep: int) -> int:
    """Forget the VDN's finished jobs beyond the ``keep`` newest, with their rows; how many."""
    stmt = (
        sa.select(job.c.job_id)
        .where(job.c.vdn_id == vdn_id)
        .order_by(job.c.job_id.desc())
        .offset(keep)
        .limit(100)
    )
    old = [r.job_id for r in await conn.execute(stmt)]
    old_done = (
        [
            r.job_id
            for r in await conn.execute(
                sa.select(job.c.job_id).where(
                    job.c.vdn_id == vdn_id, job.c.job_id.in_(old), job.c.status != RUNNING
                )
            )
        ]
        if old
        else []
    )
    if not old_done:
        return 0
    await conn.execute(
        sa.delete(reject).where(reject.c.vdn_id == vdn_id, reject.c.job_id.in_(old_done))
    )
    await conn.execute(sa.delete(job).where(job.c.vdn_id == vdn_id, job.c.job_id.in_(old_done)))
    return len(old_done)
