"""The write-back benchmark's options: ``run.py``'s, which ``ceiling.py`` shares."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import dataset

from common import machine

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/openisales_bench"
REQUESTS_PER_SECOND_OF_RUN = 10_000  # pre-signed requests per second of --duration


@dataclass(frozen=True)
class Options:
    engine: str
    rows: int
    duration: int
    connections: int
    workers: int
    wrk_threads: int
    pg_url: str
    keep: bool
    profile: bool
    quiet_wait: float
    no_tls: bool = False
    open_loop: int = 0  # seconds of constant-rate load after the saturation run (0: none)
    open_loop_share: float = 0.5  # of the saturation run's rate
    server: str = "uvicorn"
    presign_per_s: int = REQUESTS_PER_SECOND_OF_RUN  # pre-signed requests per second of wrk

    @property
    def warm_up(self) -> int:
        return min(max(200, 10 * self.connections), self.rows // 10)

    @property
    def requests(self) -> int:
        """Pre-signed requests for wrk: generous, but each needs its own record.

        With an open-loop run, at most half of the records left, the rest are its.
        """
        left = self.rows - self.warm_up
        return min(self.duration * self.presign_per_s, left // 2 if self.open_loop else left)


def parse_args(argv: list[str] | None, description: str | None) -> Options:
    p = build_parser(description)
    return from_args(p, p.parse_args(argv))


def build_parser(
    description: str | None, *, ab: bool = True, short_rows: int = 20_000
) -> argparse.ArgumentParser:
    """The options of a run; ``ab``: with ``--server`` (the HTTP server A/B)."""
    p = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    p.set_defaults(short_rows=short_rows)
    p.add_argument("--engine", choices=["postgres", "sqlite"], default=None)
    p.add_argument("--rows", type=int, default=None, help="call-data rows (1,000,000)")
    p.add_argument("--duration", type=int, default=None, help="seconds per phase (15)")
    p.add_argument("--connections", type=int, default=32, help="HTTP connections = pgbench -c")
    p.add_argument(
        "--workers", type=int, default=None, help="server workers (half the cores; 1 on SQLite)"
    )
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--pg-url", default=DEFAULT_PG_URL, help="database to (re)create and use")
    p.add_argument("--short", action="store_true", help=f"SQLite, {short_rows:,} rows, 5 s")
    p.add_argument("--keep", action="store_true", help="keep the work directory (server log)")
    p.add_argument(
        "--no-tls",
        action="store_true",
        help="serve plain HTTP, as behind a TLS-terminating proxy",
    )
    p.add_argument(
        "--open-loop",
        type=int,
        default=None,
        metavar="S",
        help="seconds of constant-rate load after the saturation run (30 on PostgreSQL; 0: none)",
    )
    p.add_argument(
        "--open-loop-share",
        type=float,
        default=0.5,
        help="its rate, as a share of the saturation run's (0.5)",
    )
    if ab:
        p.add_argument(
            "--server",
            choices=["uvicorn", "granian"],
            default="uvicorn",
            help="uvicorn: openisales serve; granian: the same application under granian (A/B)",
        )
    p.add_argument("--profile", action="store_true", help="py-spy the workers during the HTTP run")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="wait up to this many seconds for an idle machine before each phase (0: don't)",
    )
    return p


def default_workers(engine: str, cores: int) -> int:
    """The server's processes: half the cores, the rest left to PostgreSQL and the load.

    PostgreSQL, wrk and the server share this machine. With as many workers
    as cores they take the CPU from each other and each batches half as many
    write-backs: on 2 cores two workers cost about twice the server CPU per
    write-back of one, at saturation and at half the peak alike
    (docs/benchmarks.md). SQLite has one writer: one worker.
    """
    return 1 if engine == "sqlite" else max(1, cores // 2)


def from_args(p: argparse.ArgumentParser, a: argparse.Namespace) -> Options:
    """The options ``a`` holds, checked (``p.error`` otherwise)."""
    engine = a.engine or ("sqlite" if a.short else "postgres")
    rows = a.rows or (a.short_rows if a.short else 1_000_000)
    workers = a.workers or default_workers(engine, machine.cores())
    opts = Options(
        engine=engine,
        rows=rows,
        duration=a.duration or (5 if a.short else 15),
        connections=a.connections,
        workers=workers,
        wrk_threads=a.wrk_threads,
        pg_url=a.pg_url,
        keep=a.keep,
        profile=a.profile,
        quiet_wait=a.quiet_wait,
        no_tls=a.no_tls,
        open_loop=a.open_loop if a.open_loop is not None else (0 if a.short else 30),
        open_loop_share=a.open_loop_share,
        server=getattr(a, "server", "uvicorn"),
    )
    if not 1_000 <= opts.rows <= dataset.MAX_ROWS:
        p.error(f"--rows must be within 1,000..{dataset.MAX_ROWS:,}")
    if opts.connections < opts.wrk_threads or opts.duration < 1:
        p.error("--connections must be >= --wrk-threads and --duration >= 1")
    if opts.open_loop < 0 or not 0 < opts.open_loop_share <= 1:
        p.error("--open-loop must be >= 0 and --open-loop-share within (0, 1]")
    if engine == "sqlite" and workers != 1:
        p.error("SQLite has one writer: run it with --workers 1")
    return opts
