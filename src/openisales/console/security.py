"""The console's session cookie, CSRF check and response headers (docs/console.md, "Security").

The cookie carries a random token signed with a key derived from the master
key (itsdangerous); the database keeps only the token's SHA-256, with the
operator, the CSRF token, and the idle and absolute expiry. The cookie is
HttpOnly and SameSite=Strict, and Secure (named ``__Host-…``) when the server
speaks TLS. Every state-changing request must carry the session's CSRF token
(form field ``csrf`` or header ``X-CSRF-Token``) and, when the browser sends
one, an ``Origin`` of this server.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from itsdangerous import BadSignature, Signer
from starlette.requests import Request
from starlette.responses import Response

from openisales.auth.vault import master_key
from openisales.config import Settings
from openisales.domain.operator import SessionPolicy, Throttle

COOKIE = "openisales_session"
SECURE_COOKIE = "__Host-openisales_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def cookie_name(settings: Settings) -> str:
    return SECURE_COOKIE if settings.tls else COOKIE


def policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        idle=timedelta(seconds=settings.console_idle_s),
        absolute=timedelta(seconds=settings.console_session_s),
    )


def throttle(settings: Settings) -> Throttle:
    return Throttle(
        per_account=settings.console_login_per_account,
        per_address=settings.console_login_per_address,
        window=timedelta(seconds=settings.console_login_window_s),
    )


def signer(settings: Settings) -> Signer:
    """The cookie signer: a key of its own, derived from the master key."""
    key = hmac.new(
        master_key(settings).encode(), b"openisales console session cookie", hashlib.sha256
    ).digest()
    return Signer(key, salt="openisales.console.session", digest_method=hashlib.sha256)


def cookie_token(request: Request, settings: Settings, sign: Signer) -> str | None:
    raw = request.cookies.get(cookie_name(settings))
    if not raw or len(raw) > 512:
        return None
    try:
        return sign.unsign(raw).decode()
    except BadSignature:
        return None


def set_cookie(response: Response, settings: Settings, sign: Signer, token: str) -> None:
    response.set_cookie(
        cookie_name(settings),
        sign.sign(token).decode(),
        max_age=settings.console_session_s,
        path="/",
        secure=settings.tls,
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        cookie_name(settings), path="/", secure=settings.tls, httponly=True, samesite="strict"
    )


def same_origin(request: Request) -> bool:
    """False when the browser names another origin than this server (no header: True)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in {f"https://{host}", f"http://{host}"}


def csrf_ok(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def secure_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response
