"""Commands fail at start in one line on stderr, exit status 1, no traceback (issue 12)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet

from openisales.auth.vault import new_master_key
from openisales.cli import cli
from tests.conftest import MASTER_KEY, PG_URL

EMBEDDED = {"OPENISALES_DATABASE_URL": "", "OPENISALES_MASTER_KEY": ""}


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, args, env=env, input=stdin)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve`` must refuse before it runs the server: running it fails the test instead."""
    import uvicorn

    def run(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve started the server")

    monkeypatch.setattr(uvicorn, "run", run)


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


# --- commands that need no setting --------------------------------------------------------


BROKEN = {  # settings no command could run with
    "OPENISALES_DATABASE_URL": "postgresql://isales@db.internal/isales",
    "OPENISALES_MASTER_KEY": "",
    "OPENISALES_PORT": "many",
}


def test_keys_master_key_prints_a_key_whatever_the_settings() -> None:
    result = _run(["keys", "master-key"], BROKEN)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    key = result.stdout.strip()
    assert result.stdout == key + "\n"
    Fernet(key.encode())  # a usable key


def test_the_documented_export_gets_a_key_with_an_external_database_set() -> None:
    """``export OPENISALES_MASTER_KEY=$(openisales keys master-key)``, as operations.md has it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENISALES_")}
    env["OPENISALES_DATABASE_URL"] = BROKEN["OPENISALES_DATABASE_URL"]
    script = (
        f'export OPENISALES_MASTER_KEY=$("{sys.executable}" -m openisales keys master-key)\n'
        'printf %s "$OPENISALES_MASTER_KEY"\n'
    )
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stderr == ""
    Fernet(done.stdout.encode())


@pytest.mark.parametrize(
    "args",
    [["--version"], ["-h"], ["serve", "-h"], ["keys", "create", "--version"], ["import", "-h"]],
)
def test_version_and_help_need_no_setting(args: list[str]) -> None:
    result = _run(args, BROKEN)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_migrate_sql_from_a_revision_needs_only_the_database_url() -> None:
    result = _run(["migrate", "--sql", "--from", "0006"], BROKEN)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("BEGIN;") and result.stderr == ""


def test_migrate_from_without_sql_is_refused_rather_than_ignored(tmp_path: Path) -> None:
    result = _run(["--data-dir", str(tmp_path), "migrate", "--from", "0006"], EMBEDDED)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "Error: --from goes with --sql"
    assert list(tmp_path.iterdir()) == []  # nothing migrated


def test_a_command_that_needs_settings_refuses_invalid_ones_in_one_line() -> None:
    result = _run(["vdn", "list"], BROKEN)
    assert result.exit_code == 1
    assert result.stderr == "Error: OPENISALES_PORT must be an integer, not 'many'\n"
    result = _run(["vdn", "list"], {**BROKEN, "OPENISALES_PORT": "8443"})
    assert result.exit_code == 1
    assert result.stderr == "Error: OPENISALES_MASTER_KEY is required with an external database\n"


# --- a database that cannot be opened -------------------------------------------------------


COMMANDS = [
    ["vdn", "list"],
    ["vdn", "add", "--id", "1", "--name", "a"],
    ["keys", "list"],
    ["keys", "create", "--vdn", "1"],
    ["keys", "revoke", "someak"],
    ["holiday", "list", "--vdn", "1"],
    ["push", "list"],
    ["push", "resend", "--all-failed"],
    ["migrate"],
    ["migrate", "status"],
    ["migrate", "--sql"],
    ["worker"],
    ["simulate", "--in-database", "--records", "1"],
    ["import", "--vdn", "1", "--campaign", "1", "FILE"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args[:2]))
def test_an_unreachable_database_is_one_line_without_its_password(
    args: list[str], tmp_path: Path
) -> None:
    port = _closed_port()
    url = f"postgresql://isales:s3cret@127.0.0.1:{port}/isales"
    calls = tmp_path / "calls.csv"
    calls.write_text("called\n1\n")
    args = [str(calls) if a == "FILE" else a for a in args]
    result = _run(args, {"OPENISALES_DATABASE_URL": url, "OPENISALES_MASTER_KEY": MASTER_KEY})
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: cannot open the database postgresql://isales:***@127.0.0.1:{port}/isales: "
        "connection refused\n"
    )


def test_serve_refuses_an_unreachable_database(no_server: None) -> None:
    port = _closed_port()
    env = {
        "OPENISALES_DATABASE_URL": f"postgresql://isales:s3cret@127.0.0.1:{port}/isales",
        "OPENISALES_MASTER_KEY": MASTER_KEY,
    }
    result = _run(["serve", "--port", str(_closed_port())], env)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot open the database postgresql://isales:***@127.0.0.1:{port}/isales: "
        "connection refused\n"
    )


def test_an_unknown_database_host_is_one_line() -> None:
    env = {
        "OPENISALES_DATABASE_URL": "postgresql://isales@db.invalid/isales",
        "OPENISALES_MASTER_KEY": MASTER_KEY,
    }
    result = _run(["vdn", "list"], env)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: cannot open the database postgresql://isales@db.invalid/isales: "
        "cannot resolve the host ("
    )
    assert result.stderr.count("\n") == 1


def test_an_sqlite_database_in_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing/isales.db"
    result = _run(["keys", "list"], {"OPENISALES_DATABASE_URL": url, "OPENISALES_MASTER_KEY": ""})
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot open the database {url}: the directory {tmp_path}/missing does not exist\n"
    )
    assert not (tmp_path / "missing").exists()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="needs OPENISALES_TEST_PG_URL")
def test_a_postgresql_database_that_does_not_exist_is_one_line() -> None:
    url = sa.engine.make_url(PG_URL).set(database="openisales_no_such_database")
    shown = url.render_as_string(hide_password=True)
    env = {
        "OPENISALES_DATABASE_URL": url.render_as_string(hide_password=False),
        "OPENISALES_MASTER_KEY": MASTER_KEY,
    }
    for args in (["migrate"], ["worker"], ["keys", "list"]):
        result = _run(args, env)
        assert result.exit_code == 1
        assert result.stderr == (
            f'Error: cannot open the database {shown}: database "openisales_no_such_database" '
            "does not exist\n"
        )


# --- a master key that cannot decrypt the stored keys ----------------------------------------


@pytest.fixture
def stored_key(database_url: str, tmp_path: Path) -> dict[str, str]:
    """A database holding one credential encrypted with MASTER_KEY; its environment."""
    env = {
        "OPENISALES_DATABASE_URL": database_url,
        "OPENISALES_MASTER_KEY": MASTER_KEY,
        "OPENISALES_DATA_DIR": str(tmp_path / "data"),
    }
    assert _run(["vdn", "add", "--id", "1", "--name", "a"], env).exit_code == 0
    made = _run(["keys", "create", "--vdn", "1"], env)
    assert made.exit_code == 0, made.output
    return env


WRONG_KEY = (
    "Error: OPENISALES_MASTER_KEY cannot decrypt the stored secret keys: it is not the master "
    "key they were encrypted with (use that key, or create the keys anew)\n"
)


def test_worker_refuses_a_master_key_that_cannot_decrypt_the_stored_keys(
    stored_key: dict[str, str],
) -> None:
    result = _run(["worker"], {**stored_key, "OPENISALES_MASTER_KEY": new_master_key()})
    assert result.exit_code == 1
    assert result.stderr == WRONG_KEY


def test_serve_refuses_a_master_key_that_cannot_decrypt_the_stored_keys(
    stored_key: dict[str, str], no_server: None
) -> None:
    env = {**stored_key, "OPENISALES_MASTER_KEY": new_master_key()}
    result = _run(["serve", "--port", str(_closed_port())], env)
    assert result.exit_code == 1
    assert result.stderr == WRONG_KEY


def test_a_malformed_master_key_is_one_line(stored_key: dict[str, str], no_server: None) -> None:
    env = {**stored_key, "OPENISALES_MASTER_KEY": "not-a-fernet-key"}
    line = (
        "Error: OPENISALES_MASTER_KEY is not a valid master key: it must be 32 url-safe "
        "base64-encoded bytes (make one with `openisales keys master-key`)\n"
    )
    for args in (["worker"], ["serve", "--port", str(_closed_port())], ["keys", "create"]):
        result = _run([*args, "--vdn", "1"] if args == ["keys", "create"] else args, env)
        assert result.exit_code == 1
        assert result.stderr == line


def test_the_embedded_key_file_is_named_when_it_is_the_wrong_one(
    tmp_path: Path, no_server: None
) -> None:
    data = tmp_path / "data"
    added = _run(["--data-dir", str(data), "vdn", "add", "--id", "1", "--name", "a"], EMBEDDED)
    assert added.exit_code == 0
    assert _run(["--data-dir", str(data), "keys", "create", "--vdn", "1"], EMBEDDED).exit_code == 0
    (data / "master.key").write_text(new_master_key() + "\n")
    result = _run(["--data-dir", str(data), "serve", "--port", str(_closed_port())], EMBEDDED)
    assert result.exit_code == 1
    assert result.stderr == WRONG_KEY.replace("OPENISALES_MASTER_KEY", str(data / "master.key"))


# --- a port in use ---------------------------------------------------------------------------


def test_serve_refuses_a_busy_port_before_it_starts_anything(
    tmp_path: Path, busy_port: int, no_server: None
) -> None:
    result = _run(["--data-dir", str(tmp_path), "serve", "--port", str(busy_port)], EMBEDDED)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot listen on 127.0.0.1:{busy_port}: the port is in use "
        "(is another server running?)\n"
    )
    assert list(tmp_path.iterdir()) == []  # no database, key or certificate made


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_refuses_a_busy_metrics_port(busy_port: int, no_server: None, workers: str) -> None:
    env = {
        "OPENISALES_DATABASE_URL": "postgresql://isales@127.0.0.1:1/isales",
        "OPENISALES_MASTER_KEY": MASTER_KEY,
    }
    args = ["serve", "--workers", workers, "--port", str(_closed_port())]
    result = _run([*args, "--metrics-port", str(busy_port)], env)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot listen on 127.0.0.1:{busy_port}: the port is in use "
        "(is another server running?)\n"
    )


def test_a_second_serve_on_a_busy_port_says_so_and_starts_nothing(
    tmp_path: Path, busy_port: int
) -> None:
    """As a real process: no "listening" line, no dispatcher, exit status 1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENISALES_")}
    env.update({"OPENISALES_DATA_DIR": str(tmp_path), "OPENISALES_LOG_FORMAT": "text"})
    done = subprocess.run(
        [sys.executable, "-m", "openisales", "serve", "--port", str(busy_port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"Error: cannot listen on 127.0.0.1:{busy_port}: the port is in use "
        "(is another server running?)\n"
    )


def test_keys_create_refuses_a_master_key_other_than_the_stored_keys(
    stored_key: dict[str, str],
) -> None:
    """A key stored under another master key could never be read: refused, nothing stored."""
    env = {**stored_key, "OPENISALES_MASTER_KEY": new_master_key()}
    result = _run(["keys", "create", "--vdn", "1", "--ak", "second"], env)
    assert result.exit_code == 1
    assert result.stderr == WRONG_KEY
    listed = _run(["keys", "list", "--json"], stored_key)
    assert "second" not in listed.output


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="needs OPENISALES_TEST_PG_URL")
async def test_admin_commands_on_an_unmigrated_database_say_so_in_one_line() -> None:
    from openisales.store.engine import create_engine
    from tests.conftest import _drop_pg_database, _pg_admin_url

    admin_url = sa.engine.make_url(_pg_admin_url())
    target = admin_url.set(database="openisales_unmigrated_cli")
    target_text = target.render_as_string(hide_password=False)
    engine = create_engine(_pg_admin_url())
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}"'))
            await conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
        env = {"OPENISALES_DATABASE_URL": target_text, "OPENISALES_MASTER_KEY": MASTER_KEY}
        for args in (["vdn", "list"], ["keys", "list"], ["push", "list"]):
            result = await asyncio.to_thread(_run, args, env)
            assert result.exit_code == 1, args
            assert result.stderr == (
                "Error: the database is not migrated: run `openisales migrate`\n"
            ), args
    finally:
        await engine.dispose()
        await _drop_pg_database(target_text)


@pytest.mark.parametrize(
    ("url", "line"),
    [
        ("mysql://a@b/c", "'mysql' is not supported"),
        ("postgresql+psycopg2://a@b/c", "'postgresql+psycopg2' is not supported"),
        ("postgresql://a@b:port/c", "is not a database URL"),
    ],
)
def test_a_database_url_openisales_cannot_use_is_one_line(url: str, line: str) -> None:
    result = _run(
        ["vdn", "list"], {"OPENISALES_DATABASE_URL": url, "OPENISALES_MASTER_KEY": MASTER_KEY}
    )
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and line in result.stderr


def test_missing_tls_files_are_one_line_before_anything_starts(
    tmp_path: Path, no_server: None
) -> None:
    result = _run(
        ["--data-dir", str(tmp_path), "serve", "--tls-cert", "/missing.pem", "--tls-key", "/k"],
        EMBEDDED,
    )
    assert result.exit_code == 1
    assert result.stderr == "Error: TLS: /missing.pem: no such file\n"


def test_migrate_sql_from_an_unknown_revision_is_one_line() -> None:
    env = {"OPENISALES_DATABASE_URL": "postgresql://x@127.0.0.1/none", "OPENISALES_MASTER_KEY": ""}
    result = _run(["migrate", "--sql", "--from", "0999"], env)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: unknown revision '0999': this release has 0001")
