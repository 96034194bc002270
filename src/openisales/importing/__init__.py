"""Bulk import of call data from a CSV or XLSX file (``openisales import``; docs/import.md).

:mod:`~openisales.importing.load` runs an import (:func:`run`): the campaign
checks and the one transaction, reading the file through
:mod:`~openisales.importing.sources`, checking its rows in
:mod:`~openisales.importing.stream`, writing them with ``COPY`` on PostgreSQL
(:mod:`~openisales.importing.pgcopy`) or ``executemany`` on SQLite;
:mod:`~openisales.importing.progress` holds the reporters.
"""

from __future__ import annotations

from openisales.importing.load import ImportRequest, run
from openisales.importing.progress import ConsoleReporter, Quiet, Reporter
from openisales.importing.sources import ImportFileError
from openisales.importing.stream import Outcome

__all__ = [
    "ConsoleReporter",
    "ImportFileError",
    "ImportRequest",
    "Outcome",
    "Quiet",
    "Reporter",
    "run",
]
