"""The natural batcher: who gets flushed with whom, and who hears of a failure."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings, strategies as st

from openisales.store.batching import Batcher, FlushCancelled


class Gate:
    """A flush function that records its batches and waits until released."""

    def __init__(self, *, fail_on: object = None) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail_on = fail_on

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        await self.release.wait()
        if self.fail_on in items:
            raise ValueError(f"cannot flush {self.fail_on}")
        return [10 * item for item in items]


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_lone_item_is_flushed_at_once_and_gets_its_own_result() -> None:
    gate = Gate()
    gate.release.set()
    batcher: Batcher[int, int] = Batcher(gate)
    assert await batcher.submit(7) == 70
    assert gate.batches == [[7]]
    assert batcher.in_flight == 0 and batcher.queued == 0


async def test_items_arriving_during_a_flush_share_the_next_one() -> None:
    gate = Gate()
    batcher: Batcher[int, int] = Batcher(gate, max_in_flight=1)
    first = asyncio.create_task(batcher.submit(1))
    await _settle()
    rest = [asyncio.create_task(batcher.submit(n)) for n in (2, 3, 4)]
    await _settle()
    assert gate.batches == [[1]] and batcher.queued == 3 and batcher.in_flight == 1
    gate.release.set()
    assert await first == 10
    assert await asyncio.gather(*rest) == [20, 30, 40]
    assert gate.batches == [[1], [2, 3, 4]]


async def test_batches_respect_the_size_and_in_flight_limits() -> None:
    gate = Gate()
    batcher: Batcher[int, int] = Batcher(gate, max_size=2, max_in_flight=2)
    tasks = [asyncio.create_task(batcher.submit(n)) for n in range(7)]
    await _settle()
    # all seven came in one turn: two flushes (the slots) of two (the size) went out
    assert gate.batches == [[0, 1], [2, 3]] and batcher.queued == 3
    gate.release.set()
    assert await asyncio.gather(*tasks) == [10 * n for n in range(7)]
    assert [len(b) for b in gate.batches] == [2, 2, 2, 1]
    assert sorted(n for b in gate.batches for n in b) == list(range(7))


async def test_items_submitted_in_one_turn_share_a_flush() -> None:
    """The requests one network read brought in: the first does not go alone."""
    gate = Gate()
    gate.release.set()
    batcher: Batcher[int, int] = Batcher(gate, max_in_flight=1)
    tasks = [asyncio.create_task(batcher.submit(n)) for n in (1, 2, 3)]
    assert await asyncio.gather(*tasks) == [10, 20, 30]
    assert gate.batches == [[1, 2, 3]]


async def test_a_free_slot_takes_no_second_flush_while_the_first_has_room() -> None:
    gate = Gate()
    gate.release.set()
    batcher: Batcher[int, int] = Batcher(gate, max_size=3, max_in_flight=2)
    tasks = [asyncio.create_task(batcher.submit(n)) for n in (1, 2, 3, 4)]
    assert await asyncio.gather(*tasks) == [10, 20, 30, 40]
    assert gate.batches == [[1, 2, 3], [4]]  # the second slot only for what the first cannot take


async def test_a_failed_flush_fails_its_own_items_only() -> None:
    gate = Gate(fail_on=3)
    batcher: Batcher[int, int] = Batcher(gate, max_in_flight=1)
    first = asyncio.create_task(batcher.submit(1))
    await _settle()
    doomed = [asyncio.create_task(batcher.submit(n)) for n in (2, 3)]
    await _settle()
    gate.release.set()
    assert await first == 10
    for task in doomed:
        with pytest.raises(ValueError, match="cannot flush 3"):
            await task
    assert await batcher.submit(4) == 40  # the batcher carries on


async def test_a_flush_that_miscounts_its_results_fails_every_item() -> None:
    async def short(items: list[int]) -> list[int]:
        return items[:-1]

    batcher: Batcher[int, int] = Batcher(short, max_in_flight=1)
    block = asyncio.create_task(batcher.submit(0))
    tasks = [asyncio.create_task(batcher.submit(n)) for n in (1, 2)]
    for task in (block, *tasks):
        with pytest.raises(RuntimeError, match="results for"):
            await task


async def test_a_caller_that_goes_away_does_not_disturb_the_others() -> None:
    gate = Gate()
    batcher: Batcher[int, int] = Batcher(gate, max_in_flight=1)
    first = asyncio.create_task(batcher.submit(1))
    await _settle()
    leaver = asyncio.create_task(batcher.submit(2))
    stayer = asyncio.create_task(batcher.submit(3))
    await _settle()
    leaver.cancel()
    gate.release.set()
    assert await first == 10 and await stayer == 30
    assert leaver.cancelled()
    assert gate.batches == [[1], [3]]  # its item was dropped before its flush went out


async def test_an_exception_given_as_a_result_goes_to_its_caller_alone() -> None:
    async def flush(items: list[int]) -> list[int | Exception]:
        return [ValueError(f"bad {n}") if n % 2 else n for n in items]

    batcher: Batcher[int, int] = Batcher(flush, max_in_flight=1)
    tasks = [asyncio.create_task(batcher.submit(n)) for n in range(4)]
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert done[0] == 0 and done[2] == 2
    assert [str(e) for e in done[1::2]] == ["bad 1", "bad 3"]


async def test_a_cancelled_flush_answers_its_callers_and_frees_its_slot() -> None:
    gate = Gate()
    batcher: Batcher[int, int] = Batcher(gate, max_in_flight=1)
    first = asyncio.create_task(batcher.submit(1))
    await _settle()
    (flush,) = batcher._running
    flush.cancel()  # e.g. the event loop shutting down
    with pytest.raises(FlushCancelled):
        await first
    await _settle()
    assert batcher.in_flight == 0
    gate.release.set()
    assert await batcher.submit(2) == 20


def test_limits_must_be_positive() -> None:
    async def flush(items: list[int]) -> list[int]:
        return items

    with pytest.raises(ValueError):
        Batcher(flush, max_size=0)
    with pytest.raises(ValueError):
        Batcher(flush, max_in_flight=0)


@settings(deadline=None)
@given(
    arrivals=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=40),
    delays=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=10),
    max_size=st.integers(min_value=1, max_value=8),
    max_in_flight=st.integers(min_value=1, max_value=3),
)
def test_every_item_is_flushed_once_within_the_limits_and_answered_with_its_own_result(
    arrivals: list[int], delays: list[int], max_size: int, max_in_flight: int
) -> None:
    """Items arrive after ``arrivals[i]`` loop turns; each flush takes ``delays[k]`` turns."""

    async def scenario() -> None:
        flushed: list[int] = []
        sizes: list[int] = []
        running = 0
        peak = 0

        async def flush(items: list[int]) -> list[int]:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            sizes.append(len(items))
            for _ in range(delays[len(sizes) % len(delays)]):
                await asyncio.sleep(0)
            flushed.extend(items)
            running -= 1
            return [item * 2 + 1 for item in items]

        batcher: Batcher[int, int] = Batcher(flush, max_size=max_size, max_in_flight=max_in_flight)

        async def caller(n: int, wait: int) -> int:
            for _ in range(wait):
                await asyncio.sleep(0)
            return await batcher.submit(n)

        results = await asyncio.gather(*(caller(n, w) for n, w in enumerate(arrivals)))
        assert results == [n * 2 + 1 for n in range(len(arrivals))]
        assert sorted(flushed) == list(range(len(arrivals)))
        assert max(sizes) <= max_size and peak <= max_in_flight
        assert batcher.in_flight == 0 and batcher.queued == 0

    asyncio.run(scenario())


async def test_a_flush_cancelled_before_it_ran_does_not_leave_the_batcher_stuck() -> None:
    gate = Gate()
    gate.release.set()
    batcher: Batcher[int, int] = Batcher(gate, max_in_flight=1)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0)  # submit() has created the flush task, which has not run yet
    (flush,) = batcher._running
    flush.cancel()  # it took nothing: the item goes with the next flush
    assert await first == 10
    assert gate.batches == [[1]] and batcher.in_flight == 0 and batcher.queued == 0
    assert await batcher.submit(2) == 20
