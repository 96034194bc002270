from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, strategies as st

from openisales.auth import signing

VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "c2.json").read_text())
WINDOW = timedelta(minutes=15)
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
TS = signing.format_timestamp(NOW)


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
    # decoded as the handlers read a query: "+" is a space, "%2B" a plus
    assert signing.canonical_query("q=a+b") == signing.canonical_query("q=a%20b") == "q=a%20b"
    assert signing.canonical_query("q=a%2Bb") == "q=a%2Bb"
    assert signing.canonical_query("t=2026-01-01+00:00:00") == "t=2026-01-01%2000%3A00%3A00"
    assert signing.canonical_query("") == ""


def test_normalize_keeps_only_unreserved_characters() -> None:
    assert signing.normalize("Az09-_.~ /é") == "Az09-_.~%20%2F%C3%A9"


@given(st.text(max_size=300))
def test_a_header_is_normalized_as_any_text_is_remembered_or_not(value: str) -> None:
    assert signing.normalize_header(value) == signing.normalize(value)
    assert signing.normalize_header(value) == signing.normalize(value)  # a second time: cached


def test_only_short_header_values_are_remembered() -> None:
    signing._normalize_short.cache_clear()
    signing.normalize_header("application/json;charset=UTF-8")
    signing.normalize_header("application/json;charset=UTF-8")
    signing.normalize_header("x" * 129)
    info = signing._normalize_short.cache_info()
    assert (info.hits, info.misses, info.currsize) == (1, 1, 1)
    assert info.maxsize is not None and info.maxsize <= 512


class _CountingHeaders(dict[str, str]):
    """A header mapping that counts look-ups."""

    lookups = 0

    def get(self, key: str, default: Any = None) -> Any:
        _CountingHeaders.lookups += 1
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        _CountingHeaders.lookups += 1
        return super().__getitem__(key)


@pytest.mark.parametrize("profile", signing.PROFILES)
def test_verifying_n_signed_headers_looks_each_up_once(profile: signing.Profile) -> None:
    n = 500
    headers = {"host": "h:1", "content-type": "application/json", "content-length": "2"}
    headers |= {f"x-h{i:03d}": str(i) for i in range(n)}
    request = signing.Request("POST", "/p", "", headers, b"{}")
    value = signing.sign(
        request,
        ak="ak",
        sk="sk-0123456789abcdef",
        timestamp=TS,
        profile=profile,
        signed_headers=tuple(headers),
    )
    auth = signing.parse_authorization(value, signing.Limits(100_000, 128, n + 3))
    counting = signing.Request("POST", "/p", "", _CountingHeaders(headers), b"{}")
    _CountingHeaders.lookups = 0
    signing.verify(counting, auth, sk="sk-0123456789abcdef", now=NOW, window=WINDOW)
    assert _CountingHeaders.lookups == n + 3


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("auth-v2/" + "a" * 129 + "/2026-01-01T00:00:00Z/host/abc", "AK is longer than 128"),
        ("auth-v2/ak/2026-01-01T00:00:00Z/" + ";".join(["host"] * 65) + "/abc", "more than 64"),
        ("auth-v2/ak/2026-01-01T00:00:00Z/host/" + "a" * 4096, "longer than 4096 characters"),
    ],
)
def test_oversized_authorization_headers_are_malformed(header: str, reason: str) -> None:
    with pytest.raises(signing.SignatureError, match=reason):
        signing.parse_authorization(header)


def test_the_limits_are_configurable() -> None:
    header = "auth-v2/" + "a" * 100 + "/2026-01-01T00:00:00Z/content-type;host/abc"
    signing.parse_authorization(header)
    with pytest.raises(signing.SignatureError, match="longer than 99 characters"):
        signing.parse_authorization(header, signing.Limits(ak_length=99))
    with pytest.raises(signing.SignatureError, match="more than 1 signed headers"):
        signing.parse_authorization(header, signing.Limits(signed_headers=1))
    with pytest.raises(signing.SignatureError, match="longer than 150 characters"):
        signing.parse_authorization(header, signing.Limits(header_length=150))


def test_a_body_needs_a_signed_content_type() -> None:
    vector = VECTORS[0]
    request = _request(vector)
    value = signing.sign(
        request,
        ak=vector["ak"],
        sk=vector["sk"],
        timestamp=vector["timestamp"],
        signed_headers=("content-length", "host"),
    )
    auth = signing.parse_authorization(value)
    with pytest.raises(signing.SignatureError, match="content-type must be a signed header"):
        signing.check_request(request, auth)
    with pytest.raises(signing.SignatureError, match="content-type must be a signed header"):
        signing.verify(
            request,
            auth,
            sk=vector["sk"],
            now=signing.parse_timestamp(vector["timestamp"]),
            window=WINDOW,
        )
    bodiless = signing.Request("GET", "/p", "", {"host": "h"}, b"")
    signing.check_request(bodiless, signing.parse_authorization("auth-v2/ak/ts/host/abc"))
