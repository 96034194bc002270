"""The dispatcher's loop: rounds until stopped, resting after a round with nothing to do."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable


async def run_rounds(
    tick: Callable[[], Awaitable[int]],
    stop: asyncio.Event,
    *,
    idle_s: float,
    name: str,
    worker_id: str,
    log: logging.Logger,
) -> None:
    """Call ``tick`` until ``stop`` is set; rest ``idle_s`` after a round with nothing to do.

    A failing round is logged and the next one runs: state lives in the
    database, so nothing is lost and a lease covers whatever was in flight.
    """
    log.info("%s started", name, extra={"worker": worker_id})
    while not stop.is_set():
        try:
            busy = await tick()
        except Exception:
            log.exception("%s round failed", name)
            busy = 0
        if not busy:
            try:
                await asyncio.wait_for(stop.wait(), idle_s)
            except TimeoutError:
                pass
    log.info("%s stopped", name, extra={"worker": worker_id})
