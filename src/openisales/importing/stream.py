"""The row stream: the file's rows checked as they are read, tallied in an :class:`Outcome`.

:class:`RowStream` parses the rows with the add-call-data API's rules
(:mod:`openisales.domain.import_rows`), hands the good ones to the loader with
their ids, reports and counts the bad ones, and stops loading once the import
cannot commit (a bad row without ``skip_bad``, or no room left in the campaign).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from openisales.domain.import_rows import Row, RowError, RowParser
from openisales.errors import OpenISalesError
from openisales.importing.progress import Reporter
from openisales.importing.sources import Source
from openisales.store.ids import compose

PROGRESS_EVERY = 4_096  # rows between progress reports
T = TypeVar("T")


@dataclass
class Outcome:
    """What an import did. ``committed`` is False whenever nothing was loaded.

    The row counts are the stream's; :func:`~openisales.importing.load.run`
    fills in the rest.
    """

    read: int = 0  # data rows in the file (blank lines aside)
    valid: int = 0  # rows that passed every rule
    loaded: int = 0
    refused: int = 0
    elapsed: float = 0.0
    committed: bool = False
    refusal: OpenISalesError | None = None  # a campaign check that failed
    first_errors: list[RowError] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Rows read per second."""
        return self.read / self.elapsed if self.elapsed > 0 else 0.0


class RowStream:
    """The file's rows, checked in order: the good ones to load, the bad ones reported."""

    def __init__(
        self,
        source: Source,
        parser: RowParser,
        reporter: Reporter,
        outcome: Outcome,
        *,
        strict: bool,
        ids: Sequence[int],
        vdn_id: int,
    ) -> None:
        self._rows = source.rows()
        self._source = source
        self._parser = parser
        self._reporter = reporter
        self._outcome = outcome
        self._strict = strict
        self._ids = iter(ids)
        self._vdn_id = vdn_id
        self.room = 0  # records the campaign can still take
        self.over_limit = False

    @property
    def failed(self) -> bool:
        """Whether the import cannot commit (a bad row without skip_bad, or no room)."""
        return (self._strict and self._outcome.refused > 0) or self.over_limit

    def _refuse(self, error: RowError) -> None:
        self._outcome.refused += 1
        if len(self._outcome.first_errors) < 100:
            self._outcome.first_errors.append(error)
        self._reporter.refuse(error)

    def load(self, make: Callable[[int, Row], T]) -> Iterator[T]:
        """``make(data_id, row)`` for each row to load; stops once the import cannot commit.

        The rest of the file is then left to :meth:`drain`.
        """
        parse = self._parser.parse
        outcome = self._outcome
        ids, room = self._ids, self.room
        base = compose(self._vdn_id, 0)  # compose(vdn_id, n) == base | n, without a call per row
        read, valid = outcome.read, outcome.valid  # locals in the loop, written back at the end
        try:
            for line, values in self._rows:
                read += 1
                if not read % PROGRESS_EVERY:
                    self._reporter.advance(self._source.position())
                row = parse(line, values)
                if isinstance(row, RowError):
                    self._refuse(row)
                    if self._strict:
                        return
                    continue
                valid += 1
                if valid > room:
                    self.over_limit = True
                    return
                yield make(base | next(ids), row)
            self._reporter.advance(self._source.position())
        finally:
            outcome.read, outcome.valid = read, valid

    def drain(self) -> None:
        """Check the rest of the file (every bad row is reported); load nothing."""
        parse = self._parser.parse
        outcome = self._outcome
        for line, values in self._rows:
            outcome.read += 1
            if outcome.read % PROGRESS_EVERY == 0:
                self._reporter.advance(self._source.position())
            row = parse(line, values)
            if isinstance(row, RowError):
                self._refuse(row)
            else:
                outcome.valid += 1
        self._reporter.advance(self._source.position())
