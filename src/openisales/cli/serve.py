"""The long-running commands: ``serve`` (the API), ``worker`` (the dialer) and ``simulate``."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from typing import Any, cast

import click

from openisales.auth.vault import master_key
from openisales.cli.common import run_job
from openisales.clock import SystemClock
from openisales.config import ConfigError, Settings
from openisales.files import private_dir
from openisales.store import schema

log = logging.getLogger("openisales.serve")


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

    run_job(settings, schema.check)  # a schema this release may run on (docs/operations.md)
    if settings.embedded:
        master_key(settings)  # create the key file once, before workers start
    cert, key = settings.tls_cert, settings.tls_key
    if settings.tls and not cert:
        cert_path, key_path = ensure_self_signed(settings.data_dir, [settings.host])
        cert, key = str(cert_path), str(key_path)
    env = {  # what the workers' Settings.from_env() cannot learn from the command line
        "OPENISALES_DATA_DIR": str(settings.data_dir),
        "OPENISALES_DATABASE_URL": settings.database_url,
        "OPENISALES_WORKERS": str(settings.workers),
    }
    os.environ.update({k: v for k, v in env.items() if v})
    from openisales.cli.protocol import ServerLimits
    from openisales.logs import configure

    configure(settings.log_level, settings.log_format)
    limits = ServerLimits.from_settings(settings, descriptors=_raise_descriptor_limit())
    if limits.max_connections < settings.max_connections:
        log.warning(
            "OPENISALES_MAX_CONNECTIONS lowered from %d to %d to fit the process's file "
            "descriptor limit (ulimit -n)",
            settings.max_connections,
            limits.max_connections,
        )
    scheme = "https" if settings.tls else "http"
    log.info("openisales listening on %s://%s:%d", scheme, settings.host, settings.port)
    with _shared_metrics(settings):
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
            http=cast(Any, limits.protocol()),  # decision 0006: httptools plus our limits
            loop=cast(Any, limits.loop_factory()),  # uvloop, deferred accept, TLS handshake time
            ws="none",
            lifespan="on",
            backlog=settings.backlog,
            timeout_keep_alive=math.ceil(settings.keepalive_timeout_s),
        )


def _raise_descriptor_limit() -> int:
    """Raise this process's open-file limit to its hard limit (workers inherit it); the result."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft if soft != resource.RLIM_INFINITY else target
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft
    return target


@contextmanager
def _shared_metrics(settings: Settings) -> Iterator[None]:
    """With several workers, a fresh directory their metrics are summed from (see metrics.py).

    A ``PROMETHEUS_MULTIPROC_DIR`` already set is the operator's: used, not removed.
    This process then serves the metrics listener over every worker's files
    (with one worker, that worker serves its own: see ``cli/asgi.py``).
    """
    from openisales.metrics import MULTIPROC_ENV, every_process, listening

    if settings.workers < 2:
        yield
        return
    with ExitStack() as stack:
        if not os.environ.get(MULTIPROC_ENV):
            directory = tempfile.mkdtemp(prefix="openisales-metrics-")
            os.environ[MULTIPROC_ENV] = directory  # inherited by the workers uvicorn spawns
            stack.callback(shutil.rmtree, directory, ignore_errors=True)
            stack.callback(os.environ.pop, MULTIPROC_ENV, None)
        if settings.metrics_port:
            stack.enter_context(
                listening(every_process(), settings.metrics_host, settings.metrics_port)
            )
        yield


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

    from openisales.dialing.wiring import running
    from openisales.logs import configure
    from openisales.metrics import Metrics, listening
    from openisales.store.ids import IdAllocator

    configure(settings.log_level, settings.log_format)

    async def job(engine: Any) -> None:
        await schema.check(engine)  # as serve: refuse a schema this release may not run on
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        metrics = Metrics()
        async with (
            running(settings, engine, IdAllocator(engine), SystemClock(), metrics),
            AsyncExitStack() as stack,
        ):
            if metrics_port:  # once the dispatcher and pusher registered their series
                stack.enter_context(listening(metrics.registry, metrics_host, metrics_port))
            await stop.wait()

    run_job(settings, job, long_running=True)


@click.command()
@click.option("--records", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same run.")
@click.option("--vdn", "vdn_id", type=click.IntRange(1, 9999), default=1, show_default=True)
@click.option(
    "--in-database",
    is_flag=True,
    help="Run in the configured database (a running dispatcher would dial it too) instead of "
    "a temporary database of its own.",
)
@click.pass_obj
def simulate(settings: Settings, records: int, seed: int, vdn_id: int, in_database: bool) -> None:
    """Run a simulated campaign end to end (virtual time) and print a summary."""
    from openisales.cli import simulation

    if not in_database:
        summary = asyncio.run(simulation.run_isolated(records=records, seed=seed, vdn_id=vdn_id))
        for line in summary.lines():
            click.echo(line)
        return
    if settings.embedded:
        private_dir(settings.data_dir)
    summary = asyncio.run(simulation.run(settings, records=records, seed=seed, vdn_id=vdn_id))
    for line in summary.lines():
        click.echo(line)
