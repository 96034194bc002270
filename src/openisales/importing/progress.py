"""Where an import reports its progress and its refused rows.

:class:`Reporter` is what :func:`openisales.importing.load.run` calls;
:class:`Quiet` shows nothing; :class:`ConsoleReporter` is the command line's
(a rich progress bar and the refused rows on stderr, all of them to a CSV file
if asked). rich is imported only when a console reporter is made.
"""

from __future__ import annotations

import csv
from typing import Any, Protocol, TextIO

from openisales.domain.import_rows import RowError


class Reporter(Protocol):
    """Where progress and refused rows go (the CLI draws a progress bar)."""

    def start(self, total: int, unit: str) -> None: ...

    def advance(self, done: int) -> None: ...

    def refuse(self, error: RowError) -> None: ...

    def phase(self, text: str) -> None: ...


class Quiet:
    """A reporter that shows nothing (``Outcome.first_errors`` keeps the first refusals)."""

    def start(self, total: int, unit: str) -> None:
        pass

    def advance(self, done: int) -> None:
        pass

    def refuse(self, error: RowError) -> None:
        pass

    def phase(self, text: str) -> None:
        pass


class ConsoleReporter:
    """A progress bar (rich) and the refused rows on stderr; all refused rows to a CSV file.

    Use as a context manager around :func:`~openisales.importing.load.run`.
    Rows beyond ``show`` are counted but not printed.
    """

    def __init__(self, *, progress: bool = True, show: int = 20, errors: TextIO | None = None):
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self._want_progress = progress
        self._bar: Any = None
        self._task: Any = None
        self._show = show
        self.shown = 0
        self._writer = csv.writer(errors) if errors is not None else None
        if self._writer is not None:
            self._writer.writerow(["line", "field", "code", "message"])

    def __enter__(self) -> ConsoleReporter:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def start(self, total: int, unit: str) -> None:
        if not self._want_progress or self._bar is not None:
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        amount = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            amount,
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self._bar.start()
        self._task = self._bar.add_task("importing", total=total or None)

    def advance(self, done: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done)

    def phase(self, text: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=text)

    def refuse(self, error: RowError) -> None:
        if self._writer is not None:
            self._writer.writerow([error.line, error.field, error.code, error.message])
        if self.shown < self._show:
            self.shown += 1
            self.console.print(str(error), markup=False)
