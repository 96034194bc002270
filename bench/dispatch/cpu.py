"""Where the machine's CPU went while the workers ran (or the baseline claimed)."""

from __future__ import annotations

import os
import time

from common.machine import CpuUsage, Proc, machine_busy_s, processes


class CpuMeter:
    """CPU of the workers, of PostgreSQL, of this driver and of everything else.

    Two snapshots of ``/proc`` (start and stop): processes that end in between
    are lost, which is fine for the long-lived workers and their PostgreSQL
    backends. ``other`` is what the machine did beyond the named groups: when
    it is far from zero, something unrelated competed for the cores.
    """

    def __init__(self) -> None:
        self._start: tuple[float, float, dict[int, Proc]] | None = None
        self.workers: set[int] = set()

    def start(self) -> None:
        self._start = (time.monotonic(), machine_busy_s(), processes())

    def stop(self) -> CpuUsage:
        assert self._start is not None, "start() first"
        began, busy0, before = self._start
        wall = time.monotonic() - began
        busy = (machine_busy_s() - busy0) / wall
        groups = dict.fromkeys(("workers", "postgres", "driver"), 0.0)
        for pid, proc in processes().items():
            group = self._group(pid, proc.comm)
            if group is not None:
                old = before.get(pid)
                used = proc.cpu_s - (old.cpu_s if old and old.comm == proc.comm else 0.0)
                groups[group] += used / wall
        groups["other"] = max(0.0, busy - sum(groups.values()))
        return CpuUsage(wall, busy, groups)

    def _group(self, pid: int, comm: str) -> str | None:
        if pid in self.workers:
            return "workers"
        if comm == "postgres":
            return "postgres"
        return "driver" if pid == os.getpid() else None
