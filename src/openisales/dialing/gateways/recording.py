"""A gateway that passes every task on to another one and remembers it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from openisales.dialing.gateways.base import CallTask, Gateway
from openisales.domain.dialing import DialingCampaign


@dataclass
class Recording:
    """Wraps ``inner``; ``tasks`` lists every task handed to it, in order.

    ``openisales simulate`` summarises the calls it placed from it, and the
    dialing tests assert on it.
    """

    inner: Gateway
    tasks: list[CallTask] = field(default_factory=list)
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.inner.name

    def agents(self, campaign: DialingCampaign) -> frozenset[str] | None:
        return self.inner.agents(campaign)

    async def dispatch(self, campaign: DialingCampaign, tasks: Sequence[CallTask]) -> None:
        self.tasks.extend(tasks)
        await self.inner.dispatch(campaign, tasks)
