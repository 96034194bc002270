"""Server side of C2: authenticate a request for the VDN in its path."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from datetime import timedelta
from typing import TypeVar

from starlette.requests import Request

from openisales.api.context import AppContext
from openisales.auth import signing
from openisales.auth.replay import REPLAYED, Nonce, replay_key
from openisales.errors import AuthError, ParamError, StorageError
from openisales.validation import BAD_VALUE, WRONG_TYPE


def parse_vdn_id(raw: str) -> int:
    """``vdnId`` from the path: an integer in 1..9999 (``02000006`` / ``02000007``)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise ParamError(WRONG_TYPE, "vdnId", "must be an integer")
    value = int(raw)
    if not 1 <= value <= 9999:
        raise ParamError(BAD_VALUE, "vdnId", "must be between 1 and 9999")
    return value


def header_values(raw: Iterable[tuple[bytes, bytes]]) -> tuple[dict[str, str], frozenset[str]]:
    """The first value of each header by lower-case name, and the names sent more than once.

    One pass over the raw list, so that looking up the signed headers costs
    one dictionary look-up each, however many headers the request carries.
    """
    values: dict[str, str] = {}
    repeated: set[str] = set()
    for raw_name, raw_value in raw:
        name = raw_name.decode("latin-1").lower()
        if name in values:
            repeated.add(name)
        else:
            values[name] = raw_value.decode("latin-1")
    return values, frozenset(repeated)


def limits(ctx: AppContext) -> signing.Limits:
    settings = ctx.settings
    return signing.Limits(
        header_length=settings.auth_max_header_length,
        ak_length=settings.auth_max_ak_length,
        signed_headers=settings.auth_max_signed_headers,
    )


T = TypeVar("T")


async def _coded(call: Awaitable[T], failure_code: str) -> T:
    """``call``'s answer; a storage failure answers with the operation's storage code."""
    try:
        return await call
    except StorageError as exc:
        if exc.result_code == failure_code:
            raise
        raise StorageError(exc.description, result_code=failure_code) from exc


async def authenticate(
    ctx: AppContext,
    request: Request,
    body: bytes,
    vdn_raw: str,
    *,
    defer_replay: bool = False,
    failure_code: str = "0200006",
) -> tuple[int, str, Nonce | None]:
    """Verify the C2 signature; return the VDN the caller may act for and its AK.

    Raises :class:`AuthError` (HTTP 401) naming the failed check, or
    :class:`ParamError` for a malformed ``vdnId`` once the signature is good,
    or :class:`StorageError` with ``failure_code`` when the credential or
    replay look-up cannot reach the database. Everything that can be checked
    without a look-up (duplicate headers, sizes, the signed header list) is
    checked first, so that a malformed request touches no cache and no table.
    With ``defer_replay`` and a guard that can defer, the replay check is
    returned as a :class:`Nonce` for the handler to record in its own
    transaction (so the request's writes and its single use commit together);
    otherwise it is done here and None is returned. The AK names the caller
    in the audit log (``Call.actor``).
    """
    headers, repeated = header_values(request.headers.raw)
    doubled = sorted(repeated & signing.SINGLE_HEADERS)
    if doubled:
        raise AuthError(f"malformed request: more than one {doubled[0]!r} header")
    wire = signing.Request(
        method=request.method,
        path=request.scope["path"],
        query=request.scope["query_string"].decode("latin-1"),
        headers=headers,
        body=body,
    )
    try:
        auth = signing.parse_authorization(headers.get("authorization"), limits(ctx))
        for name in auth.signed_headers:
            if name in repeated:
                raise signing.SignatureError(f"malformed request: more than one {name!r} header")
        signing.check_request(wire, auth)
    except signing.SignatureError as exc:
        raise AuthError(str(exc)) from None
    credential = await _coded(ctx.credentials.lookup(auth.ak), failure_code)
    if credential is None:
        raise AuthError("unknown AK")
    if credential.revoked:
        raise AuthError("the AK has been revoked")
    window = timedelta(seconds=ctx.settings.signature_window_s)
    now = ctx.clock.now()
    try:
        signing.verify(
            wire,
            auth,
            sk=credential.sk,
            now=now,
            window=window,
            profiles=ctx.settings.signing_profiles,
        )
    except signing.SignatureError as exc:
        raise AuthError(str(exc)) from None
    vdn_id = parse_vdn_id(vdn_raw)
    if vdn_id not in credential.vdn_ids:
        raise AuthError(f"the AK is not allowed for VDN {vdn_id}")
    expires = signing.parse_timestamp(auth.timestamp) + window
    key = replay_key(auth.ak, auth.signature)
    if defer_replay and ctx.replay.deferrable:
        return vdn_id, auth.ak, Nonce(vdn_id, key, expires, now)
    first = await _coded(ctx.replay.first_use(vdn_id, key, expires, now), failure_code)
    if not first:
        raise AuthError(REPLAYED)
    return vdn_id, auth.ak, None
