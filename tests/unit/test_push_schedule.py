"""The push retry schedule, the receiver contract and pushIds (domain.push)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openisales.domain.push import (
    body,
    held_back_until,
    next_push,
    parse_push_id,
    push_id,
    verdict,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TEN_MINUTES = timedelta(minutes=10)


def test_a_first_failure_is_retried_at_once_then_every_interval() -> None:
    assert next_push(1, T0, TEN_MINUTES) == T0
    for attempts in (2, 3, 4, 5):
        assert next_push(attempts, T0, TEN_MINUTES) == T0 + TEN_MINUTES


def test_the_sixth_failed_push_is_the_last_by_default() -> None:
    assert next_push(5, T0) is not None
    assert next_push(6, T0) is None
    assert next_push(7, T0) is None


def test_the_whole_default_schedule_spans_forty_minutes() -> None:
    moments = [T0]
    attempts = 1
    while (due := next_push(attempts, moments[-1])) is not None:
        moments.append(due)
        attempts += 1
    assert len(moments) == 6
    assert [m - T0 for m in moments] == [timedelta(0), timedelta(0)] + [
        TEN_MINUTES * k for k in (1, 2, 3, 4)
    ]


@pytest.mark.parametrize(("max_pushes", "pushes"), [(1, 1), (2, 2), (3, 3), (10, 10)])
def test_max_pushes_bounds_the_number_of_pushes(max_pushes: int, pushes: int) -> None:
    attempts, now = 1, T0
    while (
        due := next_push(attempts, now, timedelta(seconds=5), max_pushes=max_pushes)
    ) is not None:
        attempts, now = attempts + 1, due
    assert attempts == pushes


def test_naive_times_and_zero_attempts_are_refused() -> None:
    with pytest.raises(ValueError):
        next_push(1, datetime(2026, 3, 1))
    with pytest.raises(ValueError):
        next_push(0, T0)


def test_a_destination_is_held_back_from_the_thresholdth_failure_in_a_row() -> None:
    hold = timedelta(seconds=60)
    for failures in (0, 1, 4):
        assert held_back_until(failures, T0, threshold=5, hold=hold) is None
    for failures in (5, 6, 50):  # each further failure (the probe after a hold) holds it again
        assert held_back_until(failures, T0, threshold=5, hold=hold) == T0 + hold


def test_threshold_zero_never_holds_a_destination_back() -> None:
    assert held_back_until(1000, T0, threshold=0, hold=timedelta(seconds=60)) is None


def test_a_bad_circuit_rule_is_refused() -> None:
    with pytest.raises(ValueError):
        held_back_until(5, datetime(2026, 3, 1), threshold=5, hold=timedelta(seconds=1))
    with pytest.raises(ValueError):
        held_back_until(5, T0, threshold=-1, hold=timedelta(seconds=1))
    with pytest.raises(ValueError):
        held_back_until(5, T0, threshold=5, hold=timedelta(0))


@pytest.mark.parametrize(
    ("status", "content", "error"),
    [
        (200, b'{"retCode":"0","retMsg":"success"}', None),
        (200, b'{"retCode":"0"}', None),
        (500, b'{"retCode":"0"}', "HTTP 500"),
        (204, b"", "HTTP 204"),
        (200, b'{"retCode":"1","retMsg":"busy"}', "retCode '1': busy"),
        (200, b'{"retCode":0}', "retCode 0"),
        (200, b"OK", "HTTP 200 without a JSON answer"),
        (200, b'["0"]', "HTTP 200 with a JSON answer that is not an object"),
        (200, b"{}", "retCode None"),
    ],
)
def test_only_http_200_with_ret_code_string_zero_is_a_delivery(
    status: int, content: bytes, error: str | None
) -> None:
    assert verdict(status, content) == error


def test_the_body_is_the_bare_array_of_the_stored_objects() -> None:
    assert body(['{"pushId":"1.1"}', '{"pushId":"2.1"}']) == b'[{"pushId":"1.1"},{"pushId":"2.1"}]'
    assert body([]) == b"[]"


def test_push_ids_round_trip_and_garbage_is_refused() -> None:
    assert parse_push_id(push_id(1700000000000000001, 2)) == (1700000000000000001, 2)
    for text in ("", "12", "12.", ".3", "a.1", "1.b", "-1.1", "1.1.1"):
        with pytest.raises(ValueError):
            parse_push_id(text)
