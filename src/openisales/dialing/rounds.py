"""The dispatcher's loop: a round, then a rest, until stopped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

R = TypeVar("R")


async def run_rounds(
    round_: Callable[[], Awaitable[R]],
    rest: Callable[[R | None, asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    *,
    name: str,
    worker_id: str,
    log: logging.Logger,
) -> None:
    """``round_`` then ``rest`` until ``stop`` is set.

    ``rest`` gets the round's result, or None after a failed round. A failing
    round is logged and the next one runs: state lives in the database, so
    nothing is lost and a lease covers whatever was in flight.
    """
    log.info("%s started", name, extra={"worker": worker_id})
    while not stop.is_set():
        done: R | None
        try:
            done = await round_()
        except Exception:
            log.exception("%s round failed", name)
            done = None
        try:
            await rest(done, stop)
        except Exception:
            log.exception("%s rest failed", name)
            await rest(None, stop)
    log.info("%s stopped", name, extra={"worker": worker_id})
