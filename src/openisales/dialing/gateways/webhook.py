"""The webhook gateway: each call task is POSTed, C2-signed, to a CTI.

The CTI places the call and later reports the outcome through the signed
``attemptResult`` endpoint. A task the CTI does not accept (no 2xx answer,
timeout, connection error) fails at once with ``34606`` (call attempt failed).
The URL is the campaign's ``gateway_config.url`` or the server's default.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import httpx

from openisales.clock import Clock
from openisales.dialing.gateways.base import CallTask, Reporter
from openisales.domain.dialing import DialingCampaign
from openisales.services.dialing import AttemptReport

ATTEMPT_FAILED = "34606"
log = logging.getLogger("openisales.dialing")


class Webhook:
    name = "webhook"

    def __init__(
        self, http: httpx.AsyncClient, report: Reporter, clock: Clock, default_url: str = ""
    ) -> None:
        self._http = http
        self._report = report
        self._clock = clock
        self._default_url = default_url

    def agents(self, campaign: DialingCampaign) -> frozenset[str] | None:  # noqa: ARG002
        return None  # the CTI routes a reserved call to its agent itself

    def url(self, campaign: DialingCampaign) -> str:
        return str(campaign.gateway_config.get("url") or self._default_url)

    async def dispatch(self, campaign: DialingCampaign, tasks: Sequence[CallTask]) -> None:
        url = self.url(campaign)
        refused: list[AttemptReport] = []
        for task in tasks:
            try:
                response = await self._http.post(
                    url,
                    content=json.dumps(task.wire()).encode(),
                    headers={"Content-Type": "application/json; charset=UTF-8"},
                )
                accepted = response.is_success
            except (httpx.HTTPError, ValueError):
                accepted = False
            if not accepted:
                log.warning(
                    "CTI refused a call task",
                    extra={
                        "dataId": str(task.data_id),
                        "campaignId": task.campaign_id,
                        "attemptNo": task.attempt_no,
                    },
                )
                refused.append(
                    AttemptReport(
                        vdn_id=task.vdn_id,
                        data_id=task.data_id,
                        attempt_no=task.attempt_no,
                        fail_code=ATTEMPT_FAILED,
                        end_time=self._clock.now(),
                        work_no=task.work_no,
                    )
                )
        if refused:
            await self._report(refused)
