"""The ``operator`` group: the accounts that sign in to the operator console.

Services and the store are imported inside the commands, so that ``-h`` and
``--version`` start without loading SQLAlchemy. A password is read from
standard input (``--password-stdin``) or asked for twice without echo; it is
never printed, logged or put in the audit log.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import click

from openisales.cli.common import json_option, pass_settings, print_list, run_job
from openisales.config import Settings
from openisales.domain.operator import MIN_PASSWORD, Role, check_name

T = TypeVar("T")

_ROLE = click.Choice([role.value for role in Role])
_ROLE_HELP = (
    "admin: every VDN, and VDNs, keys, holidays and operators; supervisor: runs the "
    "campaigns of its VDNs; viewer: reads its VDNs."
)
_VDN_HELP = (
    "A VDN the operator may see (repeatable). A supervisor or viewer needs at least one; "
    "an admin takes none: it sees every VDN."
)
_STDIN_HELP = (
    "Read the password from the first line of standard input (its newline is dropped) "
    "instead of asking for it twice without echo."
)


@click.group()
def operator() -> None:
    """Manage the operators of the web console (/console/).

    The accounts live in the database (OPENISALES_DATABASE_URL, or the embedded
    one in OPENISALES_DATA_DIR). Sessions end after OPENISALES_CONSOLE_IDLE_S
    idle and OPENISALES_CONSOLE_SESSION_S in all; logins are throttled by
    OPENISALES_CONSOLE_LOGIN_PER_ACCOUNT, OPENISALES_CONSOLE_LOGIN_PER_ADDRESS
    and OPENISALES_CONSOLE_LOGIN_WINDOW_S. Every change is in the audit log,
    by `cli`.
    """


def _run(settings: Settings, job: Callable[[Any], Awaitable[T]]) -> T:
    """``run_job``, with a refused change (bad value, taken name, unknown operator) as one line."""
    from openisales.errors import Conflict, NotFound, ParamError

    async def guarded(engine: Any) -> T:
        try:
            return await job(engine)
        except (ParamError, Conflict, NotFound) as exc:
            raise click.ClickException(exc.description) from None

    return run_job(settings, guarded)


def _access(role: str, vdn_ids: Sequence[int]) -> tuple[Role, list[int]]:
    """The role and VDNs as given, refused when they do not go together."""
    chosen = Role(role)
    vdns = sorted(set(vdn_ids))
    if chosen is Role.ADMIN and vdns:
        raise click.ClickException("an admin sees every VDN: give no --vdn")
    if chosen is not Role.ADMIN and not vdns:
        raise click.ClickException(f"a {chosen.value} needs at least one --vdn")
    return chosen, vdns


async def _check_vdns(engine: Any, vdns: Sequence[int]) -> None:
    from openisales.services import admin

    known = {item.vdn_id for item in await admin.list_vdns(engine)}
    for vdn_id in vdns:
        if vdn_id not in known:
            raise click.ClickException(
                f"VDN {vdn_id} does not exist (add it with `openisales vdn add`)"
            )


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("no password on standard input")
        return password
    typed: str = click.prompt(
        f"Password (at least {MIN_PASSWORD} characters)",
        hide_input=True,
        confirmation_prompt=True,
        err=True,
    )
    return typed


def _vdn_text(role: Role, vdns: Sequence[int]) -> str:
    if role is Role.ADMIN:
        return "every VDN"
    return ("VDN " if len(vdns) == 1 else "VDNs ") + ",".join(str(v) for v in vdns)


def _vdn_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--vdn", "vdn_ids", type=int, multiple=True, help=_VDN_HELP)(command)


def _stdin_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--password-stdin", is_flag=True, help=_STDIN_HELP)(command)


@operator.command("add")
@click.option("--name", required=True, help="Sign-in name: 1 to 64 of A-Z a-z 0-9 . _ @ -.")
@click.option("--role", required=True, type=_ROLE, help=_ROLE_HELP)
@_vdn_option
@_stdin_option
@pass_settings
def operator_add(
    settings: Settings, name: str, role: str, vdn_ids: tuple[int, ...], password_stdin: bool
) -> None:
    """Add an operator; its password is read from standard input or asked for.

    A password has at least 12 characters and is not the operator's name.
    """
    from openisales.clock import SystemClock
    from openisales.services import audit, operators

    if (why := check_name(name)) is not None:
        raise click.ClickException(f"name: {why}")
    chosen, vdns = _access(role, vdn_ids)
    password = _password(password_stdin)

    async def add(engine: Any) -> None:
        await _check_vdns(engine, vdns)
        await operators.add(
            engine,
            audit.CLI,
            name=name,
            role=chosen,
            vdns=vdns,
            password=password,
            now=SystemClock().now(),
        )

    _run(settings, add)
    click.echo(f"operator {name} ({chosen.value}, {_vdn_text(chosen, vdns)}) added")


@operator.command("list")
@json_option
@pass_settings
def operator_list(settings: Settings, as_json: bool) -> None:
    """List operators: name, role, VDNs, state (active or disabled), when added (UTC)."""
    from openisales.services import operators

    items = [
        {
            "name": found.operator.name,
            "role": found.operator.role.value,
            "vdns": sorted(found.operator.vdns),
            "state": "disabled" if found.operator.disabled else "active",
            "createdAt": found.created_at,
        }
        for found in _run(settings, operators.accounts)
    ]
    if not as_json:  # an admin's empty list means every VDN
        items = [{**item, "vdns": item["vdns"] or "all"} for item in items]
    columns = [("name", "NAME"), ("role", "ROLE"), ("vdns", "VDNS"), ("state", "STATE")]
    print_list(items, [*columns, ("createdAt", "CREATED (UTC)")], as_json)


def _state_command(disabled: bool, summary: str, also: str = "") -> click.Command:
    """The ``disable`` (``disabled``) or ``enable`` command; ``also``: what it adds when done."""
    verb = "disable" if disabled else "enable"

    @operator.command(verb, help=summary)
    @click.argument("name")
    @pass_settings
    def command(settings: Settings, name: str) -> None:
        from openisales.clock import SystemClock
        from openisales.services import audit, operators

        _run(
            settings,
            lambda e: operators.set_disabled(
                e, audit.CLI, name=name, disabled=disabled, now=SystemClock().now()
            ),
        )
        click.echo(f"operator {name} {verb}d{also}")

    return command


operator_disable = _state_command(
    True,
    "Disable the operator NAME: it cannot sign in, and its sessions end now.",
    "; its sessions have ended",
)
operator_enable = _state_command(False, "Enable the operator NAME again.")


@operator.command("passwd")
@click.argument("name")
@_stdin_option
@pass_settings
def operator_passwd(settings: Settings, name: str, password_stdin: bool) -> None:
    """Set a new password for the operator NAME; its sessions end.

    A password has at least 12 characters and is not the operator's name.
    """
    from openisales.clock import SystemClock
    from openisales.services import audit, operators

    password = _password(password_stdin)
    _run(
        settings,
        lambda e: operators.set_password(
            e, audit.CLI, name=name, password=password, now=SystemClock().now()
        ),
    )
    click.echo(f"password of operator {name} changed; its sessions have ended")


@operator.command("access")
@click.argument("name")
@click.option("--role", required=True, type=_ROLE, help=_ROLE_HELP)
@_vdn_option
@pass_settings
def operator_access(settings: Settings, name: str, role: str, vdn_ids: tuple[int, ...]) -> None:
    """Set the role and VDNs of the operator NAME (they replace the old ones).

    Open sessions get the new access at their next request.
    """
    from openisales.clock import SystemClock
    from openisales.services import audit, operators

    chosen, vdns = _access(role, vdn_ids)

    async def change(engine: Any) -> None:
        await _check_vdns(engine, vdns)
        await operators.set_access(
            engine, audit.CLI, name=name, role=chosen, vdns=vdns, now=SystemClock().now()
        )

    _run(settings, change)
    click.echo(f"operator {name} is now {chosen.value} of {_vdn_text(chosen, vdns)}")
