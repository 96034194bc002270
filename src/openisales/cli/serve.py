"""The long-running commands: ``serve`` (the API), ``worker`` (the dialer) and ``simulate``."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from openisales.auth.vault import master_key
from openisales.cli.common import run_job
from openisales.clock import SystemClock
from openisales.config import ConfigError, Settings
from openisales.services import admin
from openisales.store import schema


@click.command()
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

    run_job(settings, check)
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


@click.command()
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
        async with running(settings, engine, IdAllocator(engine), SystemClock(), metrics):
            if metrics_port:  # once the dispatcher and pusher registered their series
                start_http_server(metrics_port, metrics_host, registry=metrics.registry)
            await stop.wait()

    run_job(settings, job, long_running=True)


@click.command()
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
