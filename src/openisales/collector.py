"""The garbage collector of a long-running process: fewer, shorter pauses.

A write-back or a claimed batch allocates many short-lived objects. With
Python's default thresholds (700, 10, 10) that sets off a young collection
every few hundred of them and a full one every few seconds, and a full
collection scans everything the process loaded at start-up (the modules, the
application, SQLAlchemy's tables): measured, a quarter of a busy dispatcher's
time, and pauses of about 130 ms in a serving process, which show in the
write-back's p99. :func:`tuned` freezes what the process holds when it starts
serving (never scanned again) and collects young objects every
:data:`THRESHOLDS`\\ [0] allocations. A young collection's pause grows with
that number: at 50,000 a serving process paused 6–13 ms every few seconds
under load; at 10,000 one paused 5 ms in two benchmark runs and the rest
less than 3 ms. The older generations keep their pace (the middle one every
million allocations, as before). Nested uses share the outermost one.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (10_000, 100, 10)
_depth = 0


@contextmanager
def tuned() -> Iterator[None]:
    """The settings above until the block exits; then Python's own, and nothing frozen."""
    global _depth
    if _depth:
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    _depth = 1
    try:
        yield
    finally:
        _depth = 0
        gc.set_threshold(*before)
        gc.unfreeze()
