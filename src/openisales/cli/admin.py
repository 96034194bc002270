"""The administration commands: ``migrate`` and the ``vdn``, ``holiday`` and ``keys`` groups."""

from __future__ import annotations

from typing import Any

import click

from openisales.auth.vault import Vault, master_key, new_master_key
from openisales.cli.common import run_job
from openisales.clock import SystemClock
from openisales.config import Settings
from openisales.errors import OpenISalesError
from openisales.services import admin, holidays
from openisales.store import schema


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
    help="With --sql: start from this revision instead of asking the database.",
)
@click.pass_context
def migrate(ctx: click.Context, sql: bool, start: str | None) -> None:
    """Apply database migrations (idempotent); `migrate status` shows where the database stands.

    Upgrades: expand migrations first (the old release keeps running), contract
    migrations after every process runs the new release (docs/operations.md).
    """
    if ctx.invoked_subcommand is not None:
        return
    settings: Settings = ctx.obj
    if sql:
        if settings.embedded:
            raise click.ClickException(
                "--sql is for PostgreSQL: the embedded database migrates itself on start"
            )
        if start is None:
            found = run_job(settings, schema.status)
            if found.newer:
                raise click.ClickException(
                    f"the database is at revision {found.current}, newer than this release"
                )
            start = found.current
        click.echo(schema.upgrade_sql("postgresql", start), nl=False)
        return

    async def job(engine: Any) -> str | None:
        await schema.migrate(engine)
        return await schema.current_revision(engine)

    click.echo(f"database at revision {run_job(settings, job)}")


@migrate.command("status")
@click.pass_obj
def migrate_status(settings: Settings) -> None:
    """Show the database's revision against this release's, and whether it may run on it."""

    async def job(engine: Any) -> schema.Status:
        return await schema.status(engine)

    found = run_job(settings, job, migrate=False)
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
@click.option("--id", "vdn_id", type=int, required=True, help="VDN id, 1..9999.")
@click.option("--name", required=True)
@click.option("--time-zone", default="UTC", show_default=True, help="IANA time zone.")
@click.pass_obj
def vdn_add(settings: Settings, vdn_id: int, name: str, time_zone: str) -> None:
    """Add a VDN."""
    item = run_job(
        settings,
        lambda e: admin.add_vdn(
            e, vdn_id=vdn_id, name=name, time_zone=time_zone, now=SystemClock().now()
        ),
    )
    click.echo(f"VDN {item.vdn_id} ({item.name}, {item.time_zone}) added")


@vdn.command("list")
@click.pass_obj
def vdn_list(settings: Settings) -> None:
    """List VDNs."""
    for item in run_job(settings, admin.list_vdns):
        click.echo(f"{item.vdn_id}\t{item.name}\t{item.time_zone}")


@click.group()
def holiday() -> None:
    """Manage a VDN's holiday calendar (the days that use the holiday slots)."""


@holiday.command("add")
@click.option("--vdn", "vdn_id", type=int, required=True, help="VDN id.")
@click.option("--date", "day", required=True, help="yyyy-mm-dd, in the VDN's time zone.")
@click.option("--name", default="", help="At most 64 characters.")
@click.pass_obj
def holiday_add(settings: Settings, vdn_id: int, day: str, name: str) -> None:
    """Add a holiday, or rename the one already on that date."""
    try:
        item = holidays.holiday(day, name)
        run_job(
            settings,
            lambda e: holidays.add(e, vdn_id=vdn_id, holidays=[item], now=SystemClock().now()),
        )
    except OpenISalesError as exc:
        raise click.ClickException(exc.description) from None
    click.echo(f"holiday {item.day} ({item.name}) saved for VDN {vdn_id}")


@holiday.command("list")
@click.option("--vdn", "vdn_id", type=int, required=True, help="VDN id.")
@click.option("--year", type=click.IntRange(1, 9999), default=None, help="Only this year.")
@click.pass_obj
def holiday_list(settings: Settings, vdn_id: int, year: int | None) -> None:
    """List a VDN's holidays in date order."""
    try:
        found = run_job(settings, lambda e: holidays.query(e, vdn_id=vdn_id, year=year))
    except OpenISalesError as exc:
        raise click.ClickException(exc.description) from None
    for item in found:
        click.echo(f"{item.day}\t{item.name}")


@holiday.command("delete")
@click.option("--vdn", "vdn_id", type=int, required=True, help="VDN id.")
@click.option("--date", "day", required=True, help="yyyy-mm-dd.")
@click.pass_obj
def holiday_delete(settings: Settings, vdn_id: int, day: str) -> None:
    """Delete the holiday on a date."""
    try:
        date = holidays.parse_date(day, "date")
        deleted = run_job(settings, lambda e: holidays.delete(e, vdn_id=vdn_id, days=[date]))
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
@click.option("--sk", default=None, help="Secret key (generated when omitted).")
@click.pass_obj
def keys_create(
    settings: Settings, vdn_ids: tuple[int, ...], ak: str | None, sk: str | None
) -> None:
    """Create a key; the SK is printed this once and never again."""
    vault = Vault(master_key(settings))
    made = run_job(
        settings,
        lambda e: admin.create_key(
            e, vault, vdn_ids=list(vdn_ids), ak=ak, sk=sk, now=SystemClock().now()
        ),
    )
    click.echo(f"AK: {made[0]}")
    click.echo(f"SK: {made[1]}")
    click.echo("Store the SK now: it cannot be shown again.", err=True)


@keys.command("list")
@click.pass_obj
def keys_list(settings: Settings) -> None:
    """List keys (never their SKs)."""
    for info in run_job(settings, admin.list_keys):
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M:%S}" if info.revoked_at else "active"
        vdns = ",".join(str(v) for v in info.vdn_ids)
        click.echo(f"{info.ak}\tvdn={vdns}\tcreated {info.created_at:%Y-%m-%d %H:%M:%S}\t{state}")


@keys.command("revoke")
@click.argument("ak")
@click.pass_obj
def keys_revoke(settings: Settings, ak: str) -> None:
    """Revoke a key (takes effect within the credential cache time)."""
    run_job(settings, lambda e: admin.revoke_key(e, ak=ak, now=SystemClock().now()))
    click.echo(f"AK {ak} revoked")


@keys.command("master-key")
def keys_master_key() -> None:
    """Print a new master key for OPENISALES_MASTER_KEY."""
    click.echo(new_master_key())
