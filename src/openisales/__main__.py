"""The ``openisales`` command line: builds settings, calls the factories, holds no logic."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from openisales.api.app import master_key
from openisales.clock import SystemClock
from openisales.config import ConfigError, Settings
from openisales.services import admin
from openisales.store import schema
from openisales.store.engine import create_engine
from openisales.vault import Vault, new_master_key

T = TypeVar("T")


def _run(settings: Settings, job: Callable[[Any], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = create_engine(settings.effective_database_url, pool_size=2)
        try:
            if settings.embedded:
                settings.data_dir.mkdir(parents=True, exist_ok=True)
                await schema.migrate(engine)
            return await job(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except admin.AdminError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.option(
    "--database-url",
    envvar="OPENISALES_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL; empty = embedded SQLite in the data directory.",
)
@click.option(
    "--data-dir",
    envvar="OPENISALES_DATA_DIR",
    default=None,
    help="Directory for the embedded database, keys and certificate.",
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, data_dir: str | None) -> None:
    """openisales: an outbound-campaign server speaking the CC-iSales OpenAPI."""
    try:
        ctx.obj = Settings.from_env(
            database_url=database_url, data_dir=data_dir and _path(data_dir)
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _path(value: str) -> Any:
    from pathlib import Path

    return Path(value)


@cli.command()
@click.pass_obj
def migrate(settings: Settings) -> None:
    """Apply database migrations (idempotent)."""

    async def job(engine: Any) -> str | None:
        await schema.migrate(engine)
        return await schema.current_revision(engine)

    click.echo(f"database at revision {_run(settings, job)}")


@cli.command()
@click.option("--host", default=None, help="Listen address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Listen port (default 8443).")
@click.option("--tls-cert", default=None, help="PEM certificate.")
@click.option("--tls-key", default=None, help="PEM private key.")
@click.option("--no-tls", is_flag=True, help="Plain HTTP, for use behind a TLS-terminating proxy.")
@click.option("--workers", type=int, default=None, help="Worker processes (default 1).")
@click.pass_obj
def serve(
    settings: Settings,
    host: str | None,
    port: int | None,
    tls_cert: str | None,
    tls_key: str | None,
    no_tls: bool,
    workers: int | None,
) -> None:
    """Run the HTTPS API server."""
    import uvicorn

    from openisales.tls import ensure_self_signed

    try:
        settings = settings.evolve(
            **{
                k: v
                for k, v in {
                    "host": host,
                    "port": port,
                    "tls_cert": tls_cert,
                    "tls_key": tls_key,
                    "workers": workers,
                    "tls": False if no_tls else None,
                }.items()
                if v is not None
            }
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None

    async def check(engine: Any) -> None:
        current = await schema.current_revision(engine)
        if current != schema.head_revision():
            raise admin.AdminError(
                f"database schema is at {current}, expected {schema.head_revision()}: "
                "run `openisales migrate`"
            )

    _run(settings, check)
    if settings.embedded:
        master_key(settings)  # create the key file once, before workers start
    cert, key = settings.tls_cert, settings.tls_key
    if settings.tls and not cert:
        cert_path, key_path = ensure_self_signed(settings.data_dir, [settings.host])
        cert, key = str(cert_path), str(key_path)
    env = {
        "OPENISALES_DATA_DIR": str(settings.data_dir),
        "OPENISALES_DATABASE_URL": settings.database_url,
    }
    os.environ.update({k: v for k, v in env.items() if v})
    scheme = "https" if settings.tls else "http"
    click.echo(f"openisales listening on {scheme}://{settings.host}:{settings.port}", err=True)
    uvicorn.run(
        "openisales.api.asgi:create_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        ssl_certfile=cert if settings.tls else None,
        ssl_keyfile=key if settings.tls else None,
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
    )


@cli.group()
def vdn() -> None:
    """Manage VDNs (tenants)."""


@vdn.command("add")
@click.option("--id", "vdn_id", type=int, required=True, help="VDN id, 1..9999.")
@click.option("--name", required=True)
@click.option("--time-zone", default="UTC", show_default=True, help="IANA time zone.")
@click.pass_obj
def vdn_add(settings: Settings, vdn_id: int, name: str, time_zone: str) -> None:
    """Add a VDN."""
    item = _run(
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
    for item in _run(settings, admin.list_vdns):
        click.echo(f"{item.vdn_id}\t{item.name}\t{item.time_zone}")


@cli.group()
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
    made = _run(
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
    for info in _run(settings, admin.list_keys):
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M:%S}" if info.revoked_at else "active"
        vdns = ",".join(str(v) for v in info.vdn_ids)
        click.echo(f"{info.ak}\tvdn={vdns}\tcreated {info.created_at:%Y-%m-%d %H:%M:%S}\t{state}")


@keys.command("revoke")
@click.argument("ak")
@click.pass_obj
def keys_revoke(settings: Settings, ak: str) -> None:
    """Revoke a key (takes effect within the credential cache time)."""
    _run(settings, lambda e: admin.revoke_key(e, ak=ak, now=SystemClock().now()))
    click.echo(f"AK {ak} revoked")


@keys.command("master-key")
def keys_master_key() -> None:
    """Print a new master key for OPENISALES_MASTER_KEY."""
    click.echo(new_master_key())


def main() -> None:
    cli(prog_name="openisales")


if __name__ == "__main__":
    main()
