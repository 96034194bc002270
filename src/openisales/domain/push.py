"""Result pushes (spec 2.6), pure: the retry schedule, the receiver contract, the body.

* Schedule: a push that failed is tried again at once (the second try), then
  every ``interval``; a record is pushed at most ``max_pushes`` times (Huawei:
  6), after which it has failed.
* Receiver contract: delivered only on HTTP 200 whose body is a JSON object
  with ``retCode == "0"``; anything else (another status, another retCode,
  no JSON, an integer ``0``) is a failed push.
* Body: the bare JSON array of the records' stored JSON objects, byte for byte.
* ``pushId`` = ``dataId.seq``: stable for one completion of a record, so a
  receiver de-duplicates on it when a push is sent again.
* Circuit: a destination (one ``callBackUrl``) whose last ``threshold`` POSTs
  in a row failed is held back for a while; its pushes wait, without counting
  a push, instead of taking the pusher's slots.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

MAX_PUSHES = 6
RETRY_INTERVAL = timedelta(minutes=10)
SUCCESS_BODY = {"retCode": "0", "retMsg": "success"}


def next_push(
    attempts: int,
    now: datetime,
    interval: timedelta = RETRY_INTERVAL,
    *,
    max_pushes: int = MAX_PUSHES,
) -> datetime | None:
    """When to push again after the ``attempts``-th push (counting from 1) failed at ``now``.

    ``None`` when ``max_pushes`` have been made: the push has failed for good.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if attempts < 1:
        raise ValueError("attempts counts the pushes made, starting at 1")
    if attempts >= max_pushes:
        return None
    if attempts == 1:
        return now
    return now + interval


def held_back_until(
    consecutive_failures: int, now: datetime, *, threshold: int, hold: timedelta
) -> datetime | None:
    """Until when a destination whose last ``consecutive_failures`` POSTs failed is held back.

    ``None`` while fewer than ``threshold`` failed in a row (``threshold`` 0:
    never). Every further failure holds it back again from ``now``: after the
    hold, the next POST is the probe, and only a success closes the circuit.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if threshold < 0 or hold <= timedelta(0):
        raise ValueError("threshold must be >= 0 and hold positive")
    if threshold == 0 or consecutive_failures < threshold:
        return None
    return now + hold


def verdict(status_code: int, content: bytes) -> str | None:
    """``None`` when the receiver acknowledged the push, else why not (for ``last_error``)."""
    if status_code != 200:
        return f"HTTP {status_code}"
    try:
        answer = json.loads(content)
    except ValueError:
        return "HTTP 200 without a JSON answer"
    if not isinstance(answer, dict):
        return "HTTP 200 with a JSON answer that is not an object"
    code = answer.get("retCode")
    if code == "0":
        return None
    message = answer.get("retMsg")
    return f"retCode {code!r}" + (f": {message}" if message else "")


def body(payloads: Sequence[str]) -> bytes:
    """The pushed JSON array of the stored record objects (each already JSON text)."""
    return ("[" + ",".join(payloads) + "]").encode()


def push_id(data_id: int, seq: int) -> str:
    return f"{data_id}.{seq}"


def parse_push_id(text: str) -> tuple[int, int]:
    """``"dataId.seq"`` → ``(dataId, seq)``; ``ValueError`` when it is not one."""
    data, dot, seq = text.strip().partition(".")
    if not dot or not data.isdigit() or not seq.isdigit():
        raise ValueError(f"not a pushId (dataId.seq): {text!r}")
    return int(data), int(seq)
