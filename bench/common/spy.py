"""Optional (``--profile``): py-spy records running processes; the busiest functions.

``py-spy record --nonblocking --format raw`` (collapsed stacks) samples a
process without stopping it; the summary lists the functions with the most
samples, inclusive (on the stack) and self (on top of it). py-spy
(``.venv/bin/pip install py-spy``) takes CPU from the 2-core machine: a
profiled run's figures are for finding the bottleneck, not for the record.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

_LINE = re.compile(r"^(.*) (\d+)$")
_LINENO = re.compile(r":\d+\)$")


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


class Profiler:
    """One ``py-spy record`` per process (pid: raw output file), started and awaited together.

    Either ``start()`` and ``finish()``, or ``with``: leaving the block lets
    every recording run its ``duration`` and write its file, or stops them at
    once on an exception.
    """

    def __init__(
        self, outputs: dict[int, Path], *, duration: int, rate: int, flags: Sequence[str]
    ) -> None:
        self.outputs = list(outputs.values())
        self._targets = dict(outputs)
        self._duration = duration
        self._options = [*flags, "--rate", str(rate), "--duration", str(duration)]
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def started(self) -> bool:
        return bool(self._procs)

    def start(self) -> None:
        for pid, output in self._targets.items():
            cmd = [py_spy(), "record", "--pid", str(pid), *self._options]
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

    def __enter__(self) -> Profiler:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.finish(wait=exc_type is None)


def _function(frame: str) -> str:
    return _LINENO.sub(")", frame.strip())


def summarise(files: Iterable[Path], *, what: str, top: int) -> str:
    """The ``top`` functions by inclusive and by self samples over all ``files``.

    ``what`` completes the first line: "py-spy: <n> samples <what>".
    """
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for raw in files:
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
    out = [f"py-spy: {total} samples {what}"]
    for title, table in (("inclusive", inclusive), ("self", own)):
        out.append(f"-- top {top} by {title} samples --")
        out += [f"{100 * n / total:5.1f}%  {name}" for name, n in table.most_common(top)]
    return "\n".join(out)
