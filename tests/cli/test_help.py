"""The command line explains itself: -h, --version, help on every option, lists (issue 12)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from openisales.cli import cli
from openisales.config import SPECS

ENV = {"OPENISALES_DATABASE_URL": "", "OPENISALES_MASTER_KEY": ""}


def _commands(
    command: click.Command = cli, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


ALL = list(_commands())
NAMES = [" ".join(path) or "openisales" for path, _ in ALL]


def _run(*args: str, stdin: str | None = None, data_dir: Path | None = None) -> Result:
    prefix = ["--data-dir", str(data_dir)] if data_dir else []
    return CliRunner().invoke(cli, [*prefix, *args], env=ENV, input=stdin, prog_name="openisales")


@pytest.mark.parametrize("path", [path for path, _ in ALL], ids=NAMES)
def test_every_command_has_short_help_and_version(path: tuple[str, ...]) -> None:
    for flag in ("-h", "--help"):
        shown = _run(*path, flag)
        assert shown.exit_code == 0, shown.output
        assert shown.stdout.startswith(f"Usage: openisales {' '.join(path)}".rstrip())
    shown = _run(*path, "--version")
    assert shown.exit_code == 0
    assert shown.stdout == f"openisales, version {version('openisales')}\n"


@pytest.mark.parametrize(("path", "command"), ALL, ids=NAMES)
def test_every_option_has_help(path: tuple[str, ...], command: click.Command) -> None:
    assert command.help, f"{NAMES} has no help"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"


def test_every_option_that_sets_a_setting_names_its_variable_and_default() -> None:
    declared = [spec for spec in SPECS if spec.option]
    assert {spec.option for spec in declared} == {
        "--database-url",
        "--data-dir",
        "serve --host",
        "serve --port",
        "serve --tls-cert",
        "serve --tls-key",
        "serve --no-tls",
        "serve --workers",
        "serve --metrics-host",
        "serve --metrics-port",
    }
    for spec in declared:
        *names, flag = spec.option.split()
        command: click.Command = cli
        for name in names:
            assert isinstance(command, click.Group)
            command = command.commands[name]
        (option,) = [p for p in command.params if flag in getattr(p, "opts", ())]
        assert isinstance(option, click.Option) and option.help
        assert f"[env var: {spec.env}; default: " in option.help


def test_push_list_speaks_of_status() -> None:
    shown = _run("push", "list", "-h").stdout
    assert "state" not in shown and "Only pushes with this status." in shown


def test_lists_have_a_header_and_a_json_form(tmp_path: Path) -> None:
    assert (
        _run("vdn", "add", "--id", "7", "--name", "retail sales", data_dir=tmp_path).exit_code == 0
    )
    made = _run("keys", "create", "--vdn", "7", "--ak", "listak01", data_dir=tmp_path)
    assert made.exit_code == 0
    vdns = json.loads(_run("vdn", "list", "--json", data_dir=tmp_path).stdout)
    assert [sorted(item) for item in vdns] == [["createdAt", "name", "timeZone", "vdnId"]]
    assert vdns[0]["vdnId"] == 7 and vdns[0]["name"] == "retail sales"
    assert vdns[0]["createdAt"].endswith("+00:00")
    table = _run("vdn", "list", data_dir=tmp_path).stdout.splitlines()
    assert table[0].startswith("VDN  NAME          TIME ZONE  CREATED (UTC)")
    assert table[1].startswith("7    retail sales  UTC        ")
    keys = json.loads(_run("keys", "list", "--json", data_dir=tmp_path).stdout)
    assert keys == [
        {
            "ak": "listak01",
            "vdnIds": [7],
            "createdAt": keys[0]["createdAt"],
            "revokedAt": None,
            "status": "active",
        }
    ]
    holidays = _run("holiday", "list", "--vdn", "7", "--json", data_dir=tmp_path)
    assert holidays.stdout == "[]\n"
    pushes = _run("push", "list", "--json", data_dir=tmp_path)
    assert pushes.stdout == "[]\n"
    assert _run("push", "list", data_dir=tmp_path).stdout.startswith("PUSH ID  VDN  CAMPAIGN")


# --- the secret key of keys create ------------------------------------------------------------


@pytest.fixture
def with_vdn(tmp_path: Path) -> Path:
    assert _run("vdn", "add", "--id", "1", "--name", "a", data_dir=tmp_path).exit_code == 0
    return tmp_path


def _works(data_dir: Path, ak: str, sk: str) -> bool:
    """Whether the stored SK of ``ak`` is ``sk``."""
    import asyncio

    from openisales.auth.vault import Vault, load_or_create_master_key
    from openisales.store.credentials import CredentialCache
    from openisales.store.engine import create_engine

    async def look() -> str | None:
        engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'openisales.db'}")
        try:
            vault = Vault(load_or_create_master_key(data_dir))
            found = await CredentialCache(engine, vault, 0).lookup(ak)
            return found.sk if found else None
        finally:
            await engine.dispose()

    return asyncio.run(look()) == sk


def test_keys_create_reads_the_sk_from_stdin(with_vdn: Path) -> None:
    sk = "a-secret-from-a-file-0123"
    made = _run(
        "keys", "create", "--vdn", "1", "--ak", "stdinak1", "--sk-stdin",
        stdin=sk + "\n", data_dir=with_vdn,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert made.stdout == "AK: stdinak1\n"
    assert sk not in made.output
    assert _works(with_vdn, "stdinak1", sk)


def test_keys_create_asks_for_the_sk_without_echo(with_vdn: Path) -> None:
    sk = "a-secret-typed-twice-0123"
    made = _run(
        "keys", "create", "--vdn", "1", "--ak", "promptak1", "--sk", "-",
        stdin=f"{sk}\n{sk}\n", data_dir=with_vdn,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert made.stdout == "AK: promptak1\n"
    assert sk not in made.output  # the prompt does not echo it
    assert "SK: " in made.stderr and "Repeat for confirmation: " in made.stderr
    assert _works(with_vdn, "promptak1", sk)


def test_keys_create_prints_a_generated_sk_once(with_vdn: Path) -> None:
    made = _run("keys", "create", "--vdn", "1", "--ak", "genak001", data_dir=with_vdn)
    assert made.exit_code == 0
    lines = made.stdout.splitlines()
    assert lines[0] == "AK: genak001" and lines[1].startswith("SK: ")
    assert _works(with_vdn, "genak001", lines[1].removeprefix("SK: "))
    assert "cannot be shown again" in made.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--sk", "x" * 20, "--sk-stdin"], "y" * 20, "give --sk or --sk-stdin, not both"),
        (["--sk-stdin"], "", "no secret key on standard input"),
        (["--sk-stdin"], "short\n", "an SK needs at least 16 characters"),
    ],
)
def test_keys_create_refuses_unclear_secrets(
    with_vdn: Path, args: list[str], stdin: str, message: str
) -> None:
    made = _run("keys", "create", "--vdn", "1", *args, stdin=stdin, data_dir=with_vdn)
    assert made.exit_code != 0
    assert message in made.stderr
