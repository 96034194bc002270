"""Helpers shared by the command modules: settings on demand, running a job, output.

Settings are built when a command first needs them (:func:`pass_settings`), not
by the root group: ``keys master-key``, ``--version``, ``-h`` and ``migrate --sql
--from REV`` work whatever the configuration. Every failure a person can fix is
one line on stderr and exit status 1 (``click.ClickException``), never a
traceback: invalid settings, a database that cannot be opened, a master key
that is malformed or cannot decrypt the stored secrets.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import socket
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import click

from openisales.config import SPEC_BY_NAME, ConfigError, Settings, is_embedded
from openisales.errors import OpenISalesError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from openisales.auth.vault import Vault

T = TypeVar("T")
P = ParamSpec("P")


class CliState:
    """What the root group was given; :meth:`settings` builds and validates them once."""

    def __init__(
        self,
        *,
        database_url: str | None = None,
        data_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._database_url = database_url
        self._data_dir = data_dir
        self._environ = environ
        self._settings: Settings | None = None

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    @property
    def database_url(self) -> str:
        """The database URL as configured (empty: the embedded one), without other settings."""
        if self._database_url is not None:
            return self._database_url
        return self.environ.get(SPEC_BY_NAME["database_url"].env, "")

    @property
    def embedded(self) -> bool:
        return is_embedded(self.database_url)

    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = Settings.from_env(
                    self.environ, database_url=self._database_url, data_dir=self._data_dir
                )
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from None
        return self._settings


def cli_state() -> CliState:
    """The root group's state, or one from the environment for a command run on its own."""
    ctx = click.get_current_context()
    state = ctx.find_object(CliState)
    if state is None:
        state = ctx.ensure_object(CliState)
    return state


def pass_settings(command: Callable[Concatenate[Settings, P], T]) -> Callable[P, T]:
    """Call ``command`` with the validated settings as its first argument."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return command(cli_state().settings(), *args, **kwargs)

    return wrapper


def setting_help(name: str, text: str = "") -> str:
    """An option's help for the setting ``name``: its text, its variable and default."""
    spec = SPEC_BY_NAME[name]
    described = (text or spec.help).replace("`", "")
    return f"{described[:1].upper()}{described[1:]}. [env var: {spec.env}; default: {_plain(spec)}]"


def _plain(spec: Any) -> str:
    return str(spec.shown_default).replace("`", "").replace("**", "")


def setting_option(
    name: str, *param_decls: str, help: str = "", **attrs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A ``click.option`` that overrides the setting ``name``; its help names the variable.

    The option's value is None unless given: the setting (environment or default)
    applies then, so the variable is read in one place, ``Settings.from_env``.
    """
    spec = SPEC_BY_NAME[name]
    decls = param_decls or ("--" + name.replace("_", "-"),)
    attrs.setdefault("default", None)
    return click.option(*decls, help=setting_help(spec.name, help), **attrs)


def database_name(url: str) -> str:
    """``url`` as shown to people: its password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable URL)"


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in one line."""
    orig = getattr(exc, "orig", None) or exc.__cause__ or exc
    if isinstance(orig, socket.gaierror):
        text = f"cannot resolve the host ({orig.strerror})"
    elif isinstance(orig, ConnectionRefusedError):
        text = "connection refused"
    elif isinstance(orig, TimeoutError):
        text = "timed out"
    elif isinstance(orig, OSError) and orig.strerror:
        text = orig.strerror
    else:
        text = str(orig) or type(orig).__name__
    return " ".join(text.split()) if text else type(orig).__name__


async def open_database(engine: AsyncEngine, shown_url: str) -> None:
    """Connect once; a database that cannot be opened is one line naming it and why."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    url = make_url(engine.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        directory = Path(url.database).parent
        if not directory.is_dir():
            raise click.ClickException(
                f"cannot open the database {database_name(shown_url)}: "
                f"the directory {directory} does not exist"
            )
    try:
        async with engine.connect():
            pass
    except (DBAPIError, OSError) as exc:
        raise click.ClickException(
            f"cannot open the database {database_name(shown_url)}: {_reason(exc)}"
        ) from None


def event_loop_class() -> type[asyncio.AbstractEventLoop]:
    """uvloop's loop for the server and the CLI's jobs (asyncio's where uvloop is missing).

    The dialing engine and the pusher spend much of their CPU in socket I/O
    with the database; uvloop's transports cost a fraction of asyncio's
    (docs/benchmarks.md, "Dispatch"). ``serve`` extends it with its limits
    (``cli.protocol.new_event_loop``).
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a dependency everywhere but Windows
        return asyncio.SelectorEventLoop
    return uvloop.Loop


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on :func:`event_loop_class`'s loop."""
    with asyncio.Runner(loop_factory=event_loop_class()) as runner:
        return runner.run(main)


def run_job(
    settings: Settings,
    job: Callable[[Any], Awaitable[T]],
    *,
    long_running: bool = False,
    migrate: bool = True,
    check_schema: bool = True,
) -> T:
    """Run ``job`` with an engine: a small one, or the configured pool for a long-running one.

    The database is opened first (a clear line when it cannot be), then the
    embedded database is migrated unless ``migrate`` is False.
    """
    from openisales.files import private_dir
    from openisales.services import admin
    from openisales.store import schema
    from openisales.store.engine import create_engine, pooled_engine

    shown = settings.database_url or settings.effective_database_url

    async def main() -> T:
        if settings.embedded:
            private_dir(settings.data_dir)
        engine = (
            pooled_engine(settings)
            if long_running
            else create_engine(settings.effective_database_url, pool_size=2, max_overflow=2)
        )
        try:
            await open_database(engine, shown)
            if settings.embedded and migrate:
                await schema.migrate(engine)
            elif check_schema and not settings.embedded:
                await schema.check(engine)  # one line instead of a failing statement
            return await job(engine)
        finally:
            await engine.dispose()

    try:
        return run_async(main())
    except (admin.AdminError, schema.SchemaError) as exc:
        raise click.ClickException(str(exc)) from None
    except OpenISalesError as exc:  # a refused statement: the database was reachable
        raise click.ClickException(
            f"{exc.result_code} {exc.description} (the server's log, or "
            "`openisales migrate status`, tells more)"
        ) from None


def master_key_source(settings: Settings) -> str:
    """Where the master key comes from, for messages."""
    if settings.master_key:
        return "OPENISALES_MASTER_KEY"
    return str(settings.data_dir / "master.key")


def open_vault(settings: Settings) -> Vault:
    """The vault of the configured master key; a malformed key is one clear line."""
    from openisales.auth.vault import Vault, VaultError, master_key

    try:
        return Vault(master_key(settings))
    except VaultError:
        raise click.ClickException(
            f"{master_key_source(settings)} is not a valid master key: it must be 32 url-safe "
            "base64-encoded bytes (make one with `openisales keys master-key`)"
        ) from None


async def check_vault(settings: Settings, vault: Vault, engine: AsyncEngine) -> None:
    """Refuse to start when the master key cannot decrypt the stored secret keys."""
    from openisales.services import admin

    if not await admin.master_key_opens_stored_keys(engine, vault):
        raise click.ClickException(
            f"{master_key_source(settings)} cannot decrypt the stored secret keys: it is not "
            "the master key they were encrypted with (use that key, or create the keys anew)"
        )


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--json``: the list as a JSON array of objects, for scripts."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print a JSON array of objects (stable field names) instead of the table.",
    )(command)


def print_list(
    items: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], as_json: bool
) -> None:
    """``items`` as a JSON array, or as a table: a header line, then one line per item.

    ``columns`` are (field, header); table cells are the fields' text, separated by
    two spaces and padded to the widest cell of their column.
    """
    if as_json:
        click.echo(json.dumps(list(items), ensure_ascii=False, indent=2, default=_json_value))
        return
    header = [title for _, title in columns]
    rows = [[_cell(item[name]) for name, _ in columns] for item in items]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(columns))]
    for row in [header, *rows]:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, list | tuple):
        return ",".join(_printable(str(v)) for v in value)
    return _printable(str(value))


def _printable(text: str) -> str:
    """Tenants' and receivers' text with control characters escaped (``\\x1b``, ``\\n``):
    one line per item, and no terminal escape sequence reaches the operator's screen."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _json_value(value: Any) -> str:
    """Times (stored in UTC) as ISO 8601 to the second; dates as yyyy-mm-dd."""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def as_path(value: str) -> Path:
    return Path(value)
