"""The add interval rule (pure) and the two settings of issue 11."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openisales.config import ConfigError, Settings
from openisales.domain.calldata import TOO_FREQUENT, check_interval
from openisales.errors import Conflict

T = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last", "now", "interval", "refused"),
    [
        (None, T, 1.0, False),  # the first add
        (T, T, 1.0, True),
        (T, T + timedelta(milliseconds=999), 1.0, True),
        (T, T + timedelta(seconds=1), 1.0, False),
        (T, T - timedelta(seconds=5), 1.0, True),  # a clock behind the last add's
        (T, T, 0.0, False),  # 0 turns the rule off
        (T, T + timedelta(milliseconds=250), 0.25, False),
        (T, T + timedelta(milliseconds=249), 0.25, True),
    ],
)
def test_check_interval(
    last: datetime | None, now: datetime, interval: float, refused: bool
) -> None:
    if refused:
        with pytest.raises(Conflict) as caught:
            check_interval(last, now, interval)
        assert caught.value.result_code == TOO_FREQUENT == "0200022"
    else:
        check_interval(last, now, interval)


def test_the_settings_default_to_huaweis_values_and_read_the_environment() -> None:
    defaults = Settings.from_env({})
    assert defaults.calldata_min_interval_s == 1.0
    assert defaults.max_caller_nos_per_campaign == 100
    read = Settings.from_env(
        {
            "OPENISALES_CALLDATA_MIN_INTERVAL_S": "0.5",
            "OPENISALES_MAX_CALLER_NOS_PER_CAMPAIGN": "7",
        }
    )
    assert (read.calldata_min_interval_s, read.max_caller_nos_per_campaign) == (0.5, 7)
    assert (
        Settings.from_env({"OPENISALES_CALLDATA_MIN_INTERVAL_S": "0"}).calldata_min_interval_s == 0
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CALLDATA_MIN_INTERVAL_S", "-1"),
        ("CALLDATA_MIN_INTERVAL_S", "3601"),
        ("CALLDATA_MIN_INTERVAL_S", "nan"),
        ("CALLDATA_MIN_INTERVAL_S", "soon"),
        ("MAX_CALLER_NOS_PER_CAMPAIGN", "0"),
        ("MAX_CALLER_NOS_PER_CAMPAIGN", "10001"),
        ("MAX_CALLER_NOS_PER_CAMPAIGN", "1.5"),
    ],
)
def test_bad_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({"OPENISALES_" + name: value})
