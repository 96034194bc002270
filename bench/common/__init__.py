"""What the benchmarks under bench/ share: the machine, py-spy, the CLI, the databases, a run.

Each benchmark runs as a script (``.venv/bin/python bench/<name>/run.py``): its
own modules come from the script's directory (``sys.path[0]``), and its
``run.py`` puts ``bench/`` on ``sys.path`` right after it, so that this package
is found as ``common``. What one benchmark alone measures (its dataset, its
baseline, how it groups CPU, its record's fields) stays in its own directory.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
