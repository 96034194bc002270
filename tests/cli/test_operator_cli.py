"""``openisales operator``: the console's accounts from the command line (embedded database)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.cli import cli
from openisales.domain.operator import SessionPolicy, Throttle
from openisales.services import audit, operators
from openisales.services.operators import LoginRefused
from openisales.store.audit import Entry, Filter
from openisales.store.engine import create_engine

T = TypeVar("T")
ENV = {"OPENISALES_DATABASE_URL": "", "OPENISALES_MASTER_KEY": ""}
PASSWORD = "s3cret-operator-pass"
OTHER = "an0ther-operator-pass"
POLICY = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
THROTTLE = Throttle(per_account=50, per_address=50, window=timedelta(minutes=15))


def _run(data_dir: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), *args], env=ENV, input=stdin, prog_name="openisales"
    )


def _ok(data_dir: Path, *args: str, stdin: str | None = None) -> str:
    result = _run(data_dir, *args, stdin=stdin)
    assert result.exit_code == 0, result.output
    return result.stdout


def _fails(data_dir: Path, *args: str, stdin: str | None = None) -> str:
    """The one line on standard error of a command that must fail with status 1."""
    result = _run(data_dir, *args, stdin=stdin)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    return result.stderr.removeprefix("Error: ").rstrip("\n")


def _on_database(data_dir: Path, job: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'openisales.db'}")
        try:
            return await job(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _login(data_dir: Path, name: str, password: str) -> operators.Opened | None:
    async def job(engine: AsyncEngine) -> operators.Opened | None:
        try:
            return await operators.login(
                engine,
                name=name,
                password=password,
                address="127.0.0.1",
                now=datetime.now(UTC),
                policy=POLICY,
                throttle=THROTTLE,
            )
        except LoginRefused:
            return None

    return _on_database(data_dir, job)


def _session_alive(data_dir: Path, token: str) -> bool:
    async def job(engine: AsyncEngine) -> bool:
        found = await operators.session(engine, token, now=datetime.now(UTC), policy=POLICY)
        return found is not None

    return _on_database(data_dir, job)


def _audit(data_dir: Path) -> list[Entry]:
    return _on_database(data_dir, lambda e: audit.search(e, Filter()))


def _listed(data_dir: Path) -> list[dict[str, object]]:
    items: list[dict[str, object]] = json.loads(_ok(data_dir, "operator", "list", "--json"))
    return items


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data directory whose embedded database has VDNs 1 and 2."""
    for vdn_id in (1, 2):
        _ok(tmp_path, "vdn", "add", "--id", str(vdn_id), "--name", f"vdn{vdn_id}")
    return tmp_path


def _add_alice(home: Path) -> str:
    return _ok(
        home, "operator", "add", "--name", "alice", "--role", "supervisor",
        "--vdn", "2", "--vdn", "1", "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip


def test_add_reads_the_password_from_stdin(home: Path) -> None:
    made = _run(
        home, "operator", "add", "--name", "alice", "--role", "supervisor",
        "--vdn", "2", "--vdn", "1", "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert made.stdout == "operator alice (supervisor, VDNs 1,2) added\n"
    assert made.stderr == ""
    assert _login(home, "alice", PASSWORD) is not None  # the newline was not part of it
    assert _login(home, "alice", PASSWORD + "\n") is None
    assert PASSWORD.encode() not in (home / "openisales.db").read_bytes()
    (entry,) = [e for e in _audit(home) if e.action == "operator.add"]
    assert (entry.actor, entry.target) == ("cli", "operator alice")
    assert PASSWORD not in (entry.after or "")


def test_add_asks_for_the_password_twice_without_echo(home: Path) -> None:
    made = _run(
        home, "operator", "add", "--name", "root", "--role", "admin",
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert made.stdout == "operator root (admin, every VDN) added\n"
    assert PASSWORD not in made.output
    assert "Password" in made.stderr and "Repeat for confirmation: " in made.stderr
    assert _login(home, "root", PASSWORD) is not None


def test_list_shows_name_role_vdns_state_and_creation(home: Path) -> None:
    assert _ok(home, "operator", "list") == "NAME  ROLE  VDNS  STATE  CREATED (UTC)\n"
    assert _ok(home, "operator", "list", "--json") == "[]\n"
    _add_alice(home)
    _ok(home, "operator", "add", "--name", "root", "--role", "admin", "--password-stdin",
        stdin=OTHER + "\n")  # fmt: skip
    header, alice, root = _ok(home, "operator", "list").splitlines()
    assert header.split() == ["NAME", "ROLE", "VDNS", "STATE", "CREATED", "(UTC)"]
    assert alice.split()[:4] == ["alice", "supervisor", "1,2", "active"]
    assert root.split()[:4] == ["root", "admin", "all", "active"]
    listed = _listed(home)
    assert [{k: v for k, v in item.items() if k != "createdAt"} for item in listed] == [
        {"name": "alice", "role": "supervisor", "vdns": [1, 2], "state": "active"},
        {"name": "root", "role": "admin", "vdns": [], "state": "active"},
    ]
    created = datetime.fromisoformat(str(listed[0]["createdAt"]))
    assert created.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)


def test_a_duplicate_name_is_one_line(home: Path) -> None:
    _add_alice(home)
    before = len(_audit(home))
    line = _fails(
        home, "operator", "add", "--name", "alice", "--role", "viewer", "--vdn", "1",
        "--password-stdin", stdin=OTHER + "\n",
    )  # fmt: skip
    assert line == "name: an operator named 'alice' already exists"
    assert len(_audit(home)) == before


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "viewer", "--vdn", "1", "--vdn", "42"], PASSWORD,
         "VDN 42 does not exist (add it with `openisales vdn add`)"),
        (["--role", "viewer"], PASSWORD, "a viewer needs at least one --vdn"),
        (["--role", "supervisor"], PASSWORD, "a supervisor needs at least one --vdn"),
        (["--role", "admin", "--vdn", "1"], PASSWORD, "an admin sees every VDN: give no --vdn"),
        (["--role", "admin"], "short-pw", "password: must be at least 12 characters"),
        (["--role", "admin"], "", "no password on standard input"),
        (["--role", "admin"], "\n", "no password on standard input"),
    ],
)  # fmt: skip
def test_refused_additions_are_one_line(
    home: Path, args: list[str], stdin: str, message: str
) -> None:
    line = _fails(
        home, "operator", "add", "--name", "bob", *args, "--password-stdin", stdin=stdin + "\n"
    )
    assert line == message
    assert _listed(home) == []


def test_a_bad_name_is_refused_before_the_password_is_asked_for(home: Path) -> None:
    result = _run(home, "operator", "add", "--name", "bad name", "--role", "admin")
    assert result.exit_code == 1
    assert "Password" not in result.output
    assert result.stderr.startswith("Error: name: must be 1-64 characters")


def test_an_unknown_role_is_a_usage_error(home: Path) -> None:
    result = _run(home, "operator", "add", "--name", "bob", "--role", "owner", "--password-stdin")
    assert result.exit_code == 2
    assert "'owner' is not one of 'admin', 'supervisor', 'viewer'" in result.stderr


def test_disable_ends_sessions_and_enable_lets_the_operator_back(home: Path) -> None:
    _add_alice(home)
    opened = _login(home, "alice", PASSWORD)
    assert opened is not None and _session_alive(home, opened.token)
    assert _ok(home, "operator", "disable", "alice") == (
        "operator alice disabled; its sessions have ended\n"
    )
    assert not _session_alive(home, opened.token)
    assert _listed(home)[0]["state"] == "disabled"
    assert _ok(home, "operator", "list").splitlines()[1].split()[3] == "disabled"
    assert _login(home, "alice", PASSWORD) is None
    assert _ok(home, "operator", "enable", "alice") == "operator alice enabled\n"
    assert _listed(home)[0]["state"] == "active"
    assert _login(home, "alice", PASSWORD) is not None
    actions = [(e.action, e.actor) for e in _audit(home)][:2]
    assert actions == [("operator.enable", "cli"), ("operator.disable", "cli")]


def test_passwd_replaces_the_password_and_ends_sessions(home: Path) -> None:
    _add_alice(home)
    opened = _login(home, "alice", PASSWORD)
    assert opened is not None
    changed = _run(home, "operator", "passwd", "alice", "--password-stdin", stdin=OTHER + "\n")
    assert changed.exit_code == 0, changed.output
    assert changed.stdout == "password of operator alice changed; its sessions have ended\n"
    assert OTHER not in changed.output and PASSWORD not in changed.output
    assert not _session_alive(home, opened.token)
    assert _login(home, "alice", PASSWORD) is None
    assert _login(home, "alice", OTHER) is not None
    entry = _audit(home)[0]
    assert (entry.action, entry.actor, entry.after) == (
        "operator.passwd",
        "cli",
        '{"password":"***"}',
    )


def test_passwd_asks_twice_and_refuses_a_weak_password(home: Path) -> None:
    _add_alice(home)
    asked = _run(home, "operator", "passwd", "alice", stdin=f"{OTHER}\n{OTHER}\n")
    assert asked.exit_code == 0, asked.output
    assert OTHER not in asked.output
    assert _login(home, "alice", OTHER) is not None
    line = _fails(home, "operator", "passwd", "alice", "--password-stdin", stdin="alice\n")
    assert line == "password: must be at least 12 characters"
    assert _login(home, "alice", OTHER) is not None  # unchanged


def test_access_sets_role_and_vdns(home: Path) -> None:
    _add_alice(home)
    assert _ok(home, "operator", "access", "alice", "--role", "viewer", "--vdn", "2") == (
        "operator alice is now viewer of VDN 2\n"
    )
    assert _listed(home)[0]["role"] == "viewer" and _listed(home)[0]["vdns"] == [2]
    assert _ok(home, "operator", "access", "alice", "--role", "admin") == (
        "operator alice is now admin of every VDN\n"
    )
    assert _listed(home)[0]["vdns"] == []
    line = _fails(home, "operator", "access", "alice", "--role", "viewer", "--vdn", "9")
    assert line == "VDN 9 does not exist (add it with `openisales vdn add`)"
    entry = _audit(home)[0]
    assert (entry.action, entry.before, entry.after) == (
        "operator.access",
        '{"role":"viewer","vdns":[2]}',
        '{"role":"admin","vdns":[]}',
    )


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["disable", "ghost"], None),
        (["enable", "ghost"], None),
        (["passwd", "ghost", "--password-stdin"], OTHER + "\n"),
        (["access", "ghost", "--role", "viewer", "--vdn", "1"], None),
    ],
)
def test_an_unknown_operator_is_one_line(home: Path, args: list[str], stdin: str | None) -> None:
    assert _fails(home, "operator", *args, stdin=stdin) == "name: no operator named 'ghost'"
    assert [e for e in _audit(home) if e.action.startswith("operator.")] == []


def test_the_help_names_the_console_settings(home: Path) -> None:
    shown = _ok(home, "operator", "-h")
    for variable in ("OPENISALES_DATABASE_URL", "OPENISALES_CONSOLE_IDLE_S"):
        assert variable in shown
    for command in ("add", "list", "disable", "enable", "passwd", "access"):
        assert f"  {command} " in shown


def test_a_real_process_reads_the_password_from_a_pipe(home: Path) -> None:
    env = {**os.environ, **ENV, "OPENISALES_DATA_DIR": str(home)}
    args = [sys.executable, "-m", "openisales", "operator"]
    made = subprocess.run(
        [*args, "add", "--name", "pipe", "--role", "viewer", "--vdn", "1", "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout == "operator pipe (viewer, VDN 1) added\n"
    assert PASSWORD not in made.stdout + made.stderr
    again = subprocess.run(
        [*args, "add", "--name", "pipe", "--role", "viewer", "--vdn", "1", "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert again.returncode == 1
    assert again.stderr == "Error: name: an operator named 'pipe' already exists\n"
    assert _login(home, "pipe", PASSWORD) is not None
