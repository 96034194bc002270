"""Operator passwords: argon2id (memory-hard) through argon2-cffi.

The parameters are argon2-cffi's defaults (RFC 9106's second recommended
profile: 64 MiB, 3 passes, 4 lanes); a hash made with weaker ones is replaced
at the next successful login (:func:`needs_rehash`). Verification runs the
KDF even for an unknown name (:func:`verify_absent`), so a login's timing
does not tell whether the account exists.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify(stored: str, password: str) -> bool:
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher().check_needs_rehash(stored)


@lru_cache(maxsize=1)
def _dummy() -> str:
    return _hasher().hash("openisales: no such operator")


def verify_absent(password: str) -> bool:
    """Spend the time a real verification would, for a name that does not exist."""
    verify(_dummy(), password)
    return False
