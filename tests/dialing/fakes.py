"""A fake gateway for racing dispatchers: it notes every record dialled twice at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from openisales.dialing.gateways.base import CallTask, Reporter
from openisales.domain.dialing import DialingCampaign
from openisales.services.dialing import AttemptReport


@dataclass
class Ledger:
    """What the gateways sharing it saw: calls in flight, every (record, attempt), clashes."""

    in_flight: set[int] = field(default_factory=set)
    seen: list[tuple[int, int]] = field(default_factory=list)
    clashes: list[int] = field(default_factory=list)


class Checking:
    """Holds each hand-off in flight for ``pause_s``, then reports every call as no answer.

    A record handed over while it is still in flight (by this gateway or another one
    sharing the ledger) is a clash. ``report`` is the CTI's way back (a dispatcher's
    reporter or the API's path).
    """

    name = "simulator"

    def __init__(self, ledger: Ledger, report: Reporter, pause_s: float) -> None:
        self.ledger = ledger
        self.report = report
        self.pause_s = pause_s

    def agents(self, _c: DialingCampaign) -> None:
        return None

    async def dispatch(self, _c: DialingCampaign, tasks: Sequence[CallTask]) -> None:
        ledger = self.ledger
        for t in tasks:
            if t.data_id in ledger.in_flight:
                ledger.clashes.append(t.data_id)
            ledger.in_flight.add(t.data_id)
            ledger.seen.append((t.data_id, t.attempt_no))
        await asyncio.sleep(self.pause_s)
        for t in tasks:
            ledger.in_flight.discard(t.data_id)
        await self.report(
            [AttemptReport(t.vdn_id, t.data_id, t.attempt_no, "00603") for t in tasks]
        )
