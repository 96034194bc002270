"""The ``openisales`` command line: builds settings, calls the factories, holds no logic."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from openisales.auth.vault import Vault, master_key, new_master_key
from openisales.clock import SystemClock
from openisales.config import ConfigError, Settings
from openisales.errors import OpenISalesError
from openisales.services import admin, holidays
from openisales.store import schema
from openisales.store.engine import create_engine, pooled_engine

T = TypeVar("T")


def _run(
    settings: Settings, job: Callable[[Any], Awaitable[T]], *, long_running: bool = False
) -> T:
    """Run ``job`` with an engine: a small one, or the configured pool for a long-running one."""

    async def main() -> T:
        engine = (
            pooled_engine(settings)
            if long_running
            else create_engine(settings.effective_database_url, pool_size=2, max_overflow=2)
        )
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

    from openisales.cli.tls import ensure_self_signed

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
        settings.check_serve()
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
    from openisales.logs import configure

    configure(settings.log_level, settings.log_format)
    scheme = "https" if settings.tls else "http"
    click.echo(f"openisales listening on {scheme}://{settings.host}:{settings.port}", err=True)
    with _shared_metrics(settings.workers):
        uvicorn.run(
            "openisales.cli.asgi:create_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            ssl_certfile=cert if settings.tls else None,
            ssl_keyfile=key if settings.tls else None,
            log_level=settings.log_level,
            access_log=False,
            server_header=False,
            log_config=None,
        )


@contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, a fresh directory their metrics are summed from (see metrics.py).

    A ``PROMETHEUS_MULTIPROC_DIR`` already set is the operator's: used, not removed.
    """
    from openisales.metrics import MULTIPROC_ENV

    if workers < 2 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    directory = tempfile.mkdtemp(prefix="openisales-metrics-")
    os.environ[MULTIPROC_ENV] = directory  # inherited by the workers uvicorn spawns
    try:
        yield
    finally:
        del os.environ[MULTIPROC_ENV]
        shutil.rmtree(directory, ignore_errors=True)


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
        _run(
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
        found = _run(settings, lambda e: holidays.query(e, vdn_id=vdn_id, year=year))
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
        deleted = _run(settings, lambda e: holidays.delete(e, vdn_id=vdn_id, days=[date]))
    except OpenISalesError as exc:
        raise click.ClickException(exc.description) from None
    if not deleted:
        raise click.ClickException(f"no holiday on {date} in VDN {vdn_id}")
    click.echo(f"holiday {date} deleted from VDN {vdn_id}")


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


@cli.command()
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Serve this worker's Prometheus metrics over HTTP on this port (0: don't).",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@click.pass_obj
def worker(settings: Settings, metrics_port: int, metrics_host: str) -> None:
    """Run the dispatcher (places calls) and the result pusher until SIGTERM."""
    import signal

    from prometheus_client import start_http_server

    from openisales.dialing.wiring import running
    from openisales.logs import configure
    from openisales.metrics import Metrics
    from openisales.store.ids import IdAllocator

    configure(settings.log_level, settings.log_format)

    async def job(engine: Any) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        metrics = Metrics()
        if metrics_port:
            start_http_server(metrics_port, metrics_host, registry=metrics.registry)
        async with running(settings, engine, IdAllocator(engine), SystemClock(), metrics):
            await stop.wait()

    _run(settings, job, long_running=True)


@cli.command()
@click.option("--records", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same run.")
@click.option("--vdn", "vdn_id", type=click.IntRange(1, 9999), default=1, show_default=True)
@click.pass_obj
def simulate(settings: Settings, records: int, seed: int, vdn_id: int) -> None:
    """Run a simulated campaign end to end (virtual time) and print a summary."""
    from openisales.cli import simulation

    if settings.embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    summary = asyncio.run(simulation.run(settings, records=records, seed=seed, vdn_id=vdn_id))
    for line in summary.lines():
        click.echo(line)


@cli.group()
def push() -> None:
    """Inspect and resend result pushes to campaigns' callBackUrl (see docs/push.md)."""


@push.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "delivered", "failed"]),
    default=None,
    help="Only pushes in this state.",
)
@click.option("--vdn", "vdn_id", type=int, default=None, help="Only this VDN.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.pass_obj
def push_list(settings: Settings, status: str | None, vdn_id: int | None, limit: int) -> None:
    """List pushes, newest first: pushId, VDN, campaign, state, pushes made, when, URL, error."""
    from openisales.services import pushes as pusher

    found = _run(
        settings, lambda e: pusher.list_pushes(e, status=status, vdn_id=vdn_id, limit=limit)
    )
    for item in found:
        when = item.delivered_at or item.next_attempt_at
        fields = [
            item.push_id,
            f"vdn={item.vdn_id}",
            f"campaign={item.campaign_id}",
            item.status_name,
            f"pushes={item.attempts}",
            f"{when:%Y-%m-%d %H:%M:%S}" if when else "-",
            item.url,
            item.last_error or "",
        ]
        click.echo("\t".join(fields).rstrip("\t"))


@push.command("resend")
@click.option("--vdn", "vdn_id", type=int, default=None, help="Only this VDN.")
@click.option("--push-id", default=None, help="One push, DATAID.SEQ (failed or delivered).")
@click.option("--all-failed", is_flag=True, help="Every failed push.")
@click.pass_obj
def push_resend(
    settings: Settings, vdn_id: int | None, push_id: str | None, all_failed: bool
) -> None:
    """Queue pushes again, now, with their pushIds unchanged (receivers de-duplicate)."""
    from openisales.services import pushes as pusher

    if (push_id is None) == (not all_failed):
        raise click.UsageError("give exactly one of --push-id and --all-failed")
    try:
        count = _run(
            settings,
            lambda e: pusher.resend(e, now=SystemClock().now(), vdn_id=vdn_id, push_id=push_id),
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if push_id is not None and not count:
        raise click.ClickException(f"no failed or delivered push {push_id}")
    click.echo(f"{count} push(es) queued again")


@cli.command("import")
@click.option("--vdn", "vdn_id", type=click.IntRange(1, 9999), required=True, help="VDN id.")
@click.option("--campaign", "campaign_id", type=click.IntRange(1), required=True, help="Campaign.")
@click.option(
    "--api-version",
    "version",
    type=click.Choice(["1", "2"]),
    default="2",
    show_default=True,
    help="Check rows with the rules of the v1 or the v2 add-call-data API.",
)
@click.option(
    "--skip-bad",
    is_flag=True,
    help="Load the good rows, leave the bad ones out (default: a bad row loads nothing).",
)
@click.option("--check", "check_only", is_flag=True, help="Check file and campaign; load nothing.")
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write every refused row to this CSV file (line,field,code,message).",
)
@click.option(
    "--show-errors", type=click.IntRange(0), default=20, show_default=True, help="Rows to print."
)
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.pass_obj
def import_calldata(
    settings: Settings,
    vdn_id: int,
    campaign_id: int,
    version: str,
    skip_bad: bool,
    check_only: bool,
    errors_path: str | None,
    show_errors: int,
    progress: bool,
    file: str,
) -> None:
    """Import call data from a CSV or XLSX FILE into a campaign (docs/import.md)."""
    import contextlib
    from pathlib import Path

    from openisales import importing as importer
    from openisales.store.ids import IdAllocator

    request = importer.ImportRequest(
        vdn_id=vdn_id,
        campaign_id=campaign_id,
        path=Path(file),
        version=int(version),
        skip_bad=skip_bad,
        check_only=check_only,
        max_unfinished=settings.max_unfinished_per_campaign,
    )
    with contextlib.ExitStack() as stack:
        errors = (
            stack.enter_context(open(errors_path, "w", newline="", encoding="utf-8"))
            if errors_path
            else None
        )
        reporter = stack.enter_context(
            importer.ConsoleReporter(progress=progress, show=show_errors, errors=errors)
        )
        try:
            outcome = _run(
                settings,
                lambda e: importer.run(
                    e, IdAllocator(e), request, clock=SystemClock(), reporter=reporter
                ),
            )
        except importer.ImportFileError as exc:
            raise click.ClickException(str(exc)) from None
        except OpenISalesError as exc:
            raise click.ClickException(f"{exc.result_code} {exc.description}") from None
    if outcome.refused > reporter.shown:
        more = outcome.refused - reporter.shown
        hint = "" if errors_path else " (--errors FILE lists them all)"
        click.echo(f"... and {more} more refused row(s){hint}", err=True)
    rate = f"{outcome.rate:,.0f}"
    click.echo(
        f"rows read {outcome.read:,}, loaded {outcome.loaded:,}, refused {outcome.refused:,}; "
        f"{outcome.elapsed:.1f} s, {rate} rows/s"
    )
    if outcome.refusal is not None:
        raise click.ClickException(
            f"nothing loaded: {outcome.refusal.result_code} {outcome.refusal.description}"
        )
    if outcome.refused and not skip_bad:
        raise click.ClickException(
            f"nothing loaded: {outcome.refused:,} bad row(s); fix them, or load the others "
            "with --skip-bad"
        )
    if check_only:
        click.echo(f"check passed: {outcome.valid:,} row(s) can be loaded")
    else:
        click.echo(f"{outcome.loaded:,} record(s) added to campaign {campaign_id} of VDN {vdn_id}")


def main() -> None:
    cli(prog_name="openisales")


if __name__ == "__main__":
    main()
