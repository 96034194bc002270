"""Found in review: list output escapes control characters; flushes run in a context of their own;
httpx does not log every request's URL."""

from __future__ import annotations

import asyncio
import contextvars
import logging

from openisales.cli.common import _cell
from openisales.logs import configure
from openisales.store.batching import Batcher

REQUEST = contextvars.ContextVar("request", default="-")


def test_list_cells_escape_control_characters() -> None:
    assert _cell("New\x1b[2J\nyear") == "New\\x1b[2J\\nyear"
    assert _cell(["a\tb", "c"]) == "a\\tb,c"
    assert _cell("Mother's day Q&A é") == "Mother's day Q&A é"


async def test_a_flush_does_not_carry_the_submitting_request_s_context() -> None:
    seen: list[str] = []

    async def flush(items: list[str]) -> list[str]:
        seen.append(REQUEST.get())
        await asyncio.sleep(0)
        return items

    batcher: Batcher[str, str] = Batcher(flush, max_size=8, max_in_flight=1)

    async def submit(name: str) -> str:
        REQUEST.set(name)
        return await batcher.submit(name)

    assert await asyncio.gather(submit("a"), submit("b"), submit("c")) == ["a", "b", "c"]
    assert seen and set(seen) == {"-"}


def test_httpx_request_lines_are_not_logged_at_info() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure("info", "json")
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
        assert not logging.getLogger("httpcore").isEnabledFor(logging.INFO)
        assert logging.getLogger("openisales.push").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name in ("httpx", "httpcore", "alembic"):
            logging.getLogger(name).setLevel(logging.NOTSET)
