"""Logging set-up: JSON lines (default) or plain text, with the same fields in both.

Every line carries ``time`` (ISO 8601, UTC, milliseconds: ``2026-12-06T21:50:19.123Z``),
``level``, ``logger`` and ``message``, then the record's own fields: dialing
events carry ``dataId``, ``campaignId`` and ``attemptNo``; a line logged while
the API serves a request carries its ``requestId`` (the ``X-Request-Id`` of the
response), set by :func:`request_context` and added by :class:`RequestIdFilter`.
uvicorn's ``color_message`` (the message with ANSI colour codes) is dropped.

JSON::

    {"time": "2026-12-06T21:50:19.123Z", "level": "INFO", "logger": "openisales.push",
     "message": "pusher started", "worker": "p-ffb1e430abcd"}   (one line)

Text (``OPENISALES_LOG_FORMAT=text``), the record's fields as ``key=value``::

    2026-12-06T21:50:19.123Z INFO openisales.dialing dispatcher started worker=w-1300427cfffc
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_FIELD = "requestId"
# The id of the API request being served in this context (None outside a request).
_request_id: ContextVar[str | None] = ContextVar("openisales_request_id", default=None)

# Attributes every LogRecord has (``taskName`` from Python 3.12 on), the
# formatter's own, and uvicorn's coloured copy of the message: not fields.
_NOT_FIELDS = frozenset(
    {
        *logging.LogRecord("", 0, "", 0, "", (), None).__dict__,
        "message",
        "asctime",
        "taskName",
        "color_message",
    }
)


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return _request_id.get()


@contextmanager
def request_context(request_id: str) -> Iterator[None]:
    """Every line logged in this context (tasks started in it included) carries ``request_id``."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``requestId`` to a record logged while a request is served (unless it has one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = _request_id.get()
        if rid is not None and not hasattr(record, REQUEST_ID_FIELD):
            setattr(record, REQUEST_ID_FIELD, rid)
        return True


def iso_time(record: logging.LogRecord) -> str:
    """The record's time: ISO 8601, UTC, milliseconds, ``Z``."""
    moment = datetime.fromtimestamp(record.created, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's own fields (``extra=``, ``requestId``), in the order they were set."""
    return {
        k: v for k, v in record.__dict__.items() if k not in _NOT_FIELDS and not k.startswith("_")
    }


class JsonLines(JsonFormatter):
    """One JSON object a line: ``time``, ``level``, ``logger``, ``message``, then the fields."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            reserved_attrs=sorted(_NOT_FIELDS),
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: ARG002
        return iso_time(record)


class TextLines(logging.Formatter):
    """``time level logger message key=value ...``, then the traceback if there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: ARG002
        return iso_time(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extra = " ".join(f"{k}={_text_value(v)}" for k, v in fields(record).items())
        return f"{line} {extra}" if extra else line


def _text_value(value: Any) -> str:
    """A field's value in a text line: a plain word as is, anything else as JSON."""
    if isinstance(value, str):
        if value and value.isprintable() and not any(c.isspace() or c in "\"'=\\" for c in value):
            return value
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def handler(fmt: str = "json", stream: TextIO | None = None) -> logging.Handler:
    """A handler of ``fmt`` (``json``, ``text``) lines to ``stream`` (stderr), request ids added."""
    result = logging.StreamHandler(stream if stream is not None else sys.stderr)
    result.setFormatter(JsonLines() if fmt == "json" else TextLines())
    result.addFilter(RequestIdFilter())
    return result


def configure(level: str = "info", fmt: str = "json") -> None:
    """Route every logger (``openisales``, ``uvicorn``, ...) to stderr in ``fmt``."""
    root = logging.getLogger()
    root.handlers[:] = [handler(fmt)]
    root.setLevel(level.upper())
    # Alembic tells at INFO how it talks to the database each time a schema is
    # checked; only its warnings are worth a line.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs every request's full URL at INFO: a tenant's callBackUrl may
    # carry its credentials, and one line per push would flood the log.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
