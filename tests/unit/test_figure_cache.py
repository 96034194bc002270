"""console.cache.FigureCache: quick figures exact, slow ones kept and refreshed behind."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from openisales.console.cache import FigureCache

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class Ticker:
    """A monotonic clock that computations advance by the time they 'take'."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def computing(ticker: Ticker, cost: float) -> tuple[list[int], object]:
    calls: list[int] = []

    async def compute() -> int:
        calls.append(len(calls) + 1)
        ticker.t += cost
        return len(calls)

    return calls, compute


async def test_a_quick_figure_is_computed_on_every_view() -> None:
    ticker = Ticker()
    cache = FigureCache(slow_s=0.05, monotonic=ticker)
    calls, compute = computing(ticker, 0.01)
    assert (await cache.get("k", compute, NOW)).value == 1  # type: ignore[arg-type]
    assert (await cache.get("k", compute, NOW)).value == 2  # type: ignore[arg-type]
    assert len(calls) == 2


async def test_a_slow_figure_is_kept_then_refreshed_behind_the_view() -> None:
    ticker = Ticker()
    cache = FigureCache(slow_s=0.05, fresh_s=5.0, monotonic=ticker)
    calls, compute = computing(ticker, 0.2)
    first = await cache.get("k", compute, NOW)
    assert first.value == 1 and first.slow
    ticker.t += 1.0  # still fresh: no recomputation
    assert (await cache.get("k", compute, NOW)).value == 1  # type: ignore[arg-type]
    assert len(calls) == 1
    ticker.t += 10.0  # stale: the kept value now, a refresh behind it
    assert (await cache.get("k", compute, NOW)).value == 1  # type: ignore[arg-type]
    assert (await cache.get("k", compute, NOW)).value == 1  # type: ignore[arg-type]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(calls) == 2  # one refresh, however many views
    assert (await cache.get("k", compute, NOW)).value == 2  # type: ignore[arg-type]
    await cache.close()


async def test_a_failed_refresh_keeps_the_figure() -> None:
    ticker = Ticker()
    cache = FigureCache(slow_s=0.05, fresh_s=1.0, monotonic=ticker)
    _, compute = computing(ticker, 0.2)
    await cache.get("k", compute, NOW)  # type: ignore[arg-type]
    ticker.t += 5.0

    async def broken() -> int:
        raise RuntimeError("database gone")

    assert (await cache.get("k", broken, NOW)).value == 1
    for _ in range(3):
        await asyncio.sleep(0)
    assert (await cache.get("k", broken, NOW)).value == 1


async def test_a_first_failure_reaches_the_caller() -> None:
    cache = FigureCache()

    async def broken() -> int:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        await cache.get("k", broken, NOW)


async def test_entries_are_bounded_least_recently_used_first() -> None:
    ticker = Ticker()
    cache = FigureCache(slow_s=0.0, entries=2, monotonic=ticker)
    _, compute = computing(ticker, 0.1)
    for key in ("a", "b", "c"):
        await cache.get(key, compute, NOW)  # type: ignore[arg-type]
    assert set(cache._kept) == {"b", "c"}


async def test_forget_drops_a_campaigns_figures() -> None:
    ticker = Ticker()
    cache = FigureCache(slow_s=0.0, monotonic=ticker)
    _, compute = computing(ticker, 0.1)
    for key in (("campaign", 1, 7), ("campaign", 1, 8), ("overview", 1)):
        await cache.get(key, compute, NOW)  # type: ignore[arg-type]
    cache.forget(("campaign", 1, 7))
    assert set(cache._kept) == {("campaign", 1, 8), ("overview", 1)}


async def test_a_costly_figure_is_refreshed_less_often() -> None:
    ticker = Ticker()
    cache = FigureCache(slow_s=0.05, fresh_s=5.0, cost_ratio=10.0, monotonic=ticker)
    calls, compute = computing(ticker, 2.0)  # 2 s to compute: fresh for 20 s
    await cache.get("k", compute, NOW)  # type: ignore[arg-type]
    ticker.t += 15.0
    await cache.get("k", compute, NOW)  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert len(calls) == 1
    ticker.t += 10.0
    await cache.get("k", compute, NOW)  # type: ignore[arg-type]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(calls) == 2
    await cache.close()
