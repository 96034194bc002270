"""The machine a run was measured on, and the CPU time of its processes.

Everything about CPU comes from ``/proc`` (Linux only): per-process CPU time
from ``/proc/<pid>/stat``, machine-wide busy time from ``/proc/stat``. How
processes are grouped during a phase is each benchmark's own (its cpu.py).
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from common import REPO

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def cores() -> int:
    """Cores this process may run on (what a default worker count should match)."""
    return len(os.sched_getaffinity(0))


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def describe(database: str, *, memory: bool = True) -> dict[str, object]:
    """A record's ``machine``: CPU, cores, memory (if ``memory``), kernel, Python, database."""
    found: dict[str, object] = {"cpu_model": cpu_model(), "cores": cores()}
    if memory:
        found["memory_gib"] = memory_gib()
    return found | {
        "kernel": platform.release(),
        "python": platform.python_version(),
        "database": database,
    }


def git_revision() -> str:
    """``<commit>`` or ``<commit>+dirty`` (local changes under src/); ``unknown`` elsewhere."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--", "src")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


# ---------------------------------------------------------------- CPU time


@dataclass(frozen=True)
class Proc:
    comm: str
    ppid: int
    started: int  # clock ticks after boot: tells a reused pid from the old one
    cpu_s: float


def _read_proc(pid: int) -> Proc | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    head, _, tail = text.rpartition(")")
    fields = tail.split()
    # fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, starttime 22.
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    return Proc(head.partition("(")[2], int(fields[1]), int(fields[19]), cpu)


def processes() -> dict[int, Proc]:
    """Every live process, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (proc := _read_proc(int(entry.name))) is not None:
            found[int(entry.name)] = proc
    return found


def cpu_ticks() -> tuple[int, int]:
    """The machine's (busy, all) clock ticks since boot: idle and iowait are not busy."""
    first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    values = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    return sum(values) - values[3] - values[4], sum(values)


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy since boot."""
    return cpu_ticks()[0] / TICKS


def children_cpu_s() -> float:
    """User + system CPU seconds of this process's reaped children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuUsage:
    """CPU used during a phase, in cores (CPU seconds per wall second), by group.

    ``other`` is the machine's work beyond the benchmark's own groups: when it
    is not near zero, something unrelated competed for the cores.
    """

    wall_s: float
    machine_busy: float
    groups: dict[str, float]
    top_other: dict[str, float] | None = None  # the busiest commands in "other", if known

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "wall_s": round(self.wall_s, 2),
            "machine_busy": round(self.machine_busy, 2),
        }
        out |= {name: round(value, 2) for name, value in self.groups.items()}
        if self.top_other is not None:
            out["top_other"] = {k: round(v, 3) for k, v in self.top_other.items()}
        return out


def wait_for_quiet(*, threshold: float = 0.15, window: float = 2.0, limit: float = 120.0) -> float:
    """Wait (up to ``limit`` s) for a ``window`` in which the machine is nearly idle.

    Called between phases, when nothing of the benchmark is working; returns
    the busy cores of the last window (above ``threshold`` = gave up waiting).
    """
    deadline = time.monotonic() + limit
    while True:
        start_busy, start = machine_busy_s(), time.monotonic()
        time.sleep(window)
        busy = (machine_busy_s() - start_busy) / (time.monotonic() - start)
        if busy <= threshold or time.monotonic() >= deadline:
            return busy


# ---------------------------------------------------------------- child commands


@dataclass(frozen=True)
class Finished:
    """A child process run to completion, with the CPU it used."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float


def run_measured(cmd: list[str], *, timeout: float) -> Finished:
    """Run ``cmd`` to completion; its CPU comes from the reaped-children usage.

    Only this child is reaped while it runs (long-lived children are reaped
    at the end), so the difference in ``RUSAGE_CHILDREN`` is its own CPU time.
    """
    before = children_cpu_s()
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    wall = time.monotonic() - start
    cpu = children_cpu_s() - before
    return Finished(done.returncode, done.stdout, done.stderr, wall, cpu)
