"""Prometheus metrics, served on their own listener, never on the API port.

One registry per process. ``serve --workers N`` (N > 1) points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before its workers start:
each worker then keeps its values in files there, and the listener, which
the ``serve`` process itself runs then, adds up all of them (prometheus_client's
multiprocess mode). With one worker, that worker runs the listener on its own
registry. :func:`listening` is the listener: a small threaded HTTP server on
loopback by default (``OPENISALES_METRICS_HOST`` / ``_PORT``; docs/security.md).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    make_wsgi_app,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# A scrape that has not sent its request within this time is dropped.
SCRAPE_TIMEOUT_S = 10.0


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.api_results = Counter(
            "openisales_api_results",
            "OpenAPI answers by operation and result code (write-backs included)",
            ["operation", "result_code"],
            registry=self.registry,
        )
        self.claims = Counter(
            "openisales_claims", "Call-data records claimed for dialing", registry=self.registry
        )
        self.dispatches = Counter(
            "openisales_dispatches",
            "Call tasks handed to a gateway",
            ["gateway"],
            registry=self.registry,
        )
        self.attempts = Counter(
            "openisales_attempt_outcomes",
            "Attempt outcomes by failure code",
            ["fail_code"],
            registry=self.registry,
        )
        self.recovered = Counter(
            "openisales_leases_recovered",
            "Attempts whose outcome never arrived (lease expired)",
            registry=self.registry,
        )
        self.lateness = Histogram(
            "openisales_retry_lateness_seconds",
            "Dispatch time minus scheduled time of retries",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=self.registry,
        )

        self.writeback_batch = Histogram(
            "openisales_writeback_batch_size",
            "Write-backs per batched statement on PostgreSQL (read, write), per shared "
            "transaction on SQLite (transaction)",
            ["statement"],
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        )
        self.writeback_locking = Counter(
            "openisales_writeback_locking_path",
            "Write-backs that took the locking path instead of the batched one, by reason",
            ["reason"],
            registry=self.registry,
        )
        self._api_result_children: dict[tuple[str, str], Counter] = {}

    def api_result(self, operation: str, result_code: str) -> Counter:
        """``api_results``' child for one operation and code, found once, then remembered.

        ``labels()`` checks and converts the values and takes a lock on every
        call; the children are never removed, so the one found stays right.
        """
        key = (operation, result_code)
        child = self._api_result_children.get(key)
        if child is None:
            child = self._api_result_children[key] = self.api_results.labels(*key)
        return child

    def exposed(self) -> CollectorRegistry:
        """What a scrape shows: this registry, or every process's under multiprocess mode."""
        return every_process() if os.environ.get(MULTIPROC_ENV) else self.registry

    def render(self) -> bytes:
        return generate_latest(self.exposed())


def every_process() -> CollectorRegistry:
    """A registry that sums the files of every process in ``PROMETHEUS_MULTIPROC_DIR``."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Handler(WSGIRequestHandler):
    timeout = SCRAPE_TIMEOUT_S  # per read: a silent client does not hold its thread forever

    def log_message(self, format: str, *args: object) -> None:
        pass  # no access log, as on the API


@contextmanager
def listening(registry: CollectorRegistry, host: str, port: int) -> Iterator[int]:
    """Serve ``registry`` at ``http://host:port/metrics`` until the block ends; yields the port.

    The listener answers any path with the metrics, over plain HTTP and
    without authentication: keep it on loopback or a private network.
    """

    class Server(_Server):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    server = make_server(host, port, make_wsgi_app(registry), Server, handler_class=_Handler)
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
