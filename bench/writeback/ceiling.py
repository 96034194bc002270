"""The transport's ceiling: the write-back benchmark's server with a null application.

    .venv/bin/python bench/writeback/ceiling.py            # PostgreSQL: pgbench, then the
                                                           # workers run.py would start, 15 s
                                                           # of wrk, 30 s at half that peak
    .venv/bin/python bench/writeback/ceiling.py --short    # SQLite settings: 1 worker, 5 s
    .venv/bin/python bench/writeback/ceiling.py --real-rate 2234 --postgres-us 211

``openisales serve`` started as ``run.py`` starts it (TLS with its self-signed
certificate, the protocol class and limits, the workers), with one change:
its application is ``nullapp.py``'s, which answers every request with a
write-back's success bytes and does nothing else. The same wrk load, the same
open-loop generator; then the ceiling those costs put on a real write-back.
See README.md next to this file.
"""

from __future__ import annotations

import functools
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

# This script's modules come from its directory (sys.path[0]); bench/common from bench/.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import dataset
import options
import report
import run
import transport
from dataset import ResultCount

from common.harness import exit_on_sigterm, step, work_directory, write_record
from common.server import ServerProcess

NULL_APP = Path(__file__).with_name("nullapp.py")
# The null server answers several times faster than a write-back: more pre-signed requests
# (and so records, one each, although nothing is written) than run.py's.
PRESIGN_PER_S = 40_000
SHORT_ROWS = 200_000


def parse_args(argv: list[str] | None) -> tuple[options.Options, float | None, float | None]:
    p = options.build_parser(__doc__, ab=False, short_rows=SHORT_ROWS)
    p.add_argument(
        "--real-rate",
        type=float,
        default=None,
        metavar="R",
        help="the real write-back's rate at saturation (run.py's write-backs/s):\n"
        "one more open-loop run, at --open-loop-share of R",
    )
    p.add_argument(
        "--postgres-us",
        type=float,
        default=None,
        metavar="U",
        help="PostgreSQL's CPU per real write-back (run.py's 'CPU each', µs): a second\n"
        "ceiling with U (the first takes pgbench's CPU per transaction, a lower bound)",
    )
    a = p.parse_args(argv)
    opts = replace(options.from_args(p, a), presign_per_s=PRESIGN_PER_S)
    if (a.real_rate is not None and a.real_rate <= 0) or (
        a.postgres_us is not None and a.postgres_us <= 0
    ):
        p.error("--real-rate and --postgres-us must be positive")
    return opts, a.real_rate, a.postgres_us


def drive_null(
    opts: options.Options,
    env: dict[str, str],
    work: Path,
    *,
    real_rate: float | None,
    count: Callable[[], ResultCount],
    settle: Callable[[], None] | None = None,
    database: str | None = None,
) -> tuple[report.HttpRun, tuple[tuple[str, report.OpenLoopPhase], ...]]:
    """The null server under wrk, then open loops at a share of its peak and of ``real_rate``."""
    step(
        f"starting the null server (serve with nullapp.py, {opts.workers} workers,"
        f" {'no TLS' if opts.no_tls else 'TLS'})"
    )
    share = f"{opts.open_loop_share:.0%}"
    loops = []
    with ServerProcess(
        env, workers=opts.workers, log=work / "server.log", tls=not opts.no_tls, launcher=NULL_APP
    ) as server:
        http = run.saturate(opts, server, work, count=count, settle=settle)
        peaks = [(f"{share} of the null server's peak", http.wrk.rate)]
        if real_rate:
            peaks.append((f"{share} of the real write-back's peak ({real_rate:,.0f}/s)", real_rate))
        for label, peak in peaks if opts.open_loop else []:
            phase = run.drive_open_loop(opts, server, peak, work, count, settle, database)
            loops.append((label, phase))
        step("stopping the server")
        server.stop()
        after = count()
    return replace(http, rows_after=after), tuple(loops)


def settings(opts: options.Options, real_rate: float | None) -> dict[str, object]:
    return run.base_settings(opts, "unused: no application") | {
        "http_server": "uvicorn: openisales serve with nullapp.py's application",
        "application": transport.APPLICATION,
        "real_rate": real_rate,
    }


def measure(opts: options.Options, work: Path, real_rate: float | None) -> transport.Measurement:
    if opts.engine == "sqlite":
        database, env = run.prepare_sqlite(opts, work)
        count = functools.partial(dataset.sqlite_results, database)
        http, loops = drive_null(opts, env, work, real_rate=real_rate, count=count)
        machine = run.machine_info(f"SQLite {sqlite3.sqlite_version}")
        return transport.Measurement("sqlite", settings(opts, real_rate), machine, http, loops)
    pg, env = run.prepare_postgres(opts, work)
    pgb, pgb_cpu, busy = run.run_pgbench(opts, pg)
    http, loops = drive_null(
        opts,
        env,
        work,
        real_rate=real_rate,
        count=pg.server_results,
        settle=pg.checkpoint,
        database=pg.dbname,
    )
    machine = run.machine_info(f"PostgreSQL {pg.setting('server_version')}")
    return transport.Measurement(
        "postgres", settings(opts, real_rate), machine, http, loops, pgb, pgb_cpu, busy
    )


def main(argv: list[str] | None = None) -> int:
    opts, real_rate, postgres_us = parse_args(argv)
    exit_on_sigterm()
    with work_directory("openisales-ceiling-", keep=opts.keep) as work:
        started = datetime.now(UTC)
        try:
            measurement = replace(measure(opts, work, real_rate), started=started)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            step(f"benchmark aborted: {exc}")
            return 2
    doc = transport.document(measurement, postgres_us)
    path = write_record(doc, f"ceiling-{opts.engine}", started)
    if measurement.http.profile:
        print(measurement.http.profile)
    print(transport.summary(doc, path))
    return 1 if doc["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
