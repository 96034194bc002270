"""The administration commands: ``migrate`` and the ``vdn``, ``holiday`` and ``keys`` groups.

Services and the store are imported inside the commands, so that ``-h``,
``--version`` and ``keys master-key`` start without loading SQLAlchemy.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from openisales.cli.common import (
    check_vault,
    cli_state,
    json_option,
    open_vault,
    pass_settings,
    print_list,
    run_job,
)
from openisales.config import Settings
from openisales.errors import OpenISalesError


@click.group(invoke_without_command=True)
@click.option(
    "--sql",
    is_flag=True,
    help="Print the SQL that would bring the database to this release, instead of running it "
    "(PostgreSQL; for a DBA who applies migrations by hand).",
)
@click.option(
    "--from",
    "start",
    default=None,
    metavar="REVISION",
    help="With --sql: start from this revision instead of asking the database (needs no "
    "connection and no other setting).",
)
@click.pass_context
def migrate(ctx: click.Context, sql: bool, start: str | None) -> None:
    """Apply database migrations (idempotent); `migrate status` shows where the database stands.

    Upgrades: expand migrations first (the old release keeps running), contract
    migrations after every process runs the new release (docs/operations.md).
    """
    from openisales.store import schema

    if ctx.invoked_subcommand is not None:
        return
    if start is not None and not sql:
        raise click.UsageError("--from goes with --sql")
    if sql:
        if cli_state().embedded:
            raise click.ClickException(
                "--sql is for PostgreSQL: the embedded database migrates itself on start"
            )
        if start is None:
            found = run_job(cli_state().settings(), schema.status, check_schema=False)
            if found.newer:
                raise click.ClickException(
                    f"the database is at revision {found.current}, newer than this release"
                )
            start = found.current
        if start is not None and start not in schema.known_revisions():
            raise click.ClickException(
                f"unknown revision {start!r}: this release has "
                + ", ".join(schema.known_revisions())
            )
        click.echo(schema.upgrade_sql("postgresql", start), nl=False)
        return

    async def job(engine: Any) -> str | None:
        await schema.migrate(engine)
        return await schema.current_revision(engine)

    settings = cli_state().settings()
    click.echo(f"database at revision {run_job(settings, job, check_schema=False)}")


@migrate.command("status")
@pass_settings
def migrate_status(settings: Settings) -> None:
    """Show the database's revision against this release's, and whether it may run on it.

    Exits with status 1 when this release may not run on the database.
    """
    from openisales.store import schema

    async def job(engine: Any) -> schema.Status:
        return await schema.status(engine)

    found = run_job(settings, job, migrate=False, check_schema=False)
    problem = found.problem()
    rows = [
        ("database revision", found.current or "none (never migrated)"),
        ("this release", found.head),
        ("pending", " ".join(found.pending) or "none"),
        ("oldest code allowed", found.min_code or "not recorded"),
        ("state", "ok" if problem is None else problem),
    ]
    for label, value in rows:
        click.echo(f"{label:<20} {value}")
    if problem is not None:
        ctx = click.get_current_context()
        ctx.exit(1)


@click.group()
def vdn() -> None:
    """Manage VDNs (tenants)."""


@vdn.command("add")
@click.option("--id", "--vdn", "vdn_id", type=int, required=True, help="VDN id, 1..9999.")
@click.option("--name", required=True, help="Name, 1 to 64 characters.")
@click.option("--time-zone", default="UTC", show_default=True, help="IANA time zone.")
@pass_settings
def vdn_add(settings: Settings, vdn_id: int, name: str, time_zone: str) -> None:
    """Add a VDN."""
    from openisales.clock import SystemClock
    from openisales.services import admin
    from openisales.services.audit import CLI

    item = run_job(
        settings,
        lambda e: admin.add_vdn(
            e, vdn_id=vdn_id, name=name, time_zone=time_zone, now=SystemClock().now(), actor=CLI
        ),
    )
    click.echo(f"VDN {item.vdn_id} ({item.name}, {item.time_zone}) added")


@vdn.command("list")
@json_option
@pass_settings
def vdn_list(settings: Settings, as_json: bool) -> None:
    """List VDNs: id, name, time zone, when added (UTC)."""
    from openisales.services import admin

    items = [
        {
            "vdnId": item.vdn_id,
            "name": item.name,
            "timeZone": item.time_zone,
            "createdAt": item.created_at,
        }
        for item in run_job(settings, admin.list_vdns)
    ]
    columns = [("vdnId", "VDN"), ("name", "NAME"), ("timeZone", "TIME ZONE")]
    print_list(items, [*columns, ("createdAt", "CREATED (UTC)")], as_json)


@click.group()
def holiday() -> None:
    """Manage a VDN's holiday calendar (the days that use the holiday slots)."""


@holiday.command("add")
@click.option("--vdn", "vdn_id", type=int, required=True, help="VDN id.")
@click.option("--date", "day", required=True, help="yyyy-mm-dd, in the VDN's time zone.")
@click.option("--name", default="", help="At most 64 characters.")
@pass_settings
def holiday_add(settings: Settings, vdn_id: int, day: str, name: str) -> None:
    """Add a holiday, or rename the one already on that date."""
    from openisales.clock import SystemClock
    from openisales.services import holidays
    from openisales.services.audit import CLI

    try:
        item = holidays.holiday(day, name)
        run_job(
            settings,
            lambda e: holidays.add(
                e, vdn_id=vdn_id, holidays=[item], now=SystemClock().now(), actor=CLI
            ),
        )
    except OpenISalesError as exc:
        raise click.ClickException(exc.description) from None
    click.echo(f"holiday {item.day} ({item.name}) saved for VDN {vdn_id}")


@holiday.command("list")
@click.option("--vdn", "vdn_id", type=int, required=True, help="VDN id.")
@click.option("--year", type=click.IntRange(1, 9999), default=None, help="Only this year.")
@json_option
@pass_settings
def holiday_list(settings: Settings, vdn_id: int, year: int | None, as_json: bool) -> None:
    """List a VDN's holidays in date order: date, name."""
    from openisales.services import holidays

    try:
        found = run_job(settings, lambda e: holidays.query(e, vdn_id=vdn_id, year=year))
    except OpenISalesError as exc:
        raise click.ClickException(exc.description) from None
    items = [{"date": item.day, "name": item.name} for item in found]
    print_list(items, [("date", "DATE"), ("name", "NAME")], as_json)


@holiday.command("delete")
@click.option("--vdn", "vdn_id", type=int, required=True, help="VDN id.")
@click.option("--date", "day", required=True, help="yyyy-mm-dd.")
@pass_settings
def holiday_delete(settings: Settings, vdn_id: int, day: str) -> None:
    """Delete the holiday on a date."""
    from openisales.clock import SystemClock
    from openisales.services import holidays
    from openisales.services.audit import CLI

    try:
        date = holidays.parse_date(day, "date")
        deleted = run_job(
            settings,
            lambda e: holidays.delete(
                e, vdn_id=vdn_id, days=[date], now=SystemClock().now(), actor=CLI
            ),
        )
    except OpenISalesError as exc:
        raise click.ClickException(exc.description) from None
    if not deleted:
        raise click.ClickException(f"no holiday on {date} in VDN {vdn_id}")
    click.echo(f"holiday {date} deleted from VDN {vdn_id}")


@click.group()
def keys() -> None:
    """Manage API credentials (AK/SK)."""


@keys.command("create")
@click.option(
    "--vdn",
    "vdn_ids",
    type=int,
    multiple=True,
    required=True,
    help="VDN the key may act for (repeatable).",
)
@click.option("--ak", default=None, help="Access key (generated when omitted).")
@click.option(
    "--sk",
    default=None,
    metavar="SK|-",
    help="Secret key (generated when omitted); `-` asks for it without echoing it. A value "
    "given here stays in the shell history and is seen by `ps`: prefer `-` or --sk-stdin.",
)
@click.option(
    "--sk-stdin",
    is_flag=True,
    help="Read the secret key from the first line of standard input.",
)
@pass_settings
def keys_create(
    settings: Settings,
    vdn_ids: tuple[int, ...],
    ak: str | None,
    sk: str | None,
    sk_stdin: bool,
) -> None:
    """Create a key; print its AK and SK this once (never again).

    An SK read with --sk - or --sk-stdin is not printed back.
    """
    from openisales.clock import SystemClock
    from openisales.services import admin
    from openisales.services.audit import CLI

    if sk_stdin and sk is not None:
        raise click.UsageError("give --sk or --sk-stdin, not both")
    hidden = sk_stdin or sk == "-"  # kept off the screen: not printed back either
    if sk_stdin:
        sk = sys.stdin.readline().rstrip("\r\n")
        if not sk:
            raise click.ClickException("no secret key on standard input")
    elif sk == "-":
        sk = click.prompt("SK", hide_input=True, confirmation_prompt=True, err=True)
    vault = open_vault(settings)

    async def create(engine: Any) -> tuple[str, str]:
        # a key stored under another master key than the others' could never be read
        await check_vault(settings, vault, engine)
        return await admin.create_key(
            engine,
            vault,
            vdn_ids=list(vdn_ids),
            ak=ak,
            sk=sk,
            now=SystemClock().now(),
            actor=CLI,
        )

    made = run_job(settings, create)
    click.echo(f"AK: {made[0]}")
    if hidden:
        return
    click.echo(f"SK: {made[1]}")
    click.echo("Store the SK now: it cannot be shown again.", err=True)


@keys.command("list")
@json_option
@pass_settings
def keys_list(settings: Settings, as_json: bool) -> None:
    """List keys (never their SKs): AK, VDNs, when created and revoked (UTC), status."""
    from openisales.services import admin

    items = [
        {
            "ak": info.ak,
            "vdnIds": list(info.vdn_ids),
            "createdAt": info.created_at,
            "revokedAt": info.revoked_at,
            "status": "revoked" if info.revoked_at else "active",
        }
        for info in run_job(settings, admin.list_keys)
    ]
    columns = [("ak", "AK"), ("vdnIds", "VDNS"), ("status", "STATUS")]
    times = [("createdAt", "CREATED (UTC)"), ("revokedAt", "REVOKED (UTC)")]
    print_list(items, [*columns, *times], as_json)


@keys.command("revoke")
@click.argument("ak")
@pass_settings
def keys_revoke(settings: Settings, ak: str) -> None:
    """Revoke the key AK (takes effect within OPENISALES_CREDENTIAL_CACHE_S)."""
    from openisales.clock import SystemClock
    from openisales.services import admin
    from openisales.services.audit import CLI

    run_job(settings, lambda e: admin.revoke_key(e, ak=ak, now=SystemClock().now(), actor=CLI))
    click.echo(f"AK {ak} revoked")


@keys.command("master-key")
def keys_master_key() -> None:
    """Print a new master key for OPENISALES_MASTER_KEY (reads no setting).

    For example: export OPENISALES_MASTER_KEY=$(openisales keys master-key)
    """
    from openisales.auth.vault import new_master_key

    click.echo(new_master_key())
