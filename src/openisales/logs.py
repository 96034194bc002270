"""Logging set-up: structured JSON lines (default) or plain text."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


def configure(level: str = "info", fmt: str = "json") -> None:
    """Route the ``openisales`` and ``uvicorn`` loggers to stderr in ``fmt``.

    Dialing events carry ``dataId``, ``campaignId`` and ``attemptNo`` as fields.
    """
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic tells at INFO how it talks to the database each time a schema is
    # checked; only its warnings are worth a line.
    logging.getLogger("alembic").setLevel(logging.WARNING)
