"""sign -> verify holds for arbitrary requests; any single change breaks it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from hypothesis import assume, given, strategies as st

from openisales.auth import signing

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
TS = signing.format_timestamp(NOW)
WINDOW = timedelta(minutes=15)

paths = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)
query_pairs = st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=8)), max_size=4)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE"])
profiles = st.sampled_from(signing.PROFILES)
hosts = st.from_regex(r"\A[a-z0-9.-]{1,20}(:[0-9]{1,5})?\Z")


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


@st.composite
def requests(draw: st.DrawFn) -> signing.Request:
    body = draw(st.text(max_size=200)).encode()
    headers = {
        "host": draw(hosts),
        "content-type": draw(
            st.sampled_from(["application/json; charset=UTF-8", "application/json;charset=UTF-8"])
        ),
        "content-length": str(len(body)),
    }
    return signing.Request(draw(methods), draw(paths), _query(draw(query_pairs)), headers, body)


def _sign(request: signing.Request, profile: signing.Profile) -> signing.Authorization:
    value = signing.sign(
        request, ak="ak-test", sk="sk-secret-0123456789", timestamp=TS, profile=profile
    )
    return signing.parse_authorization(value)


def _ok(request: signing.Request, auth: signing.Authorization) -> bool:
    try:
        signing.verify(request, auth, sk="sk-secret-0123456789", now=NOW, window=WINDOW)
    except signing.SignatureError:
        return False
    return True


@given(requests(), profiles)
def test_sign_then_verify_holds(request: signing.Request, profile: signing.Profile) -> None:
    auth = _sign(request, profile)
    assert auth.profile == profile
    assert _ok(request, auth)


@given(requests(), profiles, methods)
def test_changing_the_method_breaks_it(request, profile, method) -> None:
    assume(method != request.method)
    auth = _sign(request, profile)
    assert not _ok(
        signing.Request(method, request.path, request.query, request.headers, request.body), auth
    )


@given(requests(), profiles, paths)
def test_changing_the_path_breaks_it(request, profile, path) -> None:
    assume(path != request.path)
    auth = _sign(request, profile)
    assert not _ok(
        signing.Request(request.method, path, request.query, request.headers, request.body), auth
    )


@given(requests(), profiles, query_pairs)
def test_changing_the_query_breaks_it(request, profile, pairs) -> None:
    query = _query(pairs)
    assume(signing.canonical_query(query) != signing.canonical_query(request.query))
    auth = _sign(request, profile)
    assert not _ok(
        signing.Request(request.method, request.path, query, request.headers, request.body), auth
    )


@given(
    requests(),
    profiles,
    st.sampled_from(["host", "content-type", "content-length"]),
    st.text(min_size=1, max_size=10),
)
def test_changing_a_signed_header_breaks_it(request, profile, name, suffix) -> None:
    new_value = request.headers[name] + suffix
    assume(new_value.strip() != request.headers[name].strip())
    auth = _sign(request, profile)
    headers = {**request.headers, name: new_value}
    assert not _ok(
        signing.Request(request.method, request.path, request.query, headers, request.body), auth
    )


@given(requests(), profiles, st.data())
def test_changing_one_byte_of_the_body_breaks_it(request, profile, data) -> None:
    assume(request.body)
    auth = _sign(request, profile)
    index = data.draw(st.integers(0, len(request.body) - 1))
    delta = data.draw(st.integers(1, 255))
    body = bytearray(request.body)
    body[index] = (body[index] + delta) % 256
    assert not _ok(
        signing.Request(request.method, request.path, request.query, request.headers, bytes(body)),
        auth,
    )


@given(requests(), profiles)
def test_a_different_sk_breaks_it(request, profile) -> None:
    auth = _sign(request, profile)
    with pytest.raises(signing.SignatureError):
        signing.verify(request, auth, sk="sk-secret-0123456788", now=NOW, window=WINDOW)


@given(requests(), profiles, st.text(max_size=20))
def test_a_body_never_verifies_without_a_signed_content_type(request, profile, content_type):
    assume(request.body)
    value = signing.sign(
        request,
        ak="ak-test",
        sk="sk-secret-0123456789",
        timestamp=TS,
        profile=profile,
        signed_headers=("content-length", "host"),
    )
    headers = {**request.headers, "content-type": content_type}
    changed = signing.Request(request.method, request.path, request.query, headers, request.body)
    assert not _ok(changed, signing.parse_authorization(value))


@given(requests(), profiles)
def test_what_sign_makes_by_default_is_within_the_default_limits(request, profile) -> None:
    value = signing.sign(
        request, ak="a" * 64, sk="sk-secret-0123456789", timestamp=TS, profile=profile
    )
    assert len(value) <= signing.DEFAULT_LIMITS.header_length
    signing.parse_authorization(value)  # raises if a limit refused it


@given(st.one_of(st.text(max_size=60), st.binary(max_size=60)))
def test_normalize_percent_encodes_exactly_as_urllib_quote(value: str | bytes) -> None:
    """The table-driven encoding answers what ``quote(value, safe="")`` answers."""
    try:
        expected = quote(value, safe="")
    except UnicodeEncodeError:  # a lone surrogate: neither can encode it
        with pytest.raises(UnicodeEncodeError):
            signing.normalize(value)
        return
    assert signing.normalize(value) == expected
