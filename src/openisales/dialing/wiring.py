"""Wiring of the dialing engine: the only place that builds dispatchers, gateways and pushers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales import collector
from openisales.client import C2Auth
from openisales.clock import Clock
from openisales.config import Settings
from openisales.dialing.dispatcher import Dispatcher, DispatcherSettings
from openisales.dialing.gateways.base import Gateway
from openisales.dialing.gateways.simulator import Simulator, WriteBack
from openisales.dialing.gateways.webhook import Webhook
from openisales.dialing.pusher import build_pusher
from openisales.metrics import Metrics
from openisales.services import dialing
from openisales.store.ids import IdAllocator

WEBHOOK_TIMEOUT_S = 10.0  # the webhook gateway's requests, connect to last byte


def dispatcher_settings(settings: Settings) -> DispatcherSettings:
    return DispatcherSettings(
        lease_s=settings.lease_s,
        claim_batch=settings.claim_batch,
        poll_interval_s=settings.dispatch_poll_s,
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


@asynccontextmanager
async def running(
    settings: Settings,
    engine: AsyncEngine,
    ids: IdAllocator,
    clock: Clock,
    metrics: Metrics | None = None,
) -> AsyncIterator[None]:
    """The dispatcher and the result pusher, running until the block exits.

    On exit both are told to stop and are awaited (a round in progress
    finishes), then their HTTP clients are closed. Meanwhile the process's
    garbage collector runs as :func:`openisales.collector.tuned` sets it.
    """
    stop = asyncio.Event()
    with collector.tuned():
        async with (
            httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S) as webhook_http,
            httpx.AsyncClient(  # a connection for every POST the pusher may have in flight
                timeout=settings.push_timeout_s,
                limits=httpx.Limits(max_connections=settings.push_max_in_flight),
            ) as push_http,
        ):
            dispatcher = build_dispatcher(
                settings, engine, ids, clock, metrics=metrics, webhook_http=webhook_http
            )
            pusher = build_pusher(settings, engine, clock, metrics, push_http)
            tasks = [
                asyncio.create_task(dispatcher.run(stop)),
                asyncio.create_task(pusher.run(stop)),
            ]
            try:
                yield
            finally:
                stop.set()
                await asyncio.gather(*tasks)
