from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openisales.auth import signing

VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "c2.json").read_text())
WINDOW = timedelta(minutes=15)


def _request(v: dict) -> signing.Request:
    return signing.Request(v["method"], v["path"], v["query"], v["headers"], v["body"].encode())


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_sign_produces_the_checked_in_authorization(vector: dict) -> None:
    got = signing.sign(
        _request(vector),
        ak=vector["ak"],
        sk=vector["sk"],
        timestamp=vector["timestamp"],
        profile=vector["profile"],
    )
    assert got == vector["authorization"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_verify_accepts_the_checked_in_authorization(vector: dict) -> None:
    auth = signing.parse_authorization(vector["authorization"])
    assert auth.profile == vector["profile"]
    now = signing.parse_timestamp(vector["timestamp"]) + timedelta(seconds=30)
    signing.verify(_request(vector), auth, sk=vector["sk"], now=now, window=WINDOW)


def test_verify_refuses_a_profile_that_is_switched_off() -> None:
    vector = next(v for v in VECTORS if v["profile"] == "base64")
    auth = signing.parse_authorization(vector["authorization"])
    now = signing.parse_timestamp(vector["timestamp"])
    with pytest.raises(signing.SignatureError, match="unsupported format"):
        signing.verify(
            _request(vector), auth, sk=vector["sk"], now=now, window=WINDOW, profiles=("hex",)
        )


def test_wrong_sk_fails_and_the_message_holds_no_secret() -> None:
    vector = VECTORS[0]
    auth = signing.parse_authorization(vector["authorization"])
    now = signing.parse_timestamp(vector["timestamp"])
    with pytest.raises(signing.SignatureError) as info:
        signing.verify(_request(vector), auth, sk="another-secret-key!", now=now, window=WINDOW)
    assert "does not match" in str(info.value)
    expected = signing.sign(
        _request(vector), ak=vector["ak"], sk="another-secret-key!", timestamp=vector["timestamp"]
    ).rsplit("/", 1)[1]
    assert expected not in str(info.value)
    assert "another-secret-key" not in str(info.value)


@pytest.mark.parametrize("skew", [timedelta(minutes=15, milliseconds=1), -timedelta(minutes=16)])
def test_timestamps_outside_the_window_are_refused(skew: timedelta) -> None:
    vector = VECTORS[0]
    auth = signing.parse_authorization(vector["authorization"])
    now = signing.parse_timestamp(vector["timestamp"]) + skew
    with pytest.raises(signing.SignatureError, match="outside the allowed window"):
        signing.verify(_request(vector), auth, sk=vector["sk"], now=now, window=WINDOW)


def test_timestamp_exactly_at_the_window_edge_is_accepted() -> None:
    vector = VECTORS[0]
    auth = signing.parse_authorization(vector["authorization"])
    now = signing.parse_timestamp(vector["timestamp"]) + WINDOW
    signing.verify(_request(vector), auth, sk=vector["sk"], now=now, window=WINDOW)


def test_a_signed_header_missing_from_the_request_is_reported() -> None:
    vector = VECTORS[0]
    headers = {k: v for k, v in vector["headers"].items() if k != "content-length"}
    request = signing.Request(
        vector["method"], vector["path"], "", headers, vector["body"].encode()
    )
    auth = signing.parse_authorization(vector["authorization"])
    with pytest.raises(signing.SignatureError, match="'content-length' is missing"):
        signing.verify(
            request,
            auth,
            sk=vector["sk"],
            now=signing.parse_timestamp(vector["timestamp"]),
            window=WINDOW,
        )


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing Authorization"),
        ("", "missing Authorization"),
        ("Bearer abc", "expected auth-v2"),
        ("auth-v2/ak/2026-01-01T00:00:00.000Z/host", "expected auth-v2"),
        ("auth-v1/ak/2026-01-01T00:00:00.000Z/host/abc", "expected auth-v2"),
        ("auth-v2//2026-01-01T00:00:00.000Z/host/abc", "empty AK"),
        ("auth-v2/ak/2026-01-01T00:00:00.000Z/content-type/abc", "host must be"),
        ("auth-v2/ak/2026-01-01T00:00:00.000Z/host;content-type/abc", "sorted"),
        ("auth-v2/ak/2026-01-01T00:00:00.000Z/Host/abc", "host must be"),
        ("auth-v2/ak/2026-01-01T00:00:00.000Z/host/", "empty signature"),
    ],
)
def test_malformed_authorization_headers_say_what_is_wrong(header: str | None, reason: str) -> None:
    with pytest.raises(signing.SignatureError, match=reason):
        signing.parse_authorization(header)


@pytest.mark.parametrize(
    "text",
    ["2026-11-27 08:00:00.000Z", "2026-11-27T08:00:00.000", "2026-13-01T00:00:00Z", "yesterday"],
)
def test_bad_timestamps_are_malformed(text: str) -> None:
    with pytest.raises(signing.SignatureError, match="timestamp"):
        signing.parse_timestamp(text)


def test_timestamp_round_trip_keeps_milliseconds() -> None:
    moment = datetime(2026, 11, 27, 8, 0, 1, 123000, tzinfo=UTC)
    assert signing.format_timestamp(moment) == "2026-11-27T08:00:01.123Z"
    assert signing.parse_timestamp("2026-11-27T08:00:01.123Z") == moment
    assert signing.parse_timestamp("2026-11-27T08:00:01Z") == moment.replace(microsecond=0)


def test_canonical_query_sorts_decodes_and_encodes() -> None:
    assert signing.canonical_query("b=2&a=x%20y&c=&d") == "a=x%20y&b=2&c=&d="
    assert signing.canonical_query("q=a+b") == "q=a%2Bb"  # plus is a literal plus
    assert signing.canonical_query("") == ""


def test_normalize_keeps_only_unreserved_characters() -> None:
    assert signing.normalize("Az09-_.~ /é") == "Az09-_.~%20%2F%C3%A9"
