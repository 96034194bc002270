"""Where the machine's CPU went during a phase: server, PostgreSQL, the load, driver, other."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from common.machine import CpuUsage, Proc, machine_busy_s, processes

GROUPS = ("server", "postgres", "wrk", "openloop", "pgbench", "driver", "other")


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
        self._last = processes()
        self._start = (time.monotonic(), machine_busy_s())
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        wall = time.monotonic() - self._start[0]
        busy = (machine_busy_s() - self._start[1]) / wall
        busiest = sorted(self._other.items(), key=lambda item: -item[1])[:5]
        top = {name: used / wall for name, used in busiest}
        self.result = CpuUsage(wall, busy, {k: v / wall for k, v in self._totals.items()}, top)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def _sample(self) -> None:
        now = processes()
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
        if proc.comm in ("wrk", "openloop", "pgbench"):
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
