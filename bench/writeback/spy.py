"""Optional (``--profile``): py-spy samples the server's workers during the HTTP run.

py-spy (``pip install py-spy`` into the venv) records on-CPU Python stacks of
every worker without stopping them (``--nonblocking``); the summary lists the
functions with the most samples, inclusive (on the stack) and self (on top).
py-spy itself takes CPU from the 2-core machine: a profiled run's figures
are for finding the bottleneck, not for the record.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
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
    def __init__(self, pid: int, *, duration: int, output: Path) -> None:
        self.output = output
        self._cmd = [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--nonblocking",
            "--rate",
            "200",
            "--duration",
            str(duration),
            "--format",
            "raw",
            "--output",
            str(output),
        ]
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profiler:
        self._proc = subprocess.Popen(
            [py_spy(), *self._cmd[1:]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        """Let py-spy finish its --duration and write its file; stop it at once on errors."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.wait(timeout=5 if exc_type else 60)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait()


def _function(frame: str) -> str:
    return _LINENO.sub(")", frame.strip())


def summarise(raw: Path, top: int = 20) -> str:
    """The ``top`` functions by inclusive and by self samples, as a text table."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
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
    out = [f"py-spy: {total} samples of on-CPU Python stacks in the server workers"]
    for title, table in (("inclusive", inclusive), ("self", own)):
        out.append(f"-- top {top} by {title} samples --")
        out += [f"{100 * n / total:5.1f}%  {name}" for name, n in table.most_common(top)]
    return "\n".join(out)
