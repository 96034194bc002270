"""The console operators' pure rules: permissions, names, passwords, sessions, the throttle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, strategies as st

from openisales.domain.operator import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    Operator,
    Permission,
    Role,
    SessionPolicy,
    Throttle,
    allowed,
    check_name,
    check_password,
    needs_touch,
    session_alive,
)

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
ADMIN = Operator("root", Role.ADMIN, frozenset())
SUPERVISOR = Operator("sup", Role.SUPERVISOR, frozenset({1, 2}))
VIEWER = Operator("view", Role.VIEWER, frozenset({2}))
POLICY = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
THROTTLE = Throttle(per_account=5, per_address=20, window=timedelta(minutes=15))


# ---- Permissions ------------------------------------------------------------


def test_an_admin_may_do_everything_on_every_vdn() -> None:
    for permission in Permission:
        assert allowed(ADMIN, permission)
        assert allowed(ADMIN, permission, 9999)
    assert ADMIN.sees(42)


def test_a_supervisor_reads_and_operates_its_vdns_only() -> None:
    assert SUPERVISOR.may(Permission.READ, 1) and SUPERVISOR.may(Permission.OPERATE, 2)
    assert not SUPERVISOR.may(Permission.READ, 3)
    assert not SUPERVISOR.may(Permission.OPERATE, 3)
    assert not SUPERVISOR.may(Permission.ADMINISTER)
    assert not SUPERVISOR.may(Permission.ADMINISTER, 1)


def test_a_viewer_only_reads_its_vdns() -> None:
    assert VIEWER.may(Permission.READ, 2)
    assert not VIEWER.may(Permission.READ, 1)
    assert not VIEWER.may(Permission.OPERATE, 2)
    assert not VIEWER.may(Permission.ADMINISTER)


@pytest.mark.parametrize("operator", [ADMIN, SUPERVISOR, VIEWER], ids=lambda o: o.role.value)
def test_a_disabled_operator_may_do_nothing(operator: Operator) -> None:
    disabled = Operator(operator.name, operator.role, operator.vdns, disabled=True)
    for permission in Permission:
        assert not allowed(disabled, permission)
        for vdn_id in (1, 2, 3):
            assert not allowed(disabled, permission, vdn_id)


@given(
    role=st.sampled_from(Role),
    vdns=st.frozensets(st.integers(1, 9999), max_size=5),
    permission=st.sampled_from(Permission),
    vdn_id=st.none() | st.integers(1, 9999),
    disabled=st.booleans(),
)
def test_permissions_follow_the_role_table(
    role: Role,
    vdns: frozenset[int],
    permission: Permission,
    vdn_id: int | None,
    disabled: bool,
) -> None:
    operator = Operator("someone", role, vdns, disabled=disabled)
    granted = {
        Role.ADMIN: set(Permission),
        Role.SUPERVISOR: {Permission.READ, Permission.OPERATE},
        Role.VIEWER: {Permission.READ},
    }[role]
    sees = role is Role.ADMIN or vdn_id is None or vdn_id in vdns
    assert allowed(operator, permission, vdn_id) == (
        not disabled and permission in granted and sees
    )
    # a grant on one VDN is never wider than the grant without one
    if allowed(operator, permission, vdn_id):
        assert allowed(operator, permission)


# ---- Names and passwords -----------------------------------------------------


@pytest.mark.parametrize(
    "name", ["a", "alice", "Alice.Smith", "ops@example.com", "x-1_2", "9" * 64]
)
def test_good_names_pass(name: str) -> None:
    assert check_name(name) is None


@pytest.mark.parametrize(
    "name", ["", "a" * 65, ".alice", "-x", "_x", "@x", "al ice", "alice\n", "élise", "a/b", "a:b"]
)
def test_bad_names_are_refused(name: str) -> None:
    assert check_name(name) is not None


@given(st.text(max_size=80))
def test_a_name_passes_exactly_when_it_matches_the_documented_alphabet(name: str) -> None:
    alphabet = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-")
    expected = (
        1 <= len(name) <= 64
        and set(name) <= alphabet
        and name[0] not in "._@-"
    )  # fmt: skip
    assert (check_name(name) is None) == expected


def test_password_length_bounds() -> None:
    assert check_password("x" * (MIN_PASSWORD - 1), "alice") == (
        f"must be at least {MIN_PASSWORD} characters"
    )
    assert check_password("x" * MIN_PASSWORD, "alice") is None
    assert check_password("x" * MAX_PASSWORD, "alice") is None
    assert check_password("x" * (MAX_PASSWORD + 1), "alice") == (
        f"must be at most {MAX_PASSWORD} characters"
    )


@pytest.mark.parametrize("password", ["alice.operator", "ALICE.OPERATOR", "  Alice.Operator  "])
def test_a_password_may_not_be_the_name(password: str) -> None:
    assert check_password(password, "Alice.Operator") == "must not be the operator's name"


def test_a_password_containing_the_name_is_allowed() -> None:
    assert check_password("alice.operator!", "alice.operator") is None


# ---- Sessions ----------------------------------------------------------------


def test_a_session_ends_after_the_idle_time() -> None:
    expires = NOW + POLICY.absolute
    just_before = NOW + POLICY.idle - timedelta(microseconds=1)
    assert session_alive(POLICY, last_seen=NOW, expires=expires, now=just_before)
    assert not session_alive(POLICY, last_seen=NOW, expires=expires, now=NOW + POLICY.idle)


def test_a_busy_session_still_ends_at_its_absolute_expiry() -> None:
    expires = NOW + POLICY.absolute
    at = expires - timedelta(seconds=1)
    assert session_alive(POLICY, last_seen=at, expires=expires, now=at)
    assert not session_alive(POLICY, last_seen=at, expires=expires, now=expires)


@given(
    seen_after=st.integers(0, 12 * 3600),
    elapsed=st.integers(0, 24 * 3600),
)
def test_a_session_is_alive_exactly_within_both_limits(seen_after: int, elapsed: int) -> None:
    last_seen = NOW + timedelta(seconds=seen_after)
    expires = NOW + POLICY.absolute
    now = last_seen + timedelta(seconds=elapsed)
    alive = session_alive(POLICY, last_seen=last_seen, expires=expires, now=now)
    assert alive == (now < expires and timedelta(seconds=elapsed) < POLICY.idle)


def test_last_use_is_written_at_most_once_a_minute() -> None:
    assert not needs_touch(POLICY, last_seen=NOW, now=NOW)
    assert not needs_touch(POLICY, last_seen=NOW, now=NOW + timedelta(seconds=59))
    assert needs_touch(POLICY, last_seen=NOW, now=NOW + timedelta(seconds=60))
    every = SessionPolicy(POLICY.idle, POLICY.absolute, touch_every=timedelta(seconds=5))
    assert needs_touch(every, last_seen=NOW, now=NOW + timedelta(seconds=5))


# ---- The login throttle ------------------------------------------------------


def test_under_the_limit_nothing_is_blocked() -> None:
    assert THROTTLE.blocked_until(failures=4, window_start=NOW, limit=5, now=NOW) is None


def test_at_the_limit_logins_are_blocked_until_the_window_ends() -> None:
    ends = NOW + THROTTLE.window
    assert THROTTLE.blocked_until(failures=5, window_start=NOW, limit=5, now=NOW) == ends
    before_end = ends - timedelta(seconds=1)
    assert THROTTLE.blocked_until(failures=50, window_start=NOW, limit=5, now=before_end) == ends
    assert THROTTLE.blocked_until(failures=50, window_start=NOW, limit=5, now=ends) is None


@given(
    failures=st.integers(0, 100),
    limit=st.integers(1, 50),
    offset=st.integers(-60, 3600),
)
def test_blocked_until_is_the_window_end_or_none(failures: int, limit: int, offset: int) -> None:
    now = NOW + timedelta(seconds=offset)
    until = THROTTLE.blocked_until(failures=failures, window_start=NOW, limit=limit, now=now)
    if failures >= limit and now < NOW + THROTTLE.window:
        assert until == NOW + THROTTLE.window and until > now
    else:
        assert until is None
