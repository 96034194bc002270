"""A run's scaffolding: progress lines, SIGTERM, the work directory, the JSON record."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import REPO

OUT_DIR = REPO / "bench" / "out"


def step(message: str) -> None:
    """A progress line on stderr (stdout is the summary's)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so that the benchmark's child processes are stopped."""
    signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def work_directory(prefix: str, *, keep: bool) -> Iterator[Path]:
    """A new temporary directory, removed on the way out unless ``keep``."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        if keep:
            step(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def write_record(doc: dict[str, Any], name: str, started: datetime) -> Path:
    """``doc`` as ``bench/out/<name>-<started, UTC, to the second>.json``."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}-{started.astimezone(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path
