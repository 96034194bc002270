"""The machine a run was measured on, and the CPU its processes used during a phase.

Everything comes from ``/proc`` (Linux only): per-process CPU time from
``/proc/<pid>/stat`` and machine-wide busy time from ``/proc/stat``.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import threading
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
    """Cores this process may run on (what a default worker count should match)."""
    return len(os.sched_getaffinity(0))


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def git_revision(repo: Path) -> str:
    """``<commit>`` or ``<commit>+dirty``; ``unknown`` outside a checkout."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


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
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS
    return Proc(head.partition("(")[2], int(fields[1]), int(fields[19]), cpu)


def _processes() -> dict[int, Proc]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (proc := _read_proc(int(entry.name))) is not None:
            found[int(entry.name)] = proc
    return found


def _machine_busy_s() -> float:
    first = Path("/proc/stat").read_text().splitlines()[0].split()
    values = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    return (sum(values) - idle) / _TICKS


def _backend_database(pid: int) -> str | None:
    """The database of a backend ("postgres: 15/main: user db host(port) ..."), else None."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, UnicodeDecodeError):
        return None
    _, _, activity = title.partition(": ")
    words = activity.partition(": ")[2].split()
    if len(words) >= 3 and ("(" in words[2] or words[2] == "[local]"):
        return words[1]
    return None  # a background process (checkpointer, WAL writer, ...)


def _descendants(procs: dict[int, Proc], root: int) -> set[int]:
    found = {root}
    grew = True
    while grew:
        more = {pid for pid, p in procs.items() if p.ppid in found and pid not in found}
        found |= more
        grew = bool(more)
    return found


GROUPS = ("server", "postgres", "wrk", "pgbench", "driver", "other")


@dataclass(frozen=True)
class CpuUsage:
    """CPU used during a phase, in cores (CPU seconds per wall second), by group.

    ``other`` is everything else on the machine: when it is not near zero,
    something unrelated competed for the cores during the phase.
    """

    wall_s: float
    machine_busy: float
    groups: dict[str, float]
    top_other: dict[str, float]  # the busiest commands in "other"

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "wall_s": round(self.wall_s, 2),
            "machine_busy": round(self.machine_busy, 2),
        }
        out |= {name: round(value, 2) for name, value in self.groups.items()}
        return out | {"top_other": {k: round(v, 3) for k, v in self.top_other.items()}}


class CpuSampler:
    """Samples every process's CPU time while a phase runs (a background thread).

    Sampling often (``interval``) keeps short-lived processes (a test run
    elsewhere, pgbench's backends) in the books up to their last interval.
    """

    def __init__(
        self,
        *,
        server_pid: int | None = None,
        database: str | None = None,
        interval: float = 0.25,
    ) -> None:
        self._server_pid = server_pid
        self._database = database
        self._backend_db: dict[tuple[int, int], str | None] = {}
        self._interval = interval
        self._totals = dict.fromkeys(GROUPS, 0.0)
        self._other: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._last: dict[int, Proc] = {}
        self._start = (0.0, 0.0)
        self.result: CpuUsage | None = None

    def __enter__(self) -> CpuSampler:
        self._last = _processes()
        self._start = (time.monotonic(), _machine_busy_s())
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        wall = time.monotonic() - self._start[0]
        busy = (_machine_busy_s() - self._start[1]) / wall
        busiest = sorted(self._other.items(), key=lambda item: -item[1])[:5]
        top = {name: used / wall for name, used in busiest}
        self.result = CpuUsage(wall, busy, {k: v / wall for k, v in self._totals.items()}, top)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def _sample(self) -> None:
        now = _processes()
        server = _descendants(now, self._server_pid) if self._server_pid else set()
        for pid, proc in now.items():
            then = self._last.get(pid)
            used = proc.cpu_s - (then.cpu_s if then and then.started == proc.started else 0.0)
            group = self._group(pid, proc, server)
            self._totals[group] += used
            if group == "other" and used > 0:
                self._other[proc.comm] = self._other.get(proc.comm, 0.0) + used
        self._last = now

    def _group(self, pid: int, proc: Proc, server: set[int]) -> str:
        if pid in server:
            return "server"
        if proc.comm == "postgres":
            return "postgres" if self._ours(pid, proc) else "other"
        if proc.comm in ("wrk", "pgbench"):
            return proc.comm
        return "driver" if pid == os.getpid() else "other"

    def _ours(self, pid: int, proc: Proc) -> bool:
        """A PostgreSQL process working for the benchmark's database (or for all)."""
        if self._database is None:
            return False  # SQLite run: any PostgreSQL work is someone else's
        key = (pid, proc.started)
        if key not in self._backend_db:
            self._backend_db[key] = _backend_database(pid)
        database = self._backend_db[key]
        return database is None or database == self._database


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

    Only this child is reaped while it runs (the server is reaped at the end),
    so the difference in ``RUSAGE_CHILDREN`` is this command's own CPU time.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Finished(done.returncode, done.stdout, done.stderr, wall, cpu)


def wait_for_quiet(*, threshold: float = 0.15, window: float = 2.0, limit: float = 120.0) -> float:
    """Wait (up to ``limit`` s) for a ``window`` in which the machine is nearly idle.

    Called between phases, when nothing of the benchmark is working; returns
    the busy cores of the last window (above ``threshold`` = gave up waiting).
    """
    deadline = time.monotonic() + limit
    while True:
        start_busy, start = _machine_busy_s(), time.monotonic()
        time.sleep(window)
        busy = (_machine_busy_s() - start_busy) / (time.monotonic() - start)
        if busy <= threshold or time.monotonic() >= deadline:
            return busy
