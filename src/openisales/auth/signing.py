"""C2 AK/SK request signing ("auth-v2"), pure: no I/O, time passed in.

``Authorization: auth-v2/{AK}/{timestamp}/{signedHeaders}/{signature}``

Two byte-level profiles exist in the public ports of Huawei's signing demo
(see ``docs/signing.md``):

* ``hex`` - signing key and signature are lower-case hex strings; the canonical
  headers are ``normalize(name):normalize(value)`` joined by newlines.
* ``base64`` - the signing key is the raw HMAC digest and the signature its
  base64 text; canonical headers are ``name:normalize(value)\\n`` concatenated.

The server accepts both by default; the profile of a request is recognised
from the shape of its signature (64 lower-case hex digits, or base64 of 32
bytes), so the check is unambiguous.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal
from urllib.parse import unquote_plus

Profile = Literal["hex", "base64"]
PROFILES: tuple[Profile, ...] = ("hex", "base64")
VERSION = "auth-v2"
DEFAULT_SIGNED_HEADERS = ("content-length", "content-type", "host")
# Headers a request may carry once only: a second copy could be read by a
# proxy or a handler instead of the signed first one.
SINGLE_HEADERS = frozenset({"authorization", "content-length", "content-type", "host"})

_TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z$")
_HEX_SIG_RE = re.compile(r"^[0-9a-f]{64}$")
_HEADER_NAME_RE = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+$")


class SignatureError(Exception):
    """A request failed one C2 check; the message says which (never a secret)."""


@dataclass(frozen=True)
class Limits:
    """How large an ``Authorization`` header may be, checked before anything is looked up.

    The defaults are those of ``docs/signing.md`` (``OPENISALES_AUTH_MAX_*``).
    """

    header_length: int = 4096
    ak_length: int = 128
    signed_headers: int = 64


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Request:
    """The parts of an HTTP request that C2 signs.

    ``path`` is the decoded URI path; ``query`` the raw query string as sent
    (without ``?``); ``headers`` maps lower-case names to values; ``body`` the
    raw bytes.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Authorization:
    ak: str
    timestamp: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def profile(self) -> Profile | None:
        """The profile this signature's shape belongs to, or None if neither."""
        if _HEX_SIG_RE.match(self.signature):
            return "hex"
        try:
            raw = base64.b64decode(self.signature, validate=True)
        except (binascii.Error, ValueError):
            return None
        return "base64" if len(raw) == 32 else None


_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
_ALL_UNRESERVED = re.compile(b"[A-Za-z0-9_.~-]*")
# What each byte becomes: itself when unreserved, else %XX (upper-case hex).
_ENCODED = tuple(chr(b) if chr(b) in _UNRESERVED else f"%{b:02X}" for b in range(256))


def normalize(value: str | bytes) -> str:
    """RFC 3986 percent-encoding of the UTF-8 bytes; only ``A-Za-z0-9-_.~`` kept.

    What ``urllib.parse.quote(value, safe="")`` answers, by a table look-up
    per byte (the signature check encodes every signed header and the body).
    """
    raw = value.encode() if isinstance(value, str) else value
    if _ALL_UNRESERVED.fullmatch(raw):
        return raw.decode("ascii")
    return "".join(map(_ENCODED.__getitem__, raw))


# The signed headers' values repeat from request to request (``host``,
# ``content-type``): short ones are normalized once. Bounded: at most
# 512 entries of at most 128 characters.
_CACHED_HEADER_CHARS = 128
_normalize_short = lru_cache(maxsize=512)(normalize)


def normalize_header(value: str) -> str:
    """:func:`normalize` for a header's name or value, remembered for the short ones."""
    if len(value) <= _CACHED_HEADER_CHARS:
        return _normalize_short(value)
    return normalize(value)


def canonical_query(raw_query: str) -> str:
    """``normalize(k)=normalize(v)`` for each ``&``-separated pair, sorted, joined by ``&``.

    Pairs are decoded first exactly as the handlers read them (form encoding:
    ``+`` is a space, ``%2B`` a plus), so what is signed is what is acted on,
    and a client that sends a space as ``%20`` (httpx's params, Java's
    URLEncoder after fixing) and one that sends ``+`` (Python's ``requests``,
    Go's ``url.Values``) both verify.
    """
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append(f"{normalize(unquote_plus(key))}={normalize(unquote_plus(value))}")
    return "&".join(sorted(pairs))


def format_timestamp(moment: datetime) -> str:
    """``yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`` in UTC."""
    if moment.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@lru_cache(maxsize=256)
def parse_timestamp(text: str) -> datetime:
    """The moment of a ``format_timestamp`` text (remembered: a request parses its own twice)."""
    match = _TS_RE.match(text)
    if match is None:
        raise SignatureError("malformed Authorization header: bad timestamp format")
    year, month, day, hour, minute, second, millis = match.groups()
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((millis or "0").ljust(3, "0")) * 1000,
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise SignatureError("malformed Authorization header: bad timestamp value") from exc


def parse_authorization(value: str | None, limits: Limits = DEFAULT_LIMITS) -> Authorization:
    """Split an Authorization header; raise :class:`SignatureError` naming what is wrong.

    The sizes in ``limits`` are checked first, so that an oversized header
    costs nothing but this check.
    """
    if not value:
        raise SignatureError("missing Authorization header")
    if len(value) > limits.header_length:
        raise SignatureError(
            f"malformed Authorization header: longer than {limits.header_length} characters"
        )
    parts = value.strip().split("/", 4)
    if len(parts) != 5 or parts[0] != VERSION:
        raise SignatureError("malformed Authorization header: expected auth-v2/AK/ts/headers/sig")
    _, ak, timestamp, signed, signature = parts
    if not ak:
        raise SignatureError("malformed Authorization header: empty AK")
    if len(ak) > limits.ak_length:
        raise SignatureError(
            f"malformed Authorization header: the AK is longer than {limits.ak_length} characters"
        )
    if signed.count(";") >= limits.signed_headers:
        raise SignatureError(
            f"malformed Authorization header: more than {limits.signed_headers} signed headers"
        )
    names = tuple(signed.split(";")) if signed else ()
    if "host" not in names:
        raise SignatureError("malformed Authorization header: host must be a signed header")
    if any(not _HEADER_NAME_RE.match(n) for n in names) or list(names) != sorted(set(names)):
        raise SignatureError(
            "malformed Authorization header: signed headers must be lower-case, sorted, unique"
        )
    if not signature:
        raise SignatureError("malformed Authorization header: empty signature")
    return Authorization(ak, timestamp, names, signature)


def check_request(request: Request, auth: Authorization) -> None:
    """The checks of ``auth`` against ``request`` that need no key.

    A request with a body must sign ``content-type``: otherwise the type the
    body is read as could be changed in transit without breaking the signature.
    """
    if request.body and "content-type" not in auth.signed_headers:
        raise SignatureError(
            "malformed Authorization header: content-type must be a signed header "
            "of a request with a body"
        )


def _canonical_request(
    request: Request, names: tuple[str, ...], values: Mapping[str, str], profile: Profile
) -> str:
    signed = ";".join(names)
    query = canonical_query(request.query)
    body = normalize(request.body) if request.body else ""
    method = request.method.upper()
    if profile == "hex":
        headers = "\n".join(f"{normalize_header(n)}:{normalize_header(values[n])}" for n in names)
        return "\n".join([method, request.path, query, signed, headers, body])
    headers = "".join(f"{n}:{normalize_header(values[n])}\n" for n in names)
    return f"{method}\n{request.path}\n{query}\n{signed}\n{headers}\n{body}"


def _signature(prefix: str, canonical: str, sk: str, profile: Profile) -> str:
    # hmac.digest: HMAC-SHA256 in one call (no HMAC object), the same bytes as hmac.new
    if profile == "hex":
        key = hmac.digest(sk.encode(), prefix.encode(), "sha256").hex()
        return hmac.digest(key.encode(), canonical.encode(), "sha256").hex()
    raw_key = hmac.digest(sk.encode(), prefix.encode(), "sha256")
    digest = hmac.digest(raw_key, canonical.encode(), "sha256")
    return base64.b64encode(digest).decode()


def _header_values(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """The trimmed value of each signed header: one mapping look-up per name.

    A signed ``content-length`` that a request without a body does not carry
    counts as ``0``: HTTP clients such as Go's net/http send no
    ``Content-Length`` on a GET, while the signers built on them sign it.
    """
    values = {}
    for name in names:
        value = request.headers.get(name)
        if value is None:
            if name == "content-length" and not request.body:
                value = "0"
            else:
                raise SignatureError(f"signed header {name!r} is missing from the request")
        values[name] = value.strip()
    return values


def sign(
    request: Request,
    *,
    ak: str,
    sk: str,
    timestamp: str,
    profile: Profile = "hex",
    signed_headers: tuple[str, ...] | None = None,
) -> str:
    """The ``Authorization`` value for ``request``.

    ``signed_headers`` defaults to those of ``content-length``, ``content-type``
    and ``host`` that the request carries; ``host`` is mandatory.
    """
    if signed_headers is None:
        signed_headers = tuple(n for n in DEFAULT_SIGNED_HEADERS if n in request.headers)
    names = tuple(sorted(set(signed_headers)))
    if "host" not in names:
        raise SignatureError("host must be a signed header")
    prefix = f"{VERSION}/{ak}/{timestamp}/{';'.join(names)}"
    values = _header_values(request, names)
    canonical = _canonical_request(request, names, values, profile)
    return f"{prefix}/{_signature(prefix, canonical, sk, profile)}"


def verify(
    request: Request,
    auth: Authorization,
    *,
    sk: str,
    now: datetime,
    window: timedelta,
    profiles: tuple[Profile, ...] = PROFILES,
) -> None:
    """Check ``auth`` against ``request``; raise :class:`SignatureError` on any failure.

    The timestamp must lie within ``window`` of ``now`` (either side). The
    comparison of signatures is constant-time. Replays are the caller's
    concern (see ``openisales.auth.replay``). ``request.headers`` is looked up
    once per signed header, so it should be a mapping with constant-time
    look-ups (a ``dict``), not a list scanned on every look-up.
    """
    check_request(request, auth)
    moment = parse_timestamp(auth.timestamp)
    if abs(now - moment) > window:
        raise SignatureError("timestamp is outside the allowed window (expired or in the future)")
    profile = auth.profile
    if profile is None or profile not in profiles:
        raise SignatureError("signature has an unsupported format")
    values = _header_values(request, auth.signed_headers)
    prefix = f"{VERSION}/{auth.ak}/{auth.timestamp}/{';'.join(auth.signed_headers)}"
    canonical = _canonical_request(request, auth.signed_headers, values, profile)
    expected = _signature(prefix, canonical, sk, profile)
    if not hmac.compare_digest(expected.encode(), auth.signature.encode()):
        raise SignatureError("signature does not match the request")
