"""The long-running commands: ``serve`` (the API), ``worker`` (the dialer) and ``simulate``."""

from __future__ import annotations

import asyncio
import errno
import logging
import math
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from typing import Any, cast

import click

from openisales.cli.common import (
    check_vault,
    cli_state,
    open_vault,
    pass_settings,
    run_async,
    run_job,
    setting_option,
)
from openisales.config import ConfigError, Settings

log = logging.getLogger("openisales.serve")


@click.command()
@setting_option("host")
@setting_option("port", type=int)
@setting_option("tls_cert", type=click.Path(dir_okay=False))
@setting_option("tls_key", type=click.Path(dir_okay=False))
@setting_option(
    "tls",
    "--no-tls",
    is_flag=True,
    default=False,
    help="plain HTTP, for use behind a TLS-terminating proxy",
)
@setting_option("workers", type=int)
@setting_option("metrics_host")
@setting_option("metrics_port", type=int)
@pass_settings
def serve(
    settings: Settings,
    host: str | None,
    port: int | None,
    tls_cert: str | None,
    tls_key: str | None,
    no_tls: bool,
    workers: int | None,
    metrics_host: str | None,
    metrics_port: int | None,
) -> None:
    """Run the HTTPS API server.

    Before it starts anything it checks, and refuses in one line, the settings,
    that it can listen on the port, that the database can be opened and is at a
    revision this release may run on, and that the master key decrypts the
    stored secret keys. On the embedded database it migrates it first and also
    runs the dispatcher and the result pusher.
    """
    import uvicorn

    from openisales.cli.tls import ensure_self_signed
    from openisales.store import schema

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
                    "metrics_host": metrics_host,
                    "metrics_port": metrics_port,
                    "tls": False if no_tls else None,
                }.items()
                if v is not None
            }
        )
        settings.check_serve()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None

    check_can_listen(settings.host, settings.port)
    if settings.metrics_port:
        check_can_listen(settings.metrics_host, settings.metrics_port)
    vault = open_vault(settings)  # on the embedded default: the key file, made once, now

    async def ready(engine: Any) -> None:
        await schema.check(engine)  # a schema this release may run on (docs/operations.md)
        await check_vault(settings, vault, engine)

    run_job(settings, ready)
    cert, key = settings.tls_cert, settings.tls_key
    if settings.tls and not cert:
        cert_path, key_path = ensure_self_signed(settings.data_dir, [settings.host])
        cert, key = str(cert_path), str(key_path)
    if settings.tls:
        _check_tls_files(cert, key)
    env = {  # what the workers' Settings.from_env() cannot learn from the command line
        "OPENISALES_DATA_DIR": str(settings.data_dir),
        "OPENISALES_DATABASE_URL": settings.database_url,
        "OPENISALES_WORKERS": str(settings.workers),
        "OPENISALES_METRICS_HOST": settings.metrics_host,
        "OPENISALES_METRICS_PORT": str(settings.metrics_port),
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


def check_can_listen(host: str, port: int) -> None:
    """Bind ``host:port`` as uvicorn will (address reuse on), and let it go; or one line why not.

    Run before anything starts, so that a busy port stops ``serve`` before it
    says it listens or starts a dispatcher, a pusher or workers.
    """
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            reason = "the port is in use (is another server running?)"
        else:
            reason = (exc.strerror or str(exc)).lower()
        raise click.ClickException(f"cannot listen on {where}: {reason}") from None


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
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address of the metrics listener (a private network only: it has no authentication).",
)
@pass_settings
def worker(settings: Settings, metrics_port: int, metrics_host: str) -> None:
    """Run the dispatcher (places calls) and the result pusher until SIGTERM.

    Refuses to start, in one line, as `serve` does: a database that cannot be
    opened or is at a revision this release may not run on, a master key that
    does not decrypt the stored secret keys.
    """
    import signal

    from openisales.clock import SystemClock
    from openisales.dialing.wiring import running
    from openisales.logs import configure
    from openisales.metrics import Metrics, listening
    from openisales.store import schema
    from openisales.store.ids import IdAllocator

    configure(settings.log_level, settings.log_format)
    vault = open_vault(settings)

    async def job(engine: Any) -> None:
        await schema.check(engine)  # as serve: refuse a schema this release may not run on
        await check_vault(settings, vault, engine)
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
@click.option(
    "--records",
    type=click.IntRange(1, 100_000),
    default=200,
    show_default=True,
    help="Call-data records in the simulated campaign.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same run.")
@click.option(
    "--vdn",
    "vdn_id",
    type=click.IntRange(1, 9999),
    default=1,
    show_default=True,
    help="VDN id of the simulated campaign.",
)
@click.option(
    "--in-database",
    is_flag=True,
    help="Run in the configured database (a running dispatcher would dial it too) instead of "
    "a temporary database of its own.",
)
def simulate(records: int, seed: int, vdn_id: int, in_database: bool) -> None:
    """Run a simulated campaign end to end (virtual time) and print a summary."""
    from openisales.cli import simulation

    if not in_database:
        summary = run_async(simulation.run_isolated(records=records, seed=seed, vdn_id=vdn_id))
        for line in summary.lines():
            click.echo(line)
        return
    settings = cli_state().settings()

    async def reachable(engine: Any) -> None:
        """Nothing: run_job opens the database (and migrates the embedded one) first."""

    run_job(settings, reachable, check_schema=False)  # simulation.run migrates it itself
    summary = run_async(simulation.run(settings, records=records, seed=seed, vdn_id=vdn_id))
    for line in summary.lines():
        click.echo(line)


def _check_tls_files(cert: str, key: str) -> None:
    """One line, before anything starts, when the certificate or its key cannot be loaded."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise click.ClickException(f"TLS: {exc.filename or cert}: no such file") from None
    except (ssl.SSLError, OSError) as exc:
        raise click.ClickException(
            f"TLS: the certificate {cert} and key {key} cannot be loaded ({exc.strerror or exc})"
        ) from None
