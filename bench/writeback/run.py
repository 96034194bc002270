"""Write-back throughput: openisales' callBusiResult against pgbench's equivalent transaction.

    .venv/bin/python bench/writeback/run.py                # PostgreSQL, 1,000,000 rows, 15 s
                                                           # + 30 s at half the peak rate
    .venv/bin/python bench/writeback/run.py --short        # SQLite, 20,000 rows, 5 s

See README.md next to this file for what is measured and how.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

# This script's modules come from its directory (sys.path[0]); bench/common from bench/.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import baseline
import components
import dataset
import loadgen
import report
from cpu import CpuSampler
from dataset import Postgres, ResultCount
from options import Options, parse_args

from common import cli, machine, spy
from common.harness import exit_on_sigterm, step, work_directory, write_record
from common.server import ServerProcess


def quiet(opts: Options, phase: str) -> float | None:
    """Busy cores just before ``phase`` after waiting for the machine to calm down."""
    if opts.quiet_wait <= 0:
        return None
    step(f"waiting for an idle machine before {phase} (up to {opts.quiet_wait:.0f} s)")
    busy = machine.wait_for_quiet(limit=opts.quiet_wait)
    step(f"busy cores before {phase}: {busy:.2f}")
    return round(busy, 2)


def machine_info(database: str) -> dict[str, object]:
    return machine.describe(database) | {"wrk": _wrk_version()}


def _wrk_version() -> str:
    done = subprocess.run(
        [loadgen.wrk_binary(), "--version"], capture_output=True, text=True, check=False
    )
    return (done.stdout + done.stderr).splitlines()[0].strip()


def base_settings(opts: Options, replay_guard: str) -> dict[str, object]:
    return {
        "rows": opts.rows,
        "duration_s": opts.duration,
        "connections": opts.connections,
        "server_workers": opts.workers,
        "wrk_threads": opts.wrk_threads,
        "tls": not opts.no_tls,
        "http_server": opts.server,
        "open_loop_s": opts.open_loop,
        "open_loop_share": opts.open_loop_share if opts.open_loop else None,
        "replay_guard": replay_guard,
        "requests_presigned": opts.requests,
        "warm_up_requests": opts.warm_up,
        "revision": machine.git_revision(),
    }


def drive_server(
    opts: Options,
    env: dict[str, str],
    work: Path,
    *,
    count: Callable[[], ResultCount],
    settle: Callable[[], None] | None = None,
    database: str | None = None,
) -> report.HttpRun:
    """Start the server, warm it up, replay the pre-signed requests, stop it, count rows.

    With ``--open-loop``, the same server then takes the constant-rate load.
    """
    server_name = "granian" if opts.server == "granian" else "serve"
    step(
        f"starting the server ({server_name}, {opts.workers} workers,"
        f" {'no TLS' if opts.no_tls else 'TLS'})"
    )
    open_loop: report.OpenLoopPhase | None = None
    with ServerProcess(
        env,
        workers=opts.workers,
        log=work / "server.log",
        tls=not opts.no_tls,
        server=opts.server,
    ) as server:
        http = saturate(opts, server, work, count=count, settle=settle)
        if opts.open_loop:
            after = settled(count)  # wrk's requests in flight at its stop, finished
            open_loop = drive_open_loop(opts, server, http.wrk.rate, work, count, settle, database)
            step("stopping the server (in-flight requests finish)")
            server.stop()
            open_loop = replace(open_loop, rows_after=count())
        else:
            step("stopping the server (in-flight requests finish)")
            server.stop()
            after = count()
    return replace(http, rows_after=after, open_loop=open_loop)


def saturate(
    opts: Options,
    server: ServerProcess,
    work: Path,
    *,
    count: Callable[[], ResultCount],
    settle: Callable[[], None] | None = None,
) -> report.HttpRun:
    """Warm the running server up, then wrk with the pre-signed requests (rows: before only)."""
    first_warm = opts.rows - opts.warm_up + 1
    step(f"warming up with {opts.warm_up} write-backs")
    loadgen.warm_up(server.base_url, list(range(first_warm, opts.rows + 1)), opts.connections)
    if settle is not None:
        settle()
    busy = quiet(opts, "the HTTP run")
    # Signed last: their timestamps must stay within the server's 15-minute window.
    requests_file = work / "requests.tsv"
    step(f"pre-signing {opts.requests:,} requests")
    loadgen.presign(requests_file, host=server.host_header, numbers=range(1, opts.requests + 1))
    before = count()
    step(f"wrk: {opts.connections} connections, {opts.duration} s")
    wrk, cpu, profile = replay(opts, server, requests_file, work)
    return report.HttpRun(wrk, before, before, cpu, profile, busy)


def settled(count: Callable[[], ResultCount], limit: float = 15.0) -> ResultCount:
    """The row count once it stopped changing for a second (or after ``limit`` s)."""
    deadline = time.monotonic() + limit
    last = count()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = count()
        if now.total == last.total:
            return now
        last = now
    return last


def drive_open_loop(
    opts: Options,
    server: ServerProcess,
    peak: float,
    work: Path,
    count: Callable[[], ResultCount],
    settle: Callable[[], None] | None,
    database: str | None,
) -> report.OpenLoopPhase:
    """Constant-rate load at ``open_loop_share`` of ``peak`` on records wrk did not use."""
    rate = opts.open_loop_share * peak
    needed = math.ceil(rate * opts.open_loop)
    first = opts.requests + 1
    available = opts.rows - opts.warm_up - opts.requests
    if needed > available:
        raise RuntimeError(
            f"the open-loop run needs {needed:,} records, {available:,} are left: raise --rows"
        )
    if settle is not None:
        settle()
    busy = quiet(opts, "the open-loop run")
    requests_file = work / "open-loop.tsv"
    step(f"pre-signing {needed:,} requests")
    loadgen.presign(requests_file, host=server.host_header, numbers=range(first, first + needed))
    before = count()
    step(
        f"open loop: {rate:,.1f} write-backs/s ({opts.open_loop_share:.0%} of {peak:,.1f}),"
        f" {opts.open_loop} s, up to {opts.connections} connections"
    )
    server.check_alive()
    raw_profile = work / "py-spy-open-loop.txt"
    with contextlib.ExitStack() as stack:
        if opts.profile:
            stack.enter_context(_profiler(server, raw_profile, opts.open_loop))
        sampler = stack.enter_context(CpuSampler(server_pid=server.pid, database=database))
        try:
            result = loadgen.run_open_loop(
                server.base_url,
                requests_file,
                host=server.host_header,
                rate=rate,
                duration=opts.open_loop,
                connections=opts.connections,
            )
        except RuntimeError:
            server.check_alive()
            raise
    assert sampler.result is not None
    profile = None
    if opts.profile:
        profile = _profile_summary(raw_profile, sampler.result, result.ok)
    return report.OpenLoopPhase(result, before, before, sampler.result, busy, profile)


def replay(
    opts: Options, server: ServerProcess, requests_file: Path, work: Path
) -> tuple[loadgen.WrkResult, machine.CpuUsage, str | None]:
    """wrk against the running server, with CPU accounting (and py-spy with --profile)."""
    raw_profile = work / "py-spy.txt"
    with contextlib.ExitStack() as stack:
        if opts.profile:
            stack.enter_context(_profiler(server, raw_profile, opts.duration))
        database = Postgres(opts.pg_url).dbname if opts.engine == "postgres" else None
        sampler = stack.enter_context(CpuSampler(server_pid=server.pid, database=database))
        server.check_alive()
        try:
            wrk = loadgen.run_wrk(
                server.base_url,
                requests_file,
                host=server.host_header,
                threads=opts.wrk_threads,
                connections=opts.connections,
                duration=opts.duration,
            )
        except RuntimeError:
            server.check_alive()  # a dead server explains a failed wrk better
            raise
    assert sampler.result is not None
    profile = None
    if opts.profile:
        profile = _profile_summary(raw_profile, sampler.result, wrk.ok + wrk.in_flight)
    return wrk, sampler.result, profile


def _profiler(server: ServerProcess, raw: Path, duration: float) -> spy.Profiler:
    """py-spy over the server's workers (on-CPU stacks only) for ``duration`` seconds."""
    flags = ("--subprocesses", "--nonblocking")
    return spy.Profiler({server.pid: raw}, duration=duration, rate=200, flags=flags)


def _profile_summary(raw: Path, used: machine.CpuUsage, writebacks: int) -> str:
    """The top functions and the components' microseconds per write-back."""
    server_us = used.groups["server"] * used.wall_s / max(1, writebacks) * 1e6
    what = "of on-CPU Python stacks in the server workers"
    return "\n".join([spy.summarise([raw], what=what, top=20), components.table([raw], server_us)])


def prepare_postgres(opts: Options, work: Path) -> tuple[Postgres, dict[str, str]]:
    """The database, recreated and loaded; the server's environment."""
    pg = Postgres(opts.pg_url)
    step(f"recreating {pg.dbname}")
    pg.recreate()
    env = cli.postgres_env(opts.pg_url) | {
        "OPENISALES_DATA_DIR": str(work / "data"),
        "OPENISALES_REPLAY_GUARD": "database",
    }
    dataset.provision(env)
    step(f"loading {opts.rows:,} call-data rows")
    pg.load(opts.rows)
    pg.settle()
    return pg, env


def run_pgbench(
    opts: Options, pg: Postgres
) -> tuple[baseline.PgbenchResult, machine.CpuUsage, float | None]:
    """The baseline with its CPU accounting and the busy cores before it; then vacuum."""
    busy = quiet(opts, "pgbench")
    step(f"pgbench: {opts.connections} clients, {opts.duration} s")
    with CpuSampler(database=pg.dbname) as sampler:
        pgb = baseline.run(
            opts.pg_url, rows=opts.rows, duration=opts.duration, clients=opts.connections
        )
    step(f"pgbench: {pgb.tps:,.1f} TPS; vacuum + checkpoint")
    pg.settle()
    assert sampler.result is not None
    return pgb, sampler.result, busy


def run_paced_pgbench(opts: Options, pg: Postgres, rate: float, work: Path) -> baseline.PacedResult:
    """pgbench at the open loop's rate, as long, with as many clients: the database alone."""
    pg.checkpoint()
    quiet(opts, "pgbench at the open loop's rate")
    step(f"pgbench at {rate:,.1f} TPS (-R), {opts.open_loop} s, {opts.connections} clients")
    paced = baseline.run_paced(
        opts.pg_url,
        rows=opts.rows,
        duration=opts.open_loop,
        clients=opts.connections,
        rate=rate,
        work=work,
    )
    pl = paced.latency_ms
    step(f"pgbench -R: p50 {pl.get('p50', 0):.2f} · p99 {pl.get('p99', 0):.2f} ms")
    return paced


def bench_postgres(opts: Options, work: Path) -> report.Measurement:
    pg, env = prepare_postgres(opts, work)
    pgb, pgb_cpu, busy = run_pgbench(opts, pg)
    http = drive_server(
        opts, env, work, count=pg.server_results, settle=pg.checkpoint, database=pg.dbname
    )
    paced = None
    if http.open_loop is not None:
        paced = run_paced_pgbench(opts, pg, http.open_loop.result.rate_target, work)
    settings = base_settings(opts, "database") | {
        "pgbench_clients": pgb.clients,
        "pgbench_threads": pgb.threads,
        "postgres": {
            name: pg.setting(name)
            for name in ("shared_buffers", "synchronous_commit", "max_connections", "fsync")
        },
    }
    return report.Measurement(
        engine="postgres",
        settings=settings,
        machine=machine_info(f"PostgreSQL {pg.setting('server_version')}"),
        http=http,
        pgbench=pgb,
        pgbench_cpu=pgb_cpu,
        pgbench_busy_before=busy,
        pgbench_paced=paced,
    )


def prepare_sqlite(opts: Options, work: Path) -> tuple[Path, dict[str, str]]:
    """The embedded database, created and loaded; the server's environment."""
    data_dir = work / "data"
    env = cli.clean_env() | {"OPENISALES_DATA_DIR": str(data_dir)}
    step("creating the embedded database")
    dataset.provision(env)
    database = data_dir / "openisales.db"
    step(f"loading {opts.rows:,} call-data rows")
    dataset.load_sqlite(database, opts.rows)
    return database, env


def bench_sqlite(opts: Options, work: Path) -> report.Measurement:
    database, env = prepare_sqlite(opts, work)
    http = drive_server(opts, env, work, count=lambda: dataset.sqlite_results(database))
    return report.Measurement(
        engine="sqlite",
        settings=base_settings(opts, "memory"),
        machine=machine_info(f"SQLite {sqlite3.sqlite_version}"),
        http=http,
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv, __doc__)
    exit_on_sigterm()
    with work_directory("openisales-bench-", keep=opts.keep) as work:
        started = datetime.now(UTC)
        try:
            run = bench_postgres if opts.engine == "postgres" else bench_sqlite
            measurement = replace(run(opts, work), started=started)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            step(f"benchmark aborted: {exc}")
            return 2
    doc = report.document(measurement)
    path = write_record(doc, f"writeback-{doc['engine']}", measurement.started)
    if measurement.http.profile:
        print(measurement.http.profile)
    if measurement.http.open_loop is not None and measurement.http.open_loop.profile:
        print("open loop:")
        print(measurement.http.open_loop.profile)
    print(report.summary(doc, path))
    return 1 if measurement.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
