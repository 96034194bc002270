"""Imports started from the console, run in the background of the server process.

An upload becomes an import job (``t_isl_import_job``): the file is kept in the
data directory until the job ends, and :func:`openisales.importing.run` -- the
same machinery as ``openisales import``, with its checks, codes and single
transaction -- loads it **in a thread of its own, with its own event loop and
a one-connection engine**. Checking a 50 MB file takes seconds of CPU; run on
the server's event loop it would stall every page and API request meanwhile.
The job's asyncio task, held here, waits for the thread, then stores the
outcome and the refused rows (``t_isl_import_reject``, the first
:data:`REJECTS_KEPT`).

While an import runs, its progress lives in memory (:class:`Progress`, which is
the import's reporter). On PostgreSQL the task also writes it to the job's row
every :data:`HEARTBEAT_S` seconds, so that every server process shows it, and
the row's ``updated_at`` is the job's heartbeat: a job whose heartbeat is older
than :data:`STALE_S` died with its process (its transaction rolled back) and
is marked failed. SQLite is one process, and the import holds its write lock:
there, the process's own list of running jobs tells which are alive.

One import runs per VDN at a time; :data:`KEEP_JOBS` jobs are kept per VDN.
On shutdown the server waits for a running import to end.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from openisales import importing
from openisales.clock import Clock
from openisales.config import Settings
from openisales.domain.import_rows import RowError
from openisales.errors import OpenISalesError
from openisales.files import create_private_file, private_dir
from openisales.services.audit import Actor
from openisales.store import import_jobs as store
from openisales.store.campaigns import lock_vdn
from openisales.store.engine import create_engine
from openisales.store.ids import IdAllocator
from openisales.store.sql import reading, transaction

log = logging.getLogger("openisales.console.import")

MODES = {"all": "all or nothing", "skip-bad": "load the good rows", "check": "check only"}
KEEP_JOBS = 20
REJECTS_KEPT = 100_000
SHOWN_REJECTS = 20
HEARTBEAT_S = 2.0
STALE_S = 30.0
SUFFIXES = (".csv", ".txt", ".xlsx")
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


class Busy(Exception):
    """The VDN already runs an import."""


class Progress:
    """The import's reporter: what the job page shows while it runs.

    Written by the import's thread, read by the server's loop (plain values).
    Every refused row goes to a spool file, stored once the import ends.
    """

    def __init__(self) -> None:
        self.phase_text = "starting"
        self.total = 0
        self.unit = "rows"
        self.done = 0
        self.refused = 0
        self.first: list[RowError] = []
        self.spool = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")
        self._writer = csv.writer(self.spool)

    def start(self, total: int, unit: str) -> None:
        self.total, self.unit = total, unit

    def advance(self, done: int) -> None:
        self.done = done

    def refuse(self, error: RowError) -> None:
        self.refused += 1
        if len(self.first) < SHOWN_REJECTS:
            self.first.append(error)
        if self.refused <= REJECTS_KEPT:
            self._writer.writerow([error.line, error.field, error.code, error.message])

    def phase(self, text: str) -> None:
        self.phase_text = text

    def rejects(self) -> list[store.Reject]:
        self.spool.seek(0)
        seen: set[int] = set()
        out = []
        for line, name, code, message in csv.reader(self.spool):
            if int(line) not in seen:
                seen.add(int(line))
                out.append(store.Reject(int(line), name[:64], code[:16], message[:500]))
        return out


@dataclass
class Running:
    job: store.Job
    progress: Progress
    task: asyncio.Task[None] | None = None

    def live(self) -> store.Job:
        """The job as it stands now (its row's figures refreshed from memory)."""
        p = self.progress
        return replace(
            self.job,
            phase=p.phase_text,
            progress_done=p.done,
            progress_total=p.total,
            rows_refused=p.refused,
        )


@dataclass
class Upload:
    vdn_id: int
    campaign_id: int
    file_name: str
    content: bytes
    version: int
    mode: str


@dataclass
class Imports:
    """The import jobs this process runs (one registry per application)."""

    running: dict[tuple[int, int], Running] = field(default_factory=dict)

    def get(self, vdn_id: int, job_id: int) -> Running | None:
        return self.running.get((vdn_id, job_id))

    async def wait(self) -> None:
        """Until every import this process runs has ended (for tests and shutdown)."""
        while self.running:
            tasks = [r.task for r in self.running.values() if r.task is not None]
            await asyncio.gather(*tasks, return_exceptions=True)


def safe_name(name: str) -> str:
    """The uploaded file's base name, reduced to harmless characters (its suffix kept)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    suffix = "." + _UNSAFE.sub("_", ext.lower())[:10] if dot else ""
    stem = _UNSAFE.sub("_", stem if dot else ext).strip(" .")[:100] or "upload"
    return stem + suffix


def alive(job: store.Job, imports: Imports, *, embedded: bool, now: datetime) -> bool:
    """Whether a job marked running still runs (see the module docstring)."""
    if job.status != store.RUNNING:
        return False
    if imports.get(job.vdn_id, job.job_id) is not None:
        return True
    return not embedded and job.updated_at > now - timedelta(seconds=STALE_S)


def shown(job: store.Job, imports: Imports, *, embedded: bool, now: datetime) -> store.Job:
    """The job for display: live figures while this process runs it, a dead one as failed."""
    running = imports.get(job.vdn_id, job.job_id)
    if running is not None:
        return running.live()
    if job.status == store.RUNNING and not alive(job, imports, embedded=embedded, now=now):
        return replace(job, status=store.FAILED, result_desc=INTERRUPTED)
    return job


INTERRUPTED = "interrupted: the server stopped while the import ran (its transaction rolled back)"


async def start(
    imports: Imports,
    *,
    settings: Settings,
    engine: Any,
    ids: IdAllocator,
    clock: Clock,
    actor: Actor,
    upload: Upload,
) -> store.Job:
    """Record the job and start it; :class:`Busy` when the VDN already runs one."""
    now = clock.now()
    (job_id,) = await ids.take(upload.vdn_id, "import_job")
    name = safe_name(upload.file_name)
    job = store.Job(
        vdn_id=upload.vdn_id,
        job_id=job_id,
        campaign_id=upload.campaign_id,
        file_name=name,
        actor=str(actor),
        version=upload.version,
        mode=upload.mode,
        status=store.RUNNING,
        phase="queued",
        progress_done=0,
        progress_total=0,
        rows_read=0,
        rows_valid=0,
        rows_loaded=0,
        rows_refused=0,
        result_code=None,
        result_desc=None,
        created_at=now,
        updated_at=now,
        finished_at=None,
    )
    async with transaction(engine) as conn:
        await lock_vdn(conn, upload.vdn_id)  # one import starts at a time per VDN
        for other in await store.recent(conn, upload.vdn_id, KEEP_JOBS + 5):
            if other.status != store.RUNNING:
                continue
            if alive(other, imports, embedded=settings.embedded, now=now):
                raise Busy(
                    f"import {other.job_id} of this VDN is still running; "
                    "start another once it has ended"
                )
            await store.update(
                conn,
                upload.vdn_id,
                other.job_id,
                status=store.FAILED,
                result_desc=INTERRUPTED,
                finished_at=now,
            )
        await store.insert(conn, job)
        await store.prune(conn, upload.vdn_id, KEEP_JOBS)
    folder = settings.data_dir / "imports" / f"{upload.vdn_id}-{job_id}"
    path = folder / name
    try:
        private_dir(folder)
        os.close(create_private_file(path, exclusive=True))
        path.write_bytes(upload.content)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        async with transaction(engine) as conn:
            await store.update(
                conn,
                upload.vdn_id,
                job_id,
                status=store.FAILED,
                result_desc=f"the upload could not be kept: {exc.strerror or exc}"[:500],
                finished_at=clock.now(),
            )
        return job
    running = Running(job, Progress())
    imports.running[(upload.vdn_id, job_id)] = running
    running.task = asyncio.create_task(
        _supervise(imports, running, settings, engine, clock, actor, path),
        name=f"console import {upload.vdn_id}/{job_id}",
    )
    return job


def _request(job: store.Job, path: Path, settings: Settings) -> importing.ImportRequest:
    return importing.ImportRequest(
        vdn_id=job.vdn_id,
        campaign_id=job.campaign_id,
        path=path,
        version=job.version,
        skip_bad=job.mode == "skip-bad",
        check_only=job.mode == "check",
        max_unfinished=settings.max_unfinished_per_campaign,
    )


def _in_thread(
    settings: Settings, clock: Clock, actor: Actor, request: importing.ImportRequest, p: Progress
) -> importing.Outcome:
    async def run() -> importing.Outcome:
        engine = create_engine(
            settings.effective_database_url, pool_size=1, pool_timeout=settings.db_pool_timeout_s
        )
        try:
            return await importing.run(
                engine, IdAllocator(engine), request, clock=clock, actor=actor, reporter=p
            )
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def _supervise(
    imports: Imports,
    running: Running,
    settings: Settings,
    engine: Any,
    clock: Clock,
    actor: Actor,
    path: Path,
) -> None:
    job, progress = running.job, running.progress
    request = _request(job, path, settings)
    work = asyncio.ensure_future(
        asyncio.to_thread(_in_thread, settings, clock, actor, request, progress)
    )
    try:
        while not work.done():
            await asyncio.wait({work}, timeout=HEARTBEAT_S)
            if not work.done() and not settings.embedded:
                await _beat(engine, running, clock.now())
        values = _finished(job, progress, work)
        kept = progress.rejects()
        async with transaction(engine) as conn:
            for i in range(0, len(kept), 1_000):
                await store.add_rejects(conn, job.vdn_id, job.job_id, kept[i : i + 1_000])
            await store.update(conn, job.vdn_id, job.job_id, finished_at=clock.now(), **values)
    except Exception:
        log.exception("console import %s/%s: recording its outcome failed", job.vdn_id, job.job_id)
    finally:
        progress.spool.close()
        shutil.rmtree(path.parent, ignore_errors=True)
        imports.running.pop((job.vdn_id, job.job_id), None)


async def _beat(engine: Any, running: Running, now: datetime) -> None:
    live = running.live()
    try:
        async with transaction(engine) as conn:
            await store.update(
                conn,
                live.vdn_id,
                live.job_id,
                phase=live.phase[:32],
                progress_done=live.progress_done,
                progress_total=live.progress_total,
                rows_refused=live.rows_refused,
                updated_at=now,
            )
    except OpenISalesError:
        log.warning("console import %s/%s: heartbeat not written", live.vdn_id, live.job_id)


def _finished(job: store.Job, progress: Progress, work: asyncio.Future[Any]) -> dict[str, Any]:
    """The job row's final values from the thread's outcome or failure."""
    base: dict[str, Any] = {
        "phase": "finished",
        "progress_done": progress.total or progress.done,
        "progress_total": progress.total,
        "rows_refused": progress.refused,
    }
    exc = work.exception()
    if isinstance(exc, importing.ImportFileError):
        text = str(exc).split(": ", 1)[-1] if ": " in str(exc) else str(exc)
        return base | {"status": store.FAILED, "result_desc": f"file refused: {text}"[:500]}
    if isinstance(exc, OpenISalesError):
        return base | {
            "status": store.FAILED,
            "result_code": exc.result_code,
            "result_desc": exc.description[:500],
        }
    if exc is not None:
        log.error("console import %s/%s failed", job.vdn_id, job.job_id, exc_info=exc)
        return base | {"status": store.FAILED, "result_desc": "the import failed (see the log)"}
    outcome: importing.Outcome = work.result()
    counts = {
        "rows_read": outcome.read,
        "rows_valid": outcome.valid,
        "rows_loaded": outcome.loaded,
        "rows_refused": outcome.refused,
    }
    if outcome.refusal is not None:
        return (
            base
            | counts
            | {
                "status": store.FAILED,
                "result_code": outcome.refusal.result_code,
                "result_desc": f"nothing loaded: {outcome.refusal.description}"[:500],
            }
        )
    if outcome.refused and job.mode != "skip-bad":
        what = "the check failed" if job.mode == "check" else "nothing loaded"
        return (
            base
            | counts
            | {
                "status": store.FAILED,
                "result_desc": f"{what}: {outcome.refused:,} bad row(s); fix them, "
                "or load the others with “load the good rows”",
            }
        )
    if job.mode == "check":
        text = f"check passed: {outcome.valid:,} row(s) can be loaded"
    else:
        text = f"{outcome.loaded:,} record(s) added to campaign {job.campaign_id}"
    return base | counts | {"status": store.DONE, "result_desc": text}


async def job_of(engine: Any, vdn_id: int, job_id: int) -> store.Job | None:
    async with reading(engine) as conn:
        return await store.get(conn, vdn_id, job_id)


async def recent(engine: Any, vdn_id: int, limit: int = KEEP_JOBS) -> list[store.Job]:
    async with reading(engine) as conn:
        return await store.recent(conn, vdn_id, limit)
