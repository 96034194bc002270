"""Console operators: roles, what each may do, and the checks on their names (docs/console.md).

Pure rules: the store keeps operators, the console asks :func:`allowed` on
every request (the server decides; hiding a button is only a courtesy).

- ``admin``: every VDN, and what no tenant owns: VDNs, API keys, holidays,
  operators.
- ``supervisor``: the VDNs listed for it — campaigns (create, edit, pause,
  resume, retry policy), imports, blocklist, push resend — and reading them.
- ``viewer``: reading the VDNs listed for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    VIEWER = "viewer"


class Permission(StrEnum):
    READ = "read"  # pages of a VDN
    OPERATE = "operate"  # campaigns, imports, blocklist, push resend of a VDN
    ADMINISTER = "administer"  # VDNs, API keys, holidays, operators (every VDN)


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.SUPERVISOR: frozenset({Permission.READ, Permission.OPERATE}),
    Role.VIEWER: frozenset({Permission.READ}),
}

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # bounds the work a login asks of the KDF


@dataclass(frozen=True)
class Operator:
    name: str
    role: Role
    vdns: frozenset[int]  # empty for an admin: it sees every VDN
    disabled: bool = False

    def sees(self, vdn_id: int) -> bool:
        return self.role is Role.ADMIN or vdn_id in self.vdns

    def may(self, permission: Permission, vdn_id: int | None = None) -> bool:
        """Whether the operator may do ``permission`` (on ``vdn_id`` when given)."""
        return allowed(self, permission, vdn_id)


def allowed(operator: Operator, permission: Permission, vdn_id: int | None = None) -> bool:
    if operator.disabled or permission not in _GRANTS[operator.role]:
        return False
    return vdn_id is None or operator.sees(vdn_id)


def check_name(name: str) -> str | None:
    """Why ``name`` cannot name an operator, or None."""
    if not NAME.fullmatch(name):
        return (
            "must be 1-64 characters: letters, digits and . _ @ -, starting with a letter or digit"
        )
    return None


def check_password(password: str, name: str) -> str | None:
    """Why ``password`` is refused, or None (length, and not the operator's name)."""
    if len(password) < MIN_PASSWORD:
        return f"must be at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"must be at most {MAX_PASSWORD} characters"
    if password.strip().lower() == name.lower():
        return "must not be the operator's name"
    return None


# ---- Sessions -------------------------------------------------------------


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta
    # last_seen_at is written at most this often (a page a second costs no write each)
    touch_every: timedelta = timedelta(seconds=60)


def session_alive(
    policy: SessionPolicy, *, last_seen: datetime, expires: datetime, now: datetime
) -> bool:
    return now < expires and now < last_seen + policy.idle


def needs_touch(policy: SessionPolicy, *, last_seen: datetime, now: datetime) -> bool:
    return now - last_seen >= policy.touch_every


# ---- Login throttle -------------------------------------------------------


@dataclass(frozen=True)
class Throttle:
    """At most ``per_account`` failures for one name and ``per_address`` from one
    address in a ``window``; past that, logins are refused until the window ends."""

    per_account: int
    per_address: int
    window: timedelta

    def blocked_until(
        self, *, failures: int, window_start: datetime, limit: int, now: datetime
    ) -> datetime | None:
        ends = window_start + self.window
        return ends if failures >= limit and now < ends else None
