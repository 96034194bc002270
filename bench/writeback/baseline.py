"""The baseline: pgbench running the minimal equivalent transaction (pgbench_writeback.sql)."""

from __future__ import annotations

import re
import shutil
from array import array
from dataclasses import dataclass
from pathlib import Path

from openloop import percentiles

from common.machine import run_measured

SCRIPT = Path(__file__).with_name("pgbench_writeback.sql")
_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.M)
_LATENCY = re.compile(r"^latency average = ([0-9.]+) ms", re.M)
_DONE = re.compile(r"^number of transactions actually processed: (\d+)", re.M)
_FAILED = re.compile(r"^number of failed transactions: (\d+)", re.M)


@dataclass(frozen=True)
class PgbenchResult:
    tps: float
    latency_avg_ms: float | None
    transactions: int
    failed: int
    clients: int
    threads: int
    cpu_share: float  # pgbench's own CPU, in cores
    command: str
    output: str

    def as_dict(self) -> dict[str, object]:
        return {
            "tps": round(self.tps, 1),
            "latency_avg_ms": self.latency_avg_ms,
            "transactions": self.transactions,
            "failed": self.failed,
            "clients": self.clients,
            "threads": self.threads,
            "pgbench_cpu_cores": round(self.cpu_share, 2),
            "command": self.command,
        }


def pgbench_binary() -> str:
    found = shutil.which("pgbench") or "/usr/bin/pgbench"
    if not Path(found).exists():
        raise RuntimeError("pgbench is not installed (apt-get install postgresql-client)")
    return found


def _threads(clients: int) -> int:
    return min(2, clients)


def _command(
    url: str, *, rows: int, duration: int, clients: int, extra: list[str] | None = None
) -> list[str]:
    """pgbench running SCRIPT prepared for ``duration`` s on ``clients`` (two threads at most)."""
    return [
        pgbench_binary(),
        "-n",
        "-M",
        "prepared",
        "-T",
        str(duration),
        *(extra or []),
        "-c",
        str(clients),
        "-j",
        str(_threads(clients)),
        "-D",
        f"rows={rows}",
        "-f",
        str(SCRIPT),
        url,
    ]


def run(url: str, *, rows: int, duration: int, clients: int) -> PgbenchResult:
    cmd = _command(url, rows=rows, duration=duration, clients=clients)
    done = run_measured(cmd, timeout=duration + 120)
    output = done.stdout + done.stderr
    tps = _TPS.search(done.stdout)
    if done.returncode != 0 or tps is None:
        raise RuntimeError(f"pgbench failed (exit {done.returncode}):\n{output}")
    latency = _LATENCY.search(done.stdout)
    processed = _DONE.search(done.stdout)
    failed = _FAILED.search(done.stdout)
    return PgbenchResult(
        tps=float(tps.group(1)),
        latency_avg_ms=float(latency.group(1)) if latency else None,
        transactions=int(processed.group(1)) if processed else 0,
        failed=int(failed.group(1)) if failed else 0,
        clients=clients,
        threads=_threads(clients),
        cpu_share=done.cpu_s / done.wall_s,
        command=" ".join(cmd),
        output=output,
    )


@dataclass(frozen=True)
class PacedResult:
    """pgbench at a fixed rate (``-R``): its latency from each transaction's scheduled start."""

    rate_target: float
    rate: float  # transactions done per second
    transactions: int
    failed: int
    latency_ms: dict[str, float]  # p50, p99, p99.9, max
    command: str

    def as_dict(self) -> dict[str, object]:
        return {
            "rate_target": round(self.rate_target, 1),
            "tps": round(self.rate, 1),
            "transactions": self.transactions,
            "failed": self.failed,
            "latency_ms": self.latency_ms,
            "command": self.command,
        }


def run_paced(
    url: str, *, rows: int, duration: int, clients: int, rate: float, work: Path
) -> PacedResult:
    """The same transaction at ``rate`` per second, each one's latency logged (``-l``).

    With ``-R`` pgbench schedules every transaction (a Poisson process at that
    rate) and logs its latency from the scheduled start, so a transaction
    that waited for a free client counts its wait: what the database alone
    answers at the open loop's rate, one committed transaction per
    write-back, on the same machine at the same time. The open loop's
    latency is read against it.
    """
    prefix = work / "pgbench-paced"
    cmd = _command(
        url,
        rows=rows,
        duration=duration,
        clients=clients,
        extra=["-R", f"{rate:.1f}", "-l", "--log-prefix", str(prefix)],
    )
    done = run_measured(cmd, timeout=duration + 120)
    output = done.stdout + done.stderr
    processed = _DONE.search(done.stdout)
    if done.returncode != 0 or processed is None:
        raise RuntimeError(f"pgbench -R failed (exit {done.returncode}):\n{output}")
    failed = _FAILED.search(done.stdout)
    latency_us = array("d")
    for log in work.glob(prefix.name + ".*"):
        # client_id transaction_no time script_no time_epoch time_us [schedule_lag]:
        # "time" is the latency in µs from the scheduled start (with -R)
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                latency_us.append(int(fields[2]))
        log.unlink()
    return PacedResult(
        rate_target=rate,
        rate=int(processed.group(1)) / duration,
        transactions=int(processed.group(1)),
        failed=int(failed.group(1)) if failed else 0,
        latency_ms=percentiles(latency_us),  # as the open loop reports its own
        command=" ".join(cmd),
    )
