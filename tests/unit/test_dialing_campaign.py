"""A campaign as the dialer sees it: caller choice, gateway configuration, schedule, time zone."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from openisales.domain.dialing import (
    decode_caller,
    decode_gateway_config,
    decode_window,
    dialing_campaign,
    first_caller,
    zone_info,
)
from openisales.domain.window import Slot, Window

BEGIN = datetime(2026, 5, 1, tzinfo=UTC)
END = datetime(2026, 12, 31, tzinfo=UTC)
SCHEDULE = '{"workdayBeginTime1":"14:00","workdayEndTime1":"18:00","workdayBeginTime2":"09:00",'
SCHEDULE += '"workdayEndTime2":"12:00","holidayBeginTime1":"","holidayEndTime1":""}'


def stored(**overrides: Any) -> dict[str, Any]:
    return {
        "vdn_id": 1,
        "campaign_id": 7,
        "begin": BEGIN,
        "end": END,
        "schedule": SCHEDULE,
        "max_concurrency": 3,
        "gateway": "webhook",
        "gateway_config": '{"url":"https://cti.example/tasks"}',
        "caller_no": '[{"accessCode":"200","priority":2},{"accessCode":"100","priority":1}]',
        "time_zone": "Asia/Shanghai",
    } | overrides


def test_a_stored_campaign_is_decoded_once() -> None:
    campaign = dialing_campaign(**stored())
    assert (campaign.vdn_id, campaign.campaign_id) == (1, 7)
    assert (campaign.begin, campaign.end) == (BEGIN, END)
    assert campaign.window == Window((Slot(540, 720), Slot(840, 1080)), ())
    assert (campaign.max_concurrency, campaign.gateway) == (3, "webhook")
    assert campaign.gateway_config == {"url": "https://cti.example/tasks"}
    assert campaign.caller_no == "100"
    assert campaign.tz == ZoneInfo("Asia/Shanghai")
    with pytest.raises(dataclasses.FrozenInstanceError):
        campaign.caller_no = "300"  # type: ignore[misc]
    with pytest.raises(TypeError):
        campaign.gateway_config["url"] = "https://elsewhere.example"  # type: ignore[index]


def test_server_defaults_stay_none() -> None:
    campaign = dialing_campaign(**stored(max_concurrency=None, gateway=None, gateway_config=None))
    assert (campaign.max_concurrency, campaign.gateway, campaign.gateway_config) == (None, None, {})


# ------------------------------------------------------------------ caller number


@pytest.mark.parametrize(
    ("callers", "expected"),
    [
        ([{"accessCode": "2", "priority": 2}, {"accessCode": "1", "priority": 1}], "1"),
        ([{"accessCode": "5", "priority": 5}, {"accessCode": "4", "priority": 4}], "4"),
        # missing, null and 0 priority rank as 5; ties keep the stored order
        ([{"accessCode": "a"}, {"accessCode": "b", "priority": 4}], "b"),
        ([{"accessCode": "a"}, {"accessCode": "b", "priority": 6}], "a"),
        ([{"accessCode": "a", "priority": None}, {"accessCode": "b", "priority": 5}], "a"),
        ([{"accessCode": "a", "priority": 0}, {"accessCode": "b", "priority": 5}], "a"),
        ([{"accessCode": "a", "priority": 0}, {"accessCode": "b", "priority": 4}], "b"),
        ([{"accessCode": "a", "priority": 3}, {"accessCode": "b", "priority": 3}], "a"),
        # the number is text even when stored as a JSON number
        ([{"accessCode": 88889527, "priority": 1}], "88889527"),
        # entries that are not objects are ignored
        (["x", 3, None, [], {"accessCode": "c"}], "c"),
        # a bare string is the caller number itself (the v1 form)
        ("88889527", "88889527"),
        ("", ""),
        # nothing to choose from
        ([], None),
        (["x", 3], None),
        ({"accessCode": "1"}, None),
        ([{"priority": 1}], None),  # no accessCode: no caller number (not "None")
        (None, None),
        (42, None),
    ],
)
def test_the_caller_number_with_the_lowest_priority_wins(callers: object, expected: str) -> None:
    assert first_caller(callers) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[{"accessCode":"2","priority":2},{"accessCode":"1","priority":1}]', "1"),
        ('"88889527"', "88889527"),
        ("[]", None),
        ("null", None),
        ('{"accessCode":"1"}', None),
        ("", None),
        (None, None),
    ],
)
def test_stored_caller_numbers(text: str | None, expected: str | None) -> None:
    assert decode_caller(text) == expected


@pytest.mark.parametrize(
    "text",
    ["[{", "not json", '[{"accessCode":"1","priority":"1"},{"accessCode":"2","priority":2}]'],
)
def test_caller_numbers_that_cannot_be_decoded_or_ranked(text: str) -> None:
    with pytest.raises(ValueError):
        decode_caller(text)
    with pytest.raises(ValueError):
        dialing_campaign(**stored(caller_no=text))


# ------------------------------------------------------------------ gateway configuration


def test_gateway_configuration_is_a_mapping() -> None:
    config = decode_gateway_config('{"seed":7,"mix":{"00000":1},"agents":["2033"]}')
    assert config == {"seed": 7, "mix": {"00000": 1}, "agents": ["2033"]}
    assert decode_gateway_config(None) == {} and decode_gateway_config("") == {}
    assert decode_gateway_config("{}") == {}


@pytest.mark.parametrize("text", ["{", "url=https://x", "[]", '"x"', "null", "1"])
def test_a_gateway_configuration_that_is_not_an_object(text: str) -> None:
    with pytest.raises(ValueError):
        decode_gateway_config(text)
    with pytest.raises(ValueError):
        dialing_campaign(**stored(gateway_config=text))


# ------------------------------------------------------------------ schedule


def test_schedule_is_parsed_into_a_window() -> None:
    window = decode_window('{"holidayBeginTime1":"10:00","holidayEndTime1":"23:59"}')
    assert window == Window((), (Slot(600, 1440),))
    assert decode_window('{"workdayBeginTime1":null,"workdayEndTime1":null}') == Window((), ())


@pytest.mark.parametrize("text", ["", None, "{}"])
def test_an_empty_schedule_is_never_open(text: str | None) -> None:
    assert decode_window(text) == Window((), ())


@pytest.mark.parametrize(
    "text",
    [
        '{"workdayBeginTime1":"09:00"}',  # begin without end
        '{"workdayBeginTime1":"12:00","workdayEndTime1":"09:00"}',  # begin after end
        '{"workdayBeginTime1":"9:00","workdayEndTime1":"12:00"}',  # not HH:mm
        '{"workdayBeginTime1":900,"workdayEndTime1":"12:00"}',  # not text
        "[]",
        "null",
        "{",
    ],
)
def test_an_unusable_schedule_has_no_window(text: str) -> None:
    assert decode_window(text) is None
    assert dialing_campaign(**stored(schedule=text)).window is None


# ------------------------------------------------------------------ time zone


def test_time_zone() -> None:
    assert zone_info("Europe/Paris") is ZoneInfo("Europe/Paris")
    for name in ("Nowhere/Atlantis", "", "../etc/passwd"):
        with pytest.raises(ValueError):
            zone_info(name)
        with pytest.raises(ValueError):
            dialing_campaign(**stored(time_zone=name))
