"""``openisales worker`` processes: started together, always stopped.

Each worker is its own process group (so that nothing it may spawn outlives
it) and logs to its own file in the work directory. Leaving the context —
normally, on an exception or on Ctrl-C — sends SIGTERM (the worker finishes
its round and exits), then SIGKILL to whatever is still running after
``grace`` seconds. A killed worker's PostgreSQL backend may still be running
its statement: ``Postgres.end_backends`` ends those.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from common import cli

_ERROR_MARKS = ('"level": "ERROR"', '"level": "CRITICAL"', "Traceback (most recent call last)")


class WorkerPool:
    def __init__(self, count: int, env: dict[str, str], logs: Path, *, grace: float = 15.0) -> None:
        self._count = count
        self._env = env
        self._logs = logs
        self._grace = grace
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    def __enter__(self) -> WorkerPool:
        self._logs.mkdir(parents=True, exist_ok=True)
        try:
            for i in range(self._count):
                log = self._logs / f"worker-{i}.log"
                self._procs.append(cli.start(["worker"], env=self._env, log=log))
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    def exited(self) -> list[tuple[int, int]]:
        """(pid, exit status) of the workers that are no longer running."""
        return [(p.pid, p.returncode) for p in self._procs if p.poll() is not None]

    def stop(self) -> list[int | None]:
        """SIGTERM every worker, SIGKILL the stragglers; their exit statuses."""
        for proc in self._procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + self._grace
        for proc in self._procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        return [p.returncode for p in self._procs]

    def errors(self) -> list[str]:
        """Log lines at level ERROR or above (a failed round, a crash), from every worker."""
        found = []
        for i in range(len(self._procs)):
            for line in (self._logs / f"worker-{i}.log").read_text(errors="replace").splitlines():
                if any(mark in line for mark in _ERROR_MARKS):
                    found.append(f"worker-{i}: {line[:300]}")
        return found

    def log_tail(self, lines: int = 20) -> str:
        out = []
        for i in range(len(self._procs)):
            text = (self._logs / f"worker-{i}.log").read_text(errors="replace").splitlines()
            out += [f"worker-{i}: {line}" for line in text[-lines:]]
        return "\n".join(out)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if proc.poll() is None:  # a reaped worker's pid may lead someone else's group by now
        cli.signal_group(proc.pid, sig)
