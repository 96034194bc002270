"""Call-data rows mapped to the domain's :class:`~openisales.domain.calldata.Record`, once.

Every path that reads a record to act on it (the write-back, the
dispatcher's claims, attempt outcomes) selects at least :data:`COLUMNS` and
maps the row here; ``called_nos`` is decoded nowhere else on those paths.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Protocol

from openisales.domain.calldata import CalledNumber, DataStatus, Record
from openisales.store.tables import data

COLUMNS = (
    data.c.vdn_id,
    data.c.data_id,
    data.c.campaign_id,
    data.c.status,
    data.c.attempt_no,
    data.c.attempt_index,
    data.c.called_nos,
)


class RecordRow(Protocol):
    """A row with :data:`COLUMNS` (a SQLAlchemy row, or an asyncpg record adapted to it)."""

    @property
    def vdn_id(self) -> int: ...
    @property
    def data_id(self) -> int: ...
    @property
    def campaign_id(self) -> int: ...
    @property
    def status(self) -> int: ...
    @property
    def attempt_no(self) -> int: ...
    @property
    def attempt_index(self) -> int: ...
    @property
    def called_nos(self) -> str: ...


@lru_cache(maxsize=65_536)
def numbers(called_nos: str) -> tuple[CalledNumber, ...]:
    """A record's stored ``called_nos`` JSON -> its numbers, in the order they were added."""
    return tuple(CalledNumber(n["calledNo"], n.get("type") or "") for n in json.loads(called_nos))


def record(row: RecordRow) -> Record:
    """The :class:`Record` of a row (or row-like object) with :data:`COLUMNS`."""
    return Record(
        vdn_id=row.vdn_id,
        data_id=row.data_id,
        campaign_id=row.campaign_id,
        status=DataStatus(row.status),
        attempt_no=row.attempt_no,
        attempt_index=row.attempt_index,
        numbers=numbers(row.called_nos),
    )
