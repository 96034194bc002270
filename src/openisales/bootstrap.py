"""Wiring of the dialing engine: the only place that builds dispatchers and gateways."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.client import C2Auth
from openisales.clock import Clock
from openisales.config import Settings
from openisales.dispatcher import Dispatcher, DispatcherSettings
from openisales.gateways.base import Gateway
from openisales.gateways.simulator import Simulator, WriteBack
from openisales.gateways.webhook import Webhook
from openisales.metrics import Metrics
from openisales.services import dialing
from openisales.store.ids import IdAllocator


def dispatcher_settings(settings: Settings) -> DispatcherSettings:
    return DispatcherSettings(
        lease_s=settings.lease_s,
        claim_batch=settings.claim_batch,
        default_concurrency=settings.default_concurrency,
        reservation_fallback_s=settings.reservation_fallback_s or None,
        timing=dialing.DialerTiming(settings.result_wait_s, settings.common_retry_interval_s),
        default_gateway=settings.gateway,
    )


def build_dispatcher(
    settings: Settings,
    engine: AsyncEngine,
    ids: IdAllocator,
    clock: Clock,
    *,
    metrics: Metrics | None = None,
    write_back: WriteBack | None = None,
    webhook_http: httpx.AsyncClient | None = None,
    wrap: Callable[[Gateway], Gateway] | None = None,
) -> Dispatcher:
    """A dispatcher with the simulator and, when configured, the webhook gateway.

    ``write_back`` lets the simulator's agents write business results back
    through the real endpoint; ``webhook_http`` is the client the webhook
    gateway posts with (C2-signed with ``OPENISALES_WEBHOOK_AK/SK``); ``wrap``,
    when given, decorates each gateway (``Recording`` in ``openisales simulate``).
    """
    gateways: dict[str, Gateway] = {}
    dispatcher = Dispatcher(
        engine,
        ids,
        gateways,
        clock,
        dispatcher_settings(settings),
        metrics=metrics,
        displays=dialing.display_map,
    )
    gateways["simulator"] = Simulator(dispatcher.report, clock, write_back)
    if webhook_http is not None:
        if settings.webhook_ak:
            webhook_http.auth = C2Auth(settings.webhook_ak, settings.webhook_sk)
        gateways["webhook"] = Webhook(webhook_http, dispatcher.report, clock, settings.webhook_url)
    if wrap is not None:
        gateways.update({name: wrap(gateway) for name, gateway in gateways.items()})
    return dispatcher
