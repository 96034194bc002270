"""The gateway port: what the dispatcher hands over and how outcomes come back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from openisales.domain.dialing import DialingCampaign
from openisales.services.dialing import Applied, AttemptReport


@dataclass(frozen=True)
class CallTask:
    """One call to place. ``work_no`` set = route it to that agent only."""

    vdn_id: int
    campaign_id: int
    data_id: int
    attempt_no: int
    called: str
    caller_no: str | None
    call_data: str | None
    work_no: str | None

    @property
    def attempt_id(self) -> str:
        return f"{self.data_id}:{self.attempt_no}"

    def wire(self) -> dict[str, Any]:
        return {
            "attemptId": self.attempt_id,
            "vdnId": self.vdn_id,
            "campaignId": self.campaign_id,
            "dataId": str(self.data_id),
            "attemptNo": self.attempt_no,
            "called": self.called,
            "callerNo": self.caller_no,
            "callData": self.call_data,
            "workNo": self.work_no,
        }


def parse_attempt_id(text: str) -> tuple[int, int] | None:
    data_id, sep, attempt_no = text.partition(":")
    if not sep or not data_id.isdigit() or not attempt_no.isdigit() or len(data_id) > 19:
        return None
    return int(data_id), int(attempt_no)


Reporter = Callable[[list[AttemptReport]], Awaitable[list[Applied]]]


class Gateway(Protocol):
    name: str

    def agents(self, campaign: DialingCampaign) -> frozenset[str] | None:
        """Agents this gateway can route a reserved call to; None = any (it routes by workNo)."""
        ...

    async def dispatch(self, campaign: DialingCampaign, tasks: Sequence[CallTask]) -> None:
        """Hand the tasks over; outcomes come back through the reporter later (or at once)."""
        ...
