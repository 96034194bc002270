"""A campaign and a claimed record as the dialing engine sees them, decoded once.

The store keeps a campaign's schedule, gateway configuration and caller
numbers as JSON text and the VDN's time zone as a name. :func:`dialing_campaign`
turns them into a :class:`DialingCampaign` (the parsed calling window, the
configuration as a mapping, the caller number chosen by priority, the
``ZoneInfo``) so that the dispatcher and the gateways never decode JSON.

Stored values the API cannot produce are handled as before the decoding
moved here:

* an empty schedule is a window without slots (never open); a schedule whose
  slots cannot be parsed (or that is not a JSON object) gives ``window=None``:
  the dispatcher logs it as unusable and does not dial the campaign;
* caller numbers: a JSON string is the caller number itself; in a list the
  object with the lowest ``priority`` wins (missing, null or 0 counts as 5),
  entries that are not objects are ignored; anything else means no caller
  number;
* an empty gateway configuration is ``{}``;
* caller numbers or a gateway configuration that are not JSON (or, for the
  configuration, not a JSON object) and an unknown time zone raise
  ``ValueError``.

Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from openisales.domain.calldata import Record
from openisales.domain.window import Window

DEFAULT_CALLER_PRIORITY = 5  # a caller number without (or with a 0) priority ranks here

# A decoded JSON object: its values are whatever JSON the campaign's settings hold.
JsonObject = Mapping[str, Any]


@dataclass(frozen=True)
class DialingCampaign:
    """A running campaign with its dialing settings decoded.

    ``window`` is None when the stored schedule is unusable; ``gateway`` None
    means the server's default gateway; ``max_concurrency`` None the server's
    default cap; ``caller_no`` None no caller number (a record's own caller
    still applies).
    """

    vdn_id: int
    campaign_id: int
    begin: datetime
    end: datetime
    window: Window | None
    max_concurrency: int | None
    gateway: str | None
    gateway_config: JsonObject
    caller_no: str | None
    tz: ZoneInfo


def decode_window(text: str | None) -> Window | None:
    """A stored ``scheduleParam`` -> its :class:`Window`; None when it cannot be used.

    Empty text is a window without slots (the campaign is never open).
    """
    if not text:
        return Window((), ())
    try:
        schedule = msgspec.json.decode(text)
        if not isinstance(schedule, dict):
            return None
        return Window.from_schedule(schedule)
    except (ValueError, TypeError):  # not JSON, a malformed slot, a slot that is not text
        return None


def decode_gateway_config(text: str | None) -> JsonObject:
    """A stored ``gatewayConfig`` -> a read-only mapping; ``{}`` when empty.

    Raises ``ValueError`` when the text is not a JSON object.
    """
    config = json.loads(text) if text else {}
    if not isinstance(config, dict):
        raise ValueError("gateway configuration is not a JSON object")
    return MappingProxyType(config)


def first_caller(callers: object) -> str | None:
    """The caller number of a decoded ``callerNo``: the one with the lowest priority.

    A string is the caller number itself. In a list, entries that are not
    objects are ignored and a missing, null or 0 ``priority`` counts as
    :data:`DEFAULT_CALLER_PRIORITY`; ties keep the stored order. Anything else
    (an empty list, no object in the list, another JSON value) is None.
    """
    if isinstance(callers, str):
        return callers
    if isinstance(callers, list) and callers:
        ranked = sorted(
            (c for c in callers if isinstance(c, dict)),
            key=lambda c: c.get("priority") or DEFAULT_CALLER_PRIORITY,
        )
        code = ranked[0].get("accessCode") if ranked else None
        return str(code) if code is not None else None
    return None


def decode_caller(text: str | None) -> str | None:
    """The caller number of a stored ``callerNo`` (see :func:`first_caller`).

    Empty text is no caller number. Raises ``ValueError`` when the text is not
    JSON or the priorities cannot be compared.
    """
    try:
        return first_caller(msgspec.json.decode(text) if text else [])
    except TypeError as exc:  # priorities of different types
        raise ValueError(f"caller numbers cannot be ranked: {exc}") from None


def zone_info(name: str) -> ZoneInfo:
    """The VDN's time zone by IANA name; ``ValueError`` when there is no such zone."""
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        raise ValueError(f"unknown time zone {name!r}") from None


def dialing_campaign(
    *,
    vdn_id: int,
    campaign_id: int,
    begin: datetime,
    end: datetime,
    schedule: str | None,
    max_concurrency: int | None,
    gateway: str | None,
    gateway_config: str | None,
    caller_no: str | None,
    time_zone: str,
) -> DialingCampaign:
    """Decode a campaign's stored dialing settings (see the module docstring).

    Raises ``ValueError`` for caller numbers or a gateway configuration that
    cannot be decoded and for an unknown time zone.
    """
    return DialingCampaign(
        vdn_id=vdn_id,
        campaign_id=campaign_id,
        begin=begin,
        end=end,
        window=decode_window(schedule),
        max_concurrency=max_concurrency,
        gateway=gateway,
        gateway_config=decode_gateway_config(gateway_config),
        caller_no=decode_caller(caller_no),
        tz=zone_info(time_zone),
    )


@dataclass(frozen=True, slots=True)
class Claim:
    """A record the dispatcher claimed: being called now, ``record.attempt_no`` its new attempt.

    ``next_call_time`` is when it was due (retry lateness is measured from it);
    ``reserved_work_no`` the agent its retry is reserved for, if any.
    """

    record: Record
    caller: str | None
    call_data: str | None
    reserved_work_no: str | None
    next_call_time: datetime | None
