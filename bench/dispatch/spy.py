"""Optional (``--profile``): py-spy samples the workers while they dispatch.

``py-spy record --nonblocking --format raw`` (collapsed stacks) runs once per
worker for a fixed time; the summary lists the functions with the most
samples, inclusive (on the stack) and self (on top of it). With ``--idle``
py-spy also samples threads waiting off-CPU — in an asyncio worker that is
the event loop waiting for PostgreSQL — so that the share of samples in
``select`` / ``epoll`` says how long a worker waits for the database.
py-spy takes CPU from the 2-core machine: a profiled run's figures are for
finding the bottleneck, not for the record.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^(.*) (\d+)$")
_LINENO = re.compile(r":\d+\)$")


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


class Profiler:
    """One ``py-spy record`` per worker, started together, waited for together."""

    def __init__(self, pids: list[int], *, duration: int, out_dir: Path) -> None:
        self.outputs = [out_dir / f"py-spy-{pid}.txt" for pid in pids]
        self._pids = pids
        self._duration = duration
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def started(self) -> bool:
        return bool(self._procs)

    def start(self) -> None:
        for pid, output in zip(self._pids, self.outputs, strict=True):
            cmd = [py_spy(), "record", "--pid", str(pid), "--nonblocking", "--idle"]
            cmd += ["--rate", "100", "--duration", str(self._duration)]
            cmd += ["--format", "raw", "--output", str(output)]
            self._procs.append(
                subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )

    def finish(self, *, wait: bool = True) -> None:
        """Let every recording end and write its file; stop them at once if not ``wait``."""
        for proc in self._procs:
            try:
                proc.wait(timeout=self._duration + 30 if wait else 5)
            except subprocess.TimeoutExpired:
                proc.terminate()
                proc.wait()
        self._procs = []


def _function(frame: str) -> str:
    return _LINENO.sub(")", frame.strip())


def summarise(files: list[Path], top: int = 25) -> str:
    """The ``top`` functions by inclusive and by self samples over all workers."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for raw in files:
        if not raw.exists():
            continue
        for line in raw.read_text(errors="replace").splitlines():
            match = _LINE.match(line)
            if match is None:
                continue
            frames = [_function(f) for f in match.group(1).split(";") if "(" in f]
            count = int(match.group(2))
            total += count
            for name in set(frames):
                inclusive[name] += count
            if frames:
                own[frames[-1]] += count
    if not total:
        return "py-spy recorded no samples"
    out = [f"py-spy: {total} samples (on- and off-CPU) of the workers' Python stacks"]
    for title, table in (("inclusive", inclusive), ("self", own)):
        out.append(f"-- top {top} by {title} samples --")
        out += [f"{100 * n / total:5.1f}%  {name}" for name, n in table.most_common(top)]
    return "\n".join(out)
