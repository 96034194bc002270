"""Dispatch throughput: `openisales worker` processes against PostgreSQL's raw claim rate.

    .venv/bin/python bench/dispatch/run.py            # PostgreSQL, 200,000 records, 2 workers
    .venv/bin/python bench/dispatch/run.py --short    # SQLite, 10,000 records, 1 worker

See README.md next to this file for what is measured and how.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

# This script's modules come from its directory (sys.path[0]); bench/common from bench/.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import analysis
import asyncpg
import baseline
import dataset
import report
from cpu import CpuMeter
from dataset import Postgres, Workload
from workers import WorkerPool

from common import cli, machine, spy
from common.harness import exit_on_sigterm, step, work_directory, write_record

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/openisales_bench_dispatch"
PACED_LEAD_S = 5.0  # --due-spread: the first record falls due this long after loading


@dataclass(frozen=True)
class Options:
    engine: str
    records: int
    workers: int
    retry_interval: int
    claim_batch: int
    pg_url: str
    timeout: float
    quiet_wait: float
    profile: int  # seconds of py-spy (0: none)
    due_spread: float  # seconds over which the records fall due (0: all due at once)
    keep: bool

    @property
    def experiments(self) -> list[str]:
        found = []
        if self.due_spread:
            found.append(f"paced arrivals: records fall due over {self.due_spread:g} s")
        return found


def parse_args(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--records", type=int, default=None, help="due records (200,000; 10,000 short)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (2; 1 on SQLite)")
    p.add_argument("--retry-interval", type=int, default=2, help="callInterval of the retry (s)")
    p.add_argument("--claim-batch", type=int, default=500, help="OPENISALES_CLAIM_BATCH")
    p.add_argument("--pg-url", default=DEFAULT_PG_URL, help="database to (re)create and use")
    p.add_argument("--short", action="store_true", help="SQLite, 10,000 records, one worker")
    p.add_argument("--timeout", type=float, default=600, help="give the workers this long (s)")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=60,
        help="wait up to this long for an idle machine before each phase (0: don't)",
    )
    p.add_argument(
        "--profile", type=int, default=0, metavar="S", help="py-spy the workers for S seconds"
    )
    p.add_argument(
        "--due-spread",
        type=float,
        default=0,
        metavar="S",
        help="experiment: records fall due evenly over S seconds instead of all at once",
    )
    p.add_argument("--keep", action="store_true", help="keep the work directory (worker logs)")
    a = p.parse_args(argv)
    engine = "sqlite" if a.short else "postgres"
    opts = Options(
        engine=engine,
        records=a.records or (10_000 if a.short else 200_000),
        workers=a.workers or (1 if a.short else 2),
        retry_interval=a.retry_interval,
        claim_batch=a.claim_batch,
        pg_url=a.pg_url,
        timeout=a.timeout,
        quiet_wait=a.quiet_wait,
        profile=a.profile,
        due_spread=a.due_spread,
        keep=a.keep,
    )
    if not 1 <= opts.records <= dataset.MAX_RECORDS:
        p.error(f"--records must be within 1..{dataset.MAX_RECORDS:,}")
    if opts.workers < 1 or opts.claim_batch < 1 or opts.retry_interval < 0:
        p.error("--workers and --claim-batch must be positive, --retry-interval >= 0")
    if engine == "sqlite" and (opts.workers != 1 or opts.experiments):
        p.error("--short runs one worker on SQLite, without experiments")
    return opts


def quiet(opts: Options, phase: str) -> None:
    """Wait (up to --quiet-wait) for two seconds in which the machine is nearly idle."""
    if opts.quiet_wait > 0:
        busy = machine.wait_for_quiet(limit=opts.quiet_wait)
        step(f"busy cores before {phase}: {busy:.2f}")


def worker_env(opts: Options, base: dict[str, str]) -> dict[str, str]:
    return base | {
        "OPENISALES_CLAIM_BATCH": str(opts.claim_batch),
        "OPENISALES_LOG_LEVEL": "warning",
        "OPENISALES_LOG_FORMAT": "json",
    }


@dataclass(frozen=True)
class WorkerRun:
    cpu: machine.CpuUsage
    timed_out: bool
    profile: str | None
    errors: list[str]  # worker log lines at level ERROR or above


async def drive_workers(
    opts: Options, env: dict[str, str], work: Path, open_records: Callable[[], Awaitable[int]]
) -> WorkerRun:
    """Start the workers, wait until no record is waiting or being called, stop them."""
    meter = CpuMeter()
    profiler: spy.Profiler | None = None
    step(f"starting {opts.workers} worker(s); waiting for every record to be dialled")
    with WorkerPool(opts.workers, env, work / "logs") as pool:
        meter.workers = set(pool.pids)
        meter.start()
        try:
            if opts.profile:
                outputs = {pid: work / f"py-spy-{pid}.txt" for pid in pool.pids}
                profiler = spy.Profiler(
                    outputs, duration=opts.profile, rate=100, flags=("--nonblocking", "--idle")
                )
            timed_out = await _wait_done(opts, pool, open_records, profiler)
            cpu = meter.stop()
        except BaseException:
            if profiler is not None:
                profiler.finish(wait=False)
            raise
        if profiler is not None:
            step("waiting for py-spy to finish its recording")
            profiler.finish()
        step("stopping the workers")
    errors = pool.errors()
    profile = None
    if profiler is not None:
        recorded = [raw for raw in profiler.outputs if raw.exists()]
        what = "(on- and off-CPU) of the workers' Python stacks"
        profile = spy.summarise(recorded, what=what, top=25)
    return WorkerRun(cpu, timed_out, profile, errors)


async def _wait_done(
    opts: Options,
    pool: WorkerPool,
    open_records: Callable[[], Awaitable[int]],
    profiler: spy.Profiler | None,
) -> bool:
    """Poll once a second; True when --timeout ran out first."""
    start = time.monotonic()
    last_note = start
    while True:
        await asyncio.sleep(1.0)
        if pool.exited():
            raise RuntimeError(f"a worker exited early: {pool.exited()}\n{pool.log_tail()}")
        elapsed = time.monotonic() - start
        if profiler is not None and not profiler.started and elapsed >= 3:
            profiler.start()  # after the workers' start-up, during the backlog
        left = await open_records()
        if left == 0:
            return False
        if elapsed >= opts.timeout:
            step(f"timeout: {left:,} records still open")
            return True
        if time.monotonic() - last_note >= 15:
            step(f"{left:,} records still open after {elapsed:.0f} s")
            last_note = time.monotonic()


def settings_of(opts: Options) -> dict[str, object]:
    return {
        "records": opts.records,
        "workers": opts.workers,
        "claim_batch": opts.claim_batch,
        "retry_interval_s": opts.retry_interval,
        "due_spread_s": opts.due_spread,
        "answered_share": Workload(opts.records, opts.retry_interval).answered_share,
        "revision": machine.git_revision(),
        "experiment": "; ".join(opts.experiments) or None,
        "command": " ".join([".venv/bin/python", "bench/dispatch/run.py", *sys.argv[1:]]),
    }


def revision_notes(settings: dict[str, object]) -> list[str]:
    """Others commit to this checkout: say so when src/ moved while the run went on."""
    now = machine.git_revision()
    if now == settings["revision"]:
        return []
    return [f"src/ changed during the run: {settings['revision']} at the start, {now} at the end"]


async def bench_postgres(opts: Options, work: Path) -> report.Measurement:
    settings = settings_of(opts)  # the revision the workers will run
    pg = Postgres(opts.pg_url)
    workload = Workload(opts.records, opts.retry_interval)
    step(f"recreating {pg.dbname}")
    await pg.recreate()
    env = cli.postgres_env(opts.pg_url)
    cli.provision(env, dataset.VDN_ID)
    step(f"loading {opts.records:,} due records")
    await pg.load(workload, datetime.now(UTC))
    quiet(opts, "the baseline")
    step(f"baseline: dispatch.claim's statements raw, 2 clients, batch {opts.claim_batch}")
    base = await baseline.run(opts.pg_url, clients=2, batch=opts.claim_batch)
    step(f"baseline: {base.rate:,.1f} claims/s; reloading the records")
    quiet(opts, "the workers")
    # Paced arrivals start a little after the workers do; a backlog is due at once.
    due = datetime.now(UTC) + timedelta(seconds=PACED_LEAD_S if opts.due_spread else 0)
    await pg.reload_records(opts.records, due, opts.due_spread)
    run = await drive_workers(opts, worker_env(opts, env), work, pg.open_records)
    notes = revision_notes(settings)
    if ended := await pg.end_backends():
        step(f"ended {ended} PostgreSQL session(s) that the stopped workers left running")
        notes.append(f"{ended} worker session(s) still running a statement at the end were ended")
    step("reading the attempts back")
    got = await analysis.read_postgres(opts.pg_url)
    settings |= {
        "postgres": {
            name: await pg.setting(name)
            for name in ("shared_buffers", "synchronous_commit", "fsync", "work_mem")
        }
    }
    return report.Measurement(
        engine="postgres",
        settings=settings,
        machine=machine.describe(f"PostgreSQL {await pg.setting('server_version')}", memory=False),
        timing=analysis.timing(
            got.attempts,
            due=due.timestamp(),
            interval_s=opts.retry_interval,
            due_step=dataset.due_step(opts.records, opts.due_spread),
            retries_first=got.retries_first,
        ),
        integrity=analysis.integrity(got.attempts, got.records),
        worker_cpu=run.cpu,
        timed_out=run.timed_out,
        baseline=base,
        baseline_cpu=base.cpu,
        profile=run.profile,
        notes=notes,
        worker_errors=run.errors,
    )


async def bench_sqlite(opts: Options, work: Path) -> report.Measurement:
    settings = settings_of(opts)  # the revision the worker will run
    data_dir = work / "data"
    env = cli.clean_env() | {"OPENISALES_DATA_DIR": str(data_dir)}
    step("creating the embedded database")
    cli.provision(env, dataset.VDN_ID)
    database = data_dir / "openisales.db"
    step(f"loading {opts.records:,} due records")
    due = datetime.now(UTC)
    dataset.load_sqlite(database, Workload(opts.records, opts.retry_interval), due)
    quiet(opts, "the worker")

    async def open_records() -> int:
        return dataset.sqlite_open_records(database)

    run = await drive_workers(opts, worker_env(opts, env), work, open_records)
    got = analysis.read_sqlite(database)
    return report.Measurement(
        engine="sqlite",
        settings=settings,
        machine=machine.describe(f"SQLite {sqlite3.sqlite_version}", memory=False),
        timing=analysis.timing(
            got.attempts,
            due=due.timestamp(),
            interval_s=opts.retry_interval,
            retries_first=got.retries_first,
        ),
        integrity=analysis.integrity(got.attempts, got.records),
        worker_cpu=run.cpu,
        timed_out=run.timed_out,
        profile=run.profile,
        notes=revision_notes(settings),
        worker_errors=run.errors,
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    exit_on_sigterm()
    with work_directory("openisales-bench-dispatch-", keep=opts.keep) as work:
        started = datetime.now(UTC)
        try:
            bench = bench_postgres if opts.engine == "postgres" else bench_sqlite
            measurement = replace(asyncio.run(bench(opts, work)), started=started)
        except (
            RuntimeError,
            ValueError,
            OSError,
            subprocess.SubprocessError,
            asyncpg.PostgresError,
        ) as exc:
            step(f"benchmark aborted: {exc}")
            return 2
    doc = report.document(measurement)
    path = write_record(doc, "dispatch", measurement.started)
    if measurement.profile:
        print(measurement.profile)
    print(report.summary(doc, path))
    return 1 if doc["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
