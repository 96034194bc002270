"""The log formatters: ISO 8601 UTC times, no ``color_message``, the request id (issue 12)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from openisales import logs

ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("openisales.test.logs")
    handlers, propagate, level = log.handlers[:], log.propagate, log.level
    log.propagate = False
    log.setLevel(logging.INFO)
    yield log
    log.handlers[:] = handlers
    log.propagate = propagate
    log.setLevel(level)


def _lines(logger: logging.Logger, fmt: str, emit: object) -> list[str]:
    stream = io.StringIO()
    logger.handlers[:] = [logs.handler(fmt, stream)]
    assert callable(emit)
    emit()
    return stream.getvalue().splitlines()


def _uvicorn_style(logger: logging.Logger) -> None:
    # uvicorn logs a coloured copy of its message (ANSI escapes) in ``color_message``
    logger.info("Started server process [%d]", 42, extra={"color_message": "[\x1b[36m%d\x1b[0m]"})


def test_a_json_line_has_an_iso_utc_time_and_no_color_message(logger: logging.Logger) -> None:
    (line,) = _lines(logger, "json", lambda: _uvicorn_style(logger))
    record = json.loads(line)
    assert list(record) == ["time", "level", "logger", "message"]
    assert ISO_UTC.fullmatch(record["time"]), record
    assert record["level"] == "INFO" and record["logger"] == "openisales.test.logs"
    assert record["message"] == "Started server process [42]"
    assert "\x1b" not in line and "\\u001b" not in line


def test_the_time_is_the_records_in_utc(logger: logging.Logger) -> None:
    record = logging.LogRecord("x", logging.INFO, "", 0, "m", (), None)
    record.created = 1_796_593_819.1239  # 2026-12-06 21:50:19.123 UTC
    assert logs.iso_time(record) == "2026-12-06T21:50:19.123Z"


def test_text_lines_carry_the_same_fields(logger: logging.Logger) -> None:
    def emit() -> None:
        _uvicorn_style(logger)
        with logs.request_context("r-1"):
            logger.warning(
                "dialled",
                extra={"dataId": "281474976710657", "note": "two words", "pushIds": ["p1", "p2"]},
            )

    started, dialled = _lines(logger, "text", emit)
    time, level, name, message = started.split(" ", 3)
    assert ISO_UTC.fullmatch(time) and level == "INFO" and name == "openisales.test.logs"
    assert message == "Started server process [42]"  # no color_message
    assert dialled.endswith(
        ' dialled dataId=281474976710657 note="two words" pushIds=["p1","p2"] requestId=r-1'
    ), dialled


def test_the_request_id_is_on_lines_inside_a_request_only(logger: logging.Logger) -> None:
    def emit() -> None:
        logger.info("before")
        with logs.request_context("abc123"):
            logger.info("inside")
            assert logs.current_request_id() == "abc123"
        logger.info("after")

    before, inside, after = (json.loads(x) for x in _lines(logger, "json", emit))
    assert "requestId" not in before and "requestId" not in after
    assert inside["requestId"] == "abc123"
    assert logs.current_request_id() is None


def test_tasks_started_inside_a_request_carry_its_id(logger: logging.Logger) -> None:
    async def main() -> None:
        async def work(n: int) -> None:
            await asyncio.sleep(0)
            logger.info("task %d", n)

        with logs.request_context("one"):
            first = asyncio.create_task(work(1))
        with logs.request_context("two"):
            await work(2)
        await first

    lines = [json.loads(x) for x in _lines(logger, "json", lambda: asyncio.run(main()))]
    assert {x["message"]: x["requestId"] for x in lines} == {"task 1": "one", "task 2": "two"}


def test_an_explicit_request_id_is_kept(logger: logging.Logger) -> None:
    def emit() -> None:
        with logs.request_context("outer"):
            logger.error("failed", extra={"requestId": "given"})

    (line,) = _lines(logger, "json", emit)
    assert json.loads(line)["requestId"] == "given"


def test_an_exception_is_one_json_line(logger: logging.Logger) -> None:
    def emit() -> None:
        try:
            raise ZeroDivisionError("boom")
        except ZeroDivisionError:
            logger.exception("unexpected")

    (line,) = _lines(logger, "json", emit)
    assert "ZeroDivisionError: boom" in json.loads(line)["exc_info"]


def test_configure_routes_the_root_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    try:
        logs.configure("warning", "text")
        logging.getLogger("openisales.test.configure").warning("seen")
        logging.getLogger("openisales.test.configure").info("not seen")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    (line,) = stream.getvalue().splitlines()
    assert line.endswith(" WARNING openisales.test.configure seen")
