"""The baseline: pgbench running the minimal equivalent transaction (pgbench_writeback.sql)."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

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


def run(url: str, *, rows: int, duration: int, clients: int) -> PgbenchResult:
    threads = min(2, clients)
    cmd = [
        pgbench_binary(),
        "-n",
        "-M",
        "prepared",
        "-T",
        str(duration),
        "-c",
        str(clients),
        "-j",
        str(threads),
        "-D",
        f"rows={rows}",
        "-f",
        str(SCRIPT),
        url,
    ]
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
        threads=threads,
        cpu_share=done.cpu_s / done.wall_s,
        command=" ".join(cmd),
        output=output,
    )
