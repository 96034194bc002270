"""The machine a run was measured on, and where its CPU went during a phase (Linux /proc)."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def cores() -> int:
    return len(os.sched_getaffinity(0))


def git_revision(repo: Path) -> str:
    """``<commit>`` or ``<commit>+dirty`` (local changes under src/); ``unknown`` elsewhere."""
    try:
        commit = _git(repo, "rev-parse", "--short", "HEAD")
        dirty = _git(repo, "status", "--porcelain", "--", "src")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _proc_cpu(pid: int) -> tuple[str, float] | None:
    """(command, CPU seconds) of a live process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    head, _, tail = text.rpartition(")")
    fields = tail.split()  # fields[0] is stat field 3; utime is 14, stime 15
    return head.partition("(")[2], (int(fields[11]) + int(fields[12])) / _TICKS


def _snapshot() -> dict[int, tuple[str, float]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (item := _proc_cpu(int(entry.name))) is not None:
            found[int(entry.name)] = item
    return found


def _machine_busy_s() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / _TICKS  # minus idle and iowait


@dataclass(frozen=True)
class CpuUsage:
    """Cores used (CPU seconds per wall second) during a phase, by group."""

    wall_s: float
    machine_busy: float
    groups: dict[str, float]

    def as_dict(self) -> dict[str, float]:
        return {"wall_s": round(self.wall_s, 2), "machine_busy": round(self.machine_busy, 2)} | {
            k: round(v, 2) for k, v in self.groups.items()
        }


class CpuMeter:
    """CPU of the workers, of PostgreSQL, of this driver and of everything else.

    Two snapshots of ``/proc`` (start and stop): processes that end in between
    are lost, which is fine for the long-lived workers and their PostgreSQL
    backends. ``other`` is what the machine did beyond the named groups: when
    it is far from zero, something unrelated competed for the cores.
    """

    def __init__(self) -> None:
        self._start: tuple[float, float, dict[int, tuple[str, float]]] | None = None
        self.workers: set[int] = set()

    def start(self) -> None:
        self._start = (time.monotonic(), _machine_busy_s(), _snapshot())

    def stop(self) -> CpuUsage:
        assert self._start is not None, "start() first"
        began, busy0, before = self._start
        wall = time.monotonic() - began
        busy = (_machine_busy_s() - busy0) / wall
        groups = dict.fromkeys(("workers", "postgres", "driver"), 0.0)
        for pid, (comm, cpu) in _snapshot().items():
            group = self._group(pid, comm)
            if group is not None:
                old = before.get(pid)
                groups[group] += (cpu - (old[1] if old and old[0] == comm else 0.0)) / wall
        groups["other"] = max(0.0, busy - sum(groups.values()))
        return CpuUsage(wall, busy, groups)

    def _group(self, pid: int, comm: str) -> str | None:
        if pid in self.workers:
            return "workers"
        if comm == "postgres":
            return "postgres"
        return "driver" if pid == os.getpid() else None
