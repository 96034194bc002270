"""Server side of C2: authenticate a request for the VDN in its path."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request

from openisales.api.context import AppContext
from openisales.auth import signing
from openisales.auth.replay import REPLAYED, Nonce, replay_key
from openisales.errors import AuthError, ParamError
from openisales.validation import BAD_VALUE, WRONG_TYPE


def parse_vdn_id(raw: str) -> int:
    """``vdnId`` from the path: an integer in 1..9999 (``02000006`` / ``02000007``)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise ParamError(WRONG_TYPE, "vdnId", "must be an integer")
    value = int(raw)
    if not 1 <= value <= 9999:
        raise ParamError(BAD_VALUE, "vdnId", "must be between 1 and 9999")
    return value


async def authenticate(
    ctx: AppContext, request: Request, body: bytes, vdn_raw: str, *, defer_replay: bool = False
) -> tuple[int, Nonce | None]:
    """Verify the C2 signature; return the VDN the caller may act for.

    Raises :class:`AuthError` (HTTP 401) naming the failed check, or
    :class:`ParamError` for a malformed ``vdnId`` once the signature is good.
    With ``defer_replay`` and a guard that can defer, the replay check is
    returned as a :class:`Nonce` for the handler to record in its own
    transaction (so the request's writes and its single use commit together);
    otherwise it is done here and None is returned.
    """
    try:
        auth = signing.parse_authorization(request.headers.get("authorization"))
    except signing.SignatureError as exc:
        raise AuthError(str(exc)) from None
    credential = await ctx.credentials.lookup(auth.ak)
    if credential is None:
        raise AuthError("unknown AK")
    if credential.revoked:
        raise AuthError("the AK has been revoked")
    window = timedelta(seconds=ctx.settings.signature_window_s)
    now = ctx.clock.now()
    wire = signing.Request(
        method=request.method,
        path=request.scope["path"],
        query=request.scope["query_string"].decode("latin-1"),
        headers=request.headers,
        body=body,
    )
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
        return vdn_id, Nonce(vdn_id, key, expires, now)
    if not await ctx.replay.first_use(vdn_id, key, expires, now):
        raise AuthError(REPLAYED)
    return vdn_id, None
